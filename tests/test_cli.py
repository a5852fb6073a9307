"""The `booking` command, run as a user would run it (a real process, a real database file)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from booking.db import Database
from booking.models import Event, TicketType, User

ROOT = Path(__file__).resolve().parent.parent


def booking(args, env, input_text=None):
    return subprocess.run(
        [sys.executable, "-m", "booking", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        input=input_text,
    )


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "SMTP_"))}
    clean.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/cli.db",
        ENVIRONMENT="development",
        MEDIA_DIR=str(tmp_path / "media"),
    )
    return clean


def test_serve_refuses_a_database_that_is_behind(env):
    result = booking(["serve", "--port", "8999"], env)
    assert result.returncode == 2
    assert "run `booking migrate`" in result.stderr


def test_a_bad_setting_stops_start_up_with_one_line(env):
    result = booking(["migrate"], {**env, "HOLD_MINUTES": "lots"})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "HOLD_MINUTES" in result.stderr and "Traceback" not in result.stderr


def test_migrate_then_demo_twice_gives_one_copy(env, tmp_path):
    assert booking(["migrate"], env).returncode == 0
    for _ in range(2):
        result = booking(["demo"], env)
        assert result.returncode == 0, result.stderr
    db = Database(env["DATABASE_URL"])
    with db.session() as s:
        events = s.exec(select(Event)).all()
        assert sorted(e.slug for e in events) == [
            "london-and-brexit",
            "london-plan-walk-and-talk",
            "who-runs-london",
        ]
        debate = next(e for e in events if e.slug == "london-and-brexit")
        types = s.exec(select(TicketType).where(TicketType.event_id == debate.id)).all()
        assert {(t.name, t.price) for t in types} == {
            ("Standard", 1000),
            ("Concession", 500),
            ("London Society members", 700),
        }
        assert debate.capacity == 200 and debate.more_speakers_tba
        assert len(s.exec(select(User)).all()) == 2
    db.dispose()


def test_create_user_generates_a_password_and_refuses_duplicates(env):
    booking(["migrate"], env)
    first = booking(["create-user", "boss@example.com", "--role", "organiser"], env, input_text="")
    assert first.returncode == 0, first.stderr
    assert "password:" in first.stdout
    again = booking(["create-user", "boss@example.com", "--role", "organiser"], env, input_text="")
    assert again.returncode == 1 and "already an account" in again.stderr
    short = booking(["create-user", "b@example.com", "--role", "staff", "--password", "x"], env)
    assert short.returncode == 1 and "12 characters" in short.stderr
