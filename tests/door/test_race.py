"""Twenty phones scanning one ticket at the same instant, through two real app processes on
one database: it is admitted exactly once (on SQLite and on PostgreSQL).

The negative control runs the same rush against the same code with the guard taken away:
a throwaway database without the partial unique index, and app processes with locking off
(SQLite's BEGIN IMMEDIATE and PostgreSQL's row lock). If the rush did not really overlap,
or the assertions could not see a second admission, the control would pass too; it must
fail instead. Without the guard PostgreSQL admits the ticket more than once, and SQLite
fails scans outright (a deferred transaction cannot take the write lock once another phone
has committed), so the control expects one or the other.

On PostgreSQL a third test keeps the index but switches locking off, so the index alone is
seen holding the line across processes (there the losers' inserts fail and are reported as
"already checked in"). On SQLite that configuration fails scans before the index is reached,
as the control shows; the index's own path is covered by test_checkin.py.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from booking.db import Database, null_pool_engine
from booking.domain import accounts
from booking.models import CheckIn, Role
from tests.conftest import PASSWORD
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_ticket_type

pytestmark = pytest.mark.slow
SCANS = 20
EMAIL = "rush@example.com"


def _signed_in(url: str, slug: str) -> tuple[httpx.Cookies, str]:
    """Sign in on one process; the cookie works on every process (shared secret and DB)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text)
        assert token
        signed = client.post(
            "/sign-in",
            data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        page = client.get(f"/door/{slug}")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert csrf, page.status_code
        return client.cookies, csrf.group(1)


async def _rush(urls: list[str], slug: str, code: str) -> list[tuple[int, str]]:
    cookies, csrf = _signed_in(urls[0], slug)
    limits = httpx.Limits(max_connections=SCANS, max_keepalive_connections=SCANS)
    async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=60) as client:

        async def scan(i: int) -> tuple[int, str]:
            try:
                r = await client.post(
                    f"{urls[i % len(urls)]}/api/events/{slug}/checkins",
                    json={"code": code, "nonce": secrets.token_hex(8), "device": f"phone-{i}"},
                    headers={"X-CSRF-Token": csrf},
                )
            except httpx.TransportError:
                return -1, "dropped"
            return r.status_code, r.json().get("result", "") if r.status_code == 200 else ""

        return list(await asyncio.gather(*(scan(i) for i in range(SCANS))))


def _setup(session: Session, db: Database, slug: str):  # type: ignore[no-untyped-def]
    with db.write_session() as ws:
        accounts.create_user(ws, email=EMAIL, role=Role.STAFF, password=PASSWORD, name="Rush")
    event = make_event(session, slug=slug)
    return event, make_ticket_type(session, event)


def _admissions(session: Session, ticket_id: int) -> int:
    return len(session.exec(select(CheckIn).where(CheckIn.ticket_id == ticket_id)).all())


def test_twenty_simultaneous_scans_admit_a_ticket_once(app_processes, db, session):
    event, standard = _setup(session, db, "rush")
    [ticket] = paid_tickets(session, event, standard)
    group = app_processes(2)
    outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
    assert outcomes == Counter({(200, "admitted"): 1, (200, "already_checked_in"): SCANS - 1})
    assert _admissions(session, ticket.id) == 1


def test_with_the_index_alone_a_ticket_is_still_admitted_once(app_processes, db, session):
    if db.is_sqlite:
        pytest.skip("SQLite without BEGIN IMMEDIATE fails writers before the index is reached")
    event, standard = _setup(session, db, "rush")
    tickets_ = paid_tickets(session, event, standard, 3)
    group = app_processes(2, locking=False)
    for ticket in tickets_:
        outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
        assert outcomes == Counter({(200, "admitted"): 1, (200, "already_checked_in"): SCANS - 1})
        assert _admissions(session, ticket.id) == 1


@pytest.fixture
def unguarded(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated throwaway database without the one-admission index."""
    if database_url.startswith("sqlite"):
        url, admin, name = f"sqlite:///{tmp_path}/unguarded.db", None, ""
    else:
        name = f"booking_unguarded_{secrets.token_hex(4)}"
        admin = null_pool_engine(database_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    try:
        database.migrate()
        with database.write_engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ux_checkin_one_admission")
        yield database
    finally:
        database.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


class TestWithoutTheGuard:
    @pytest.fixture
    def settings(self, settings, unguarded):  # type: ignore[no-untyped-def]
        return settings.replace(database_url=unguarded.url)

    def test_the_same_rush_admits_twice_or_fails_scans(self, app_processes, unguarded):
        with unguarded.session() as session:
            event, standard = _setup(session, unguarded, "rush")
            tickets_ = paid_tickets(session, event, standard, 5)
            group = app_processes(2, locking=False)
            seen = []
            for ticket in tickets_:  # a race: a few tickets, until the missing guard shows
                outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
                admitted = _admissions(session, ticket.id)
                seen.append((admitted, dict(outcomes)))
                print("CONTROL", seen[-1])
                if admitted > 1 or outcomes[(200, "admitted")] > 1 or len(outcomes) > 2:
                    break
            else:
                pytest.fail(f"the rush never broke without the guard: {seen}")
            if not unguarded.is_sqlite:
                assert admitted > 1, seen  # PostgreSQL: admitted more than once
