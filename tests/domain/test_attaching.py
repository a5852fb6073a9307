"""Checkout Sessions made at once are remembered together, and each caller returns only
once its own session is committed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event as sa_event
from sqlmodel import select

from booking import attaching
from booking.domain import orders
from booking.models import Order, utcnow
from booking.runtime import Services
from booking.templating import make_templates
from tests.factories import make_event, make_ticket_type

BUYERS = 20


def _holds(db, session, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=100)
    tt = make_ticket_type(session, event, max_per_order=2)
    ids = []
    for n in range(count):
        with db.write_session() as s:
            order = orders.reserve(
                s,
                event_id=event.id,
                quantities={tt.id: 1},
                buyer=orders.Buyer(f"Buyer {n}", f"b{n}@example.com"),
                now=utcnow(),
                hold=timedelta(minutes=30),
            )
        ids.append(order.id)
    return ids


def _services(settings, db) -> Services:  # type: ignore[no-untyped-def]
    return Services(settings=settings, db=db, templates=make_templates(settings.tz))


def test_sessions_made_at_once_are_written_together(settings, db, session):
    ids = _holds(db, session, BUYERS)
    svc = _services(settings, db)
    commits: list[int] = []

    def count(conn) -> None:  # type: ignore[no-untyped-def]
        commits.append(1)

    sa_event.listen(db.write_engine, "commit", count)

    async def rush() -> None:
        async def one(order_id: int) -> None:
            await attaching.attach(
                svc, order_id=order_id, checkout_session_id=f"cs_test_{order_id}"
            )
            # Returned: the session is committed, and any reader sees it.
            with db.session() as s:
                assert s.get(Order, order_id).stripe_session_id == f"cs_test_{order_id}"  # type: ignore[union-attr]

        await asyncio.gather(*(one(i) for i in ids))

    try:
        asyncio.run(rush())
    finally:
        svc.close()
        sa_event.remove(db.write_engine, "commit", count)
    found = session.exec(select(Order).where(Order.id.in_(ids))).all()  # type: ignore[union-attr]
    assert {o.id: o.stripe_session_id for o in found} == {i: f"cs_test_{i}" for i in ids}
    if db.is_sqlite:
        assert 1 <= len(commits) < BUYERS, "each session had a transaction of its own"
    else:
        assert len(commits) == BUYERS


def test_a_failed_write_tells_every_buyer_and_the_next_starts_anew(settings, db, session):
    ids = _holds(db, session, 4)
    svc = _services(settings, db)
    real = orders.attach_checkouts_in
    fail = {"on": True}

    def flaky(s, sessions):  # type: ignore[no-untyped-def]
        if fail["on"]:
            raise RuntimeError("the disk is full")
        real(s, sessions)

    async def run() -> list[object]:
        first = await asyncio.gather(
            *(attaching.attach(svc, order_id=i, checkout_session_id=f"cs_x_{i}") for i in ids[:3]),
            return_exceptions=True,
        )
        fail["on"] = False
        await attaching.attach(svc, order_id=ids[3], checkout_session_id=f"cs_x_{ids[3]}")
        return first

    orders.attach_checkouts_in = flaky  # type: ignore[assignment]
    try:
        outcomes = asyncio.run(run())
    finally:
        orders.attach_checkouts_in = real  # type: ignore[assignment]
        svc.close()
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    kept = {o.id: o.stripe_session_id for o in session.exec(select(Order)).all()}
    assert [kept[i] for i in ids[:3]] == [None, None, None]  # nothing half-written
    assert kept[ids[3]] == f"cs_x_{ids[3]}"
