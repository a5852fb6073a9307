"""Outside production an unset or placeholder SECRET_KEY never signs anything: a random
secret is made once under var/ and kept, so cookies and ticket codes cannot be forged from
the value in .env.example, and they stay valid across restarts."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from booking.settings import PLACEHOLDER_SECRET, SettingsError, load, local_secret


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"SECRET_KEY": PLACEHOLDER_SECRET},
        {"SECRET_KEY": ""},
        {"ENVIRONMENT": "test", "SECRET_KEY": PLACEHOLDER_SECRET},
    ],
)
def test_development_never_signs_with_the_placeholder(tmp_path, environ):
    kept = tmp_path / "var" / "secret_key"
    first = load(environ, env_file=None, secret_file=kept)
    assert first.secret_key != PLACEHOLDER_SECRET and len(first.secret_key) >= 32
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # The next start (or another worker process) signs with the same secret.
    assert load(environ, env_file=None, secret_file=kept).secret_key == first.secret_key
    other = load(environ, env_file=None, secret_file=tmp_path / "elsewhere")
    assert other.secret_key != first.secret_key


def test_a_chosen_secret_is_used_as_given(tmp_path):
    kept = tmp_path / "secret_key"
    chosen = load({"SECRET_KEY": "my-own-dev-secret"}, env_file=None, secret_file=kept)
    assert chosen.secret_key == "my-own-dev-secret"
    assert not kept.exists()


def test_production_still_refuses_the_placeholder_rather_than_making_one(tmp_path):
    kept = tmp_path / "secret_key"
    environ = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": PLACEHOLDER_SECRET,
        "BASE_URL": "https://tickets.example.org",
        "STRIPE_SECRET_KEY": "sk_test_abc",
        "STRIPE_WEBHOOK_SECRET": "whsec_abc",
        "SMTP_HOST": "smtp.example.org",
    }
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load(environ, env_file=None, secret_file=kept)
    assert not kept.exists()


def test_processes_starting_at_once_agree_on_one_secret(tmp_path):
    kept = tmp_path / "var" / "secret_key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = set(pool.map(lambda _: local_secret(kept), range(32)))
    assert len(secrets) == 1
    assert [p.name for p in kept.parent.iterdir()] == ["secret_key"]


def test_a_truncated_secret_file_is_refused(tmp_path):
    kept = tmp_path / "secret_key"
    kept.write_text("short\n")
    with pytest.raises(SettingsError, match="32"):
        load({}, env_file=None, secret_file=kept)
