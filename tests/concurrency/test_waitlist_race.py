"""The waiting list under concurrency: seats freed at once while several offerers run go to
different people, once each; an offer and new buyers racing for a freed seat never both get
it. The twin without the event lock shows the first test can catch a seat offered twice."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from booking.db import Database
from booking.domain import orders, waitlist, waitlist_offers
from booking.domain.errors import BookingError
from booking.domain.inventory import availability
from booking.models import Event, Order, OrderStatus, WaitlistEntry, WaitlistStatus, utcnow
from tests.conftest import wipe
from tests.factories import make_event, make_ticket_type

pytestmark = pytest.mark.slow
ROOM = 2
WAITING = 6
OFFERERS = 6
BUYERS = 6


def _run(threads: list[Callable[[], None]]) -> None:
    start = threading.Barrier(len(threads))

    def go(work: Callable[[], None]) -> None:
        start.wait()
        # Sold out, or (SQLite without its lock) the database was busy.
        with contextlib.suppress(BookingError, OperationalError):
            work()

    running = [threading.Thread(target=go, args=(w,)) for w in threads]
    for t in running:
        t.start()
    for t in running:
        t.join(timeout=60)


def _full_room_with_a_queue(session, db, now):  # type: ignore[no-untyped-def]
    """A room of ROOM seats held by two orders, and WAITING people waiting for one each."""
    event = make_event(session, capacity=ROOM)
    tt = make_ticket_type(session, event, price=1000)
    holds = []
    for i in range(ROOM):
        with db.write_session() as s:
            holds.append(
                orders.reserve(
                    s,
                    event_id=event.id,
                    quantities={tt.id: 1},
                    buyer=orders.Buyer(f"Holder {i}", f"h{i}@example.com"),
                    now=now,
                    hold=timedelta(minutes=30),
                ).id
            )
    for i in range(WAITING):
        with db.write_session() as s:
            waitlist.join(
                s,
                event_id=event.id,
                request=waitlist.Request(f"Waiter {i}", f"w{i}@example.com", 1, None),
                now=now,
            )
    return event, tt, holds


def _free_two_while_offering(url: str, event_id: int, holds: list[int], *, locking: bool):  # type: ignore[no-untyped-def]
    """Both holds are released while OFFERERS offer at once; returns (seats taken, offer
    orders per entry)."""
    db = Database(url, locking=locking)
    now = utcnow()

    def release(order_id: int) -> Callable[[], None]:
        def work() -> None:
            with db.write_session() as s:
                orders.release(s, order_id=order_id, now=now, note="cancelled by the buyer")

        return work

    def offerer() -> None:
        with db.write_session() as s:
            waitlist_offers.offer_free_seats(s, event_id=event_id, now=now)

    _run([release(h) for h in holds] + [offerer] * OFFERERS)
    with db.write_session() as s:  # whatever was freed after the last offerer
        waitlist_offers.offer_free_seats(s, event_id=event_id, now=now)
    with db.session() as s:
        event = s.get(Event, event_id)
        assert event is not None
        taken = availability(s, event=event, now=now, queue=False).room_taken
        offers = s.exec(
            select(Order.waitlist_entry_id).where(
                Order.event_id == event_id,
                Order.status == OrderStatus.PENDING,
                Order.waitlist_entry_id != None,  # noqa: E711
            )
        ).all()
    db.dispose()
    return taken, list(offers)


def test_two_seats_freed_at_once_go_to_two_different_people(db, session):
    event, _, holds = _full_room_with_a_queue(session, db, utcnow())
    taken, offers = _free_two_while_offering(db.url, event.id, holds, locking=True)
    assert taken == ROOM
    assert len(offers) == ROOM and len(set(offers)) == ROOM  # two people, one offer each
    statuses = session.exec(select(WaitlistEntry.status).order_by(WaitlistEntry.position)).all()
    assert statuses[:ROOM] == [WaitlistStatus.OFFERED] * ROOM  # the first two in line
    assert statuses[ROOM:] == [WaitlistStatus.WAITING] * (WAITING - ROOM)


def test_without_the_lock_a_freed_seat_is_offered_twice(db, session):
    """The negative control: the same race with the lock switched off offers more seats than
    the room has (tried a few rounds, as a race need not show itself every time)."""
    if db.is_sqlite:
        pytest.skip("SQLite without BEGIN IMMEDIATE refuses the racing writers instead")
    seen = []
    for _ in range(8):
        wipe(db)
        session.expunge_all()  # the wiped rows' ids come round again
        event, _, holds = _full_room_with_a_queue(session, db, utcnow())
        taken, offers = _free_two_while_offering(db.url, event.id, holds, locking=False)
        seen.append((taken, len(offers), len(set(offers))))
        if taken > ROOM or len(offers) > len(set(offers)):
            break
    assert any(t > ROOM or n > distinct for t, n, distinct in seen), seen


def test_an_offer_and_new_buyers_never_both_get_a_freed_seat(db, session):
    now = utcnow()
    event, tt, holds = _full_room_with_a_queue(session, db, now)
    racing = Database(db.url)

    def buyer(i: int) -> Callable[[], None]:
        def work() -> None:
            with racing.write_session() as s:
                orders.reserve(
                    s,
                    event_id=event.id,
                    quantities={tt.id: 1},
                    buyer=orders.Buyer(f"Buyer {i}", f"b{i}@example.com"),
                    now=now,
                    hold=timedelta(minutes=30),
                )

        return work

    def offerer() -> None:
        with racing.write_session() as s:
            waitlist_offers.offer_free_seats(s, event_id=event.id, now=now)

    def release() -> None:
        with racing.write_session() as s:
            orders.release(s, order_id=holds[0], now=now, note="cancelled by the buyer")

    _run([release] + [buyer(i) for i in range(BUYERS)] + [offerer] * 3)
    with racing.write_session() as s:
        waitlist_offers.offer_free_seats(s, event_id=event.id, now=now)
    with racing.session() as s:
        ev = s.get(Event, event.id)
        assert ev is not None
        assert availability(s, event=ev, now=now, queue=False).room_taken == ROOM
        bought = s.exec(
            select(Order).where(
                Order.event_id == event.id,
                Order.status == OrderStatus.PENDING,
                Order.waitlist_entry_id == None,  # noqa: E711
                Order.buyer_email.startswith("b"),  # type: ignore[attr-defined]
            )
        ).all()
    racing.dispose()
    assert bought == []  # the freed seat went to the first in line, not to a new buyer
