"""Twenty phones scanning one ticket at the same instant, through two real app processes on
one database: it is admitted exactly once (on SQLite and on PostgreSQL).

The negative control runs the same rush against the same code with the guard taken away:
app processes with locking off (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock) and the
partial unique index dropped. If the rush did not really overlap, or the assertions could
not see a second admission, the control would pass too; it must fail instead. Without the
guard PostgreSQL admits the ticket more than once, and SQLite fails scans outright (a
deferred transaction cannot take the write lock once another phone has committed), so the
control expects one or the other. Calling some unguarded path instead would only show that
a different piece of code is racy.

Before the index goes, on PostgreSQL, the same processes show the index alone holding the
line (the losers' inserts fail and are answered "already checked in"). SQLite cannot show
that: without BEGIN IMMEDIATE its scans fail before the index is reached, as the control
shows; the index's own path is covered in test_checkin.py.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlmodel import Session, select

from booking.db import Database
from booking.domain import accounts
from booking.models import CheckIn, Role
from tests.conftest import PASSWORD
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_ticket_type

pytestmark = pytest.mark.slow
SCANS = 20
INDEX = "ux_checkin_one_admission"
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
    found = len(session.exec(select(CheckIn).where(CheckIn.ticket_id == ticket_id)).all())
    session.commit()  # hold no lock on the table (the control below changes its index)
    return found


def _once(outcomes: Counter[tuple[int, str]]) -> bool:
    return outcomes == Counter({(200, "admitted"): 1, (200, "already_checked_in"): SCANS - 1})


def test_twenty_simultaneous_scans_admit_a_ticket_once(app_processes, db, session):
    event, standard = _setup(session, db, "rush")
    [ticket] = paid_tickets(session, event, standard)
    group = app_processes(2)
    outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
    assert _once(outcomes), outcomes
    assert _admissions(session, ticket.id) == 1


@contextmanager
def _index_dropped(db: Database) -> Iterator[None]:
    """The one-admission index gone for a while; put back as the migration made it (after
    the admissions it let through are deleted, which it would refuse)."""
    with db.write_engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {INDEX}")
    try:
        yield
    finally:
        with db.write_engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM checkin_conflict")
            conn.exec_driver_sql("DELETE FROM checkin")
            conn.exec_driver_sql(
                f"CREATE UNIQUE INDEX {INDEX} ON checkin (ticket_id) WHERE undone_at IS NULL"
            )


def test_without_the_lock_the_index_holds_and_without_both_the_rush_breaks(
    app_processes, db, session
):
    event, standard = _setup(session, db, "rush")
    group = app_processes(2, locking=False)
    if not db.is_sqlite:  # on SQLite, scans fail before the index is reached (below)
        for ticket in paid_tickets(session, event, standard, 2):
            outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
            assert _once(outcomes), outcomes
            assert _admissions(session, ticket.id) == 1
    seen = []
    with _index_dropped(db):
        for ticket in paid_tickets(session, event, standard, 15):  # until the race shows
            outcomes = Counter(asyncio.run(_rush(group.urls, event.slug, ticket.code)))
            admitted = _admissions(session, ticket.id)
            seen.append((admitted, dict(outcomes)))
            if admitted > 1 or not _once(outcomes):
                break
        else:
            pytest.fail(f"the rush never broke without the guard: {seen}")
    if not db.is_sqlite:
        assert admitted > 1, seen  # PostgreSQL admits the ticket more than once
