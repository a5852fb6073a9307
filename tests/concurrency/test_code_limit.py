"""An access code's use limit holds when many buyers race for it, across two processes."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from booking.domain import access_codes
from booking.models import Order
from tests.conftest import wipe
from tests.factories import make_event, make_ticket_type

pytestmark = pytest.mark.slow
ATTEMPTS = 50
USES = 10


async def _race(urls: list[str], slug: str, type_id: int) -> Counter[int]:
    limits = httpx.Limits(max_connections=ATTEMPTS)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        page = await client.get(f"{urls[0]}/events/{slug}?code=MEMBERS")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        form = {
            "csrf_token": token,
            "name": "Member",
            "email": "m@example.com",
            "code": "MEMBERS",
            f"qty-{type_id}": "1",
        }

        async def attempt(i: int) -> int:
            try:
                r = await client.post(f"{urls[i % len(urls)]}/events/{slug}/checkout", data=form)
            except httpx.TransportError:
                return -1
            return r.status_code

        return Counter(await asyncio.gather(*(attempt(i) for i in range(ATTEMPTS))))


def _setup(db, session):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=200)
    hidden = make_ticket_type(session, event, name="Members", price=700, visible=False)
    with db.write_session() as s:
        access_codes.create(
            s, event_id=event.id, code="MEMBERS", unlocks_ticket_type_id=hidden.id, max_uses=USES
        )
    return event, hidden


def test_50_buyers_for_a_code_with_10_uses(app_processes, db, session, standin):
    event, hidden = _setup(db, session)
    group = app_processes(2)
    outcomes = asyncio.run(_race(group.urls, event.slug, hidden.id))
    assert outcomes == Counter({303: USES, 409: ATTEMPTS - USES}), outcomes
    assert len(session.exec(select(Order)).all()) == USES


def test_without_the_lock_the_code_is_overused_or_fails(app_processes, db, session, standin):
    event, hidden = _setup(db, session)
    group = app_processes(2, locking=False)
    broken = False
    for _ in range(3):  # a race: a few rounds until the missing lock shows
        outcomes = asyncio.run(_race(group.urls, event.slug, hidden.id))
        used = len(session.exec(select(Order).where(Order.status == "pending")).all())
        if used > USES or set(outcomes) - {303, 409}:
            broken = True
            break
        wipe(db)  # start the next round on a fresh event
        session.expunge_all()
        event, hidden = _setup(db, session)
    assert broken, "the use limit held without the lock"
