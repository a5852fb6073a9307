"""Who gets a reminder and a thank-you, and that each order gets one of each at most."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import select

from booking.domain import reminders
from booking.models import (
    CheckIn,
    EventStatus,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
)
from tests.reminders.conftest import book


def _rows(session, kind=MailKind.REMINDER):  # type: ignore[no-untyped-def]
    return session.exec(select(MailOutbox).where(MailOutbox.kind == kind)).all()


def _run(db, clock):  # type: ignore[no-untyped-def]
    with db.session() as s:
        due = reminders.due(s, now=clock.now)
    queued = 0
    for kind, event_id in due:
        with db.write_session() as ws:
            queued += reminders.queue(ws, kind=kind, event_id=event_id, now=clock.now)
    return queued


def test_each_paid_order_with_a_seat_gets_one_reminder(db, session, settings, soon, clock):
    early = clock.now - timedelta(days=2)
    ada = book(db, settings, soon, name="Ada Lovelace", tickets=2, now=early)
    bob = book(db, settings, soon, name="Bob Crow", tickets=1, now=early)
    cat = book(db, settings, soon, name="Cat Stevens", tickets=1, now=early)
    dan = book(db, settings, soon, name="Dan Snow", tickets=2, now=early)
    with db.write() as ws:  # Bob cancelled; Dan's two tickets were given back
        ws.get(Order, bob.id).status = OrderStatus.CANCELLED  # type: ignore[union-attr]
        for t in ws.exec(select(Ticket).where(Ticket.order_id == dan.id)).all():
            t.status = TicketStatus.CANCELLED
    late = book(db, settings, soon, name="Eve Late", tickets=1, now=clock.now - timedelta(hours=1))

    assert _run(db, clock) == 2
    rows = _rows(session)
    assert sorted(r.order_id for r in rows) == sorted([ada.id, cat.id])  # type: ignore[type-var]
    assert {r.dedupe_key for r in rows} == {f"reminder:{ada.id}", f"reminder:{cat.id}"}
    assert late.id not in {r.order_id for r in rows}  # booked after the reminder time

    assert _run(db, clock) == 0  # again, and again after a restart: nothing new
    assert reminders.due(session, now=clock.now) == []
    assert len(_rows(session)) == 2


def test_not_yet_due_switched_off_started_or_cancelled_events_send_none(
    db, session, settings, soon, clock
):
    book(db, settings, soon, name="Ada Lovelace", tickets=1, now=clock.now - timedelta(days=2))
    assert reminders.due(session, now=clock.now - timedelta(hours=15)) == []  # 25 hours before
    assert reminders.due(session, now=soon.starts_at + timedelta(minutes=1)) == []  # started
    with db.write() as ws:
        ws.get(type(soon), soon.id).reminder_on = False  # type: ignore[union-attr]
    assert reminders.due(session, now=clock.now) == []
    with db.write() as ws:
        event = ws.get(type(soon), soon.id)
        event.reminder_on, event.reminder_hours = True, 2  # type: ignore[union-attr]
    assert reminders.due(session, now=clock.now) == []  # 10 hours before: not yet
    assert reminders.due(session, now=clock.now + timedelta(hours=8, minutes=1)) == [
        (MailKind.REMINDER, soon.id)
    ]
    with db.write() as ws:
        ws.get(type(soon), soon.id).status = EventStatus.CANCELLED  # type: ignore[union-attr]
    assert reminders.due(session, now=clock.now + timedelta(hours=9)) == []


def test_eligibility_is_one_rule_about_seats_still_held():
    order = Order(event_id=1, reference="R", token="t", buyer_name="A", buyer_email="a@x.org")
    order.status = OrderStatus.PAID
    seat = Ticket(order_id=1, event_id=1, ticket_type_id=1, status=TicketStatus.VALID)
    gone = Ticket(order_id=1, event_id=1, ticket_type_id=1, status=TicketStatus.CANCELLED)
    released = Ticket(order_id=1, event_id=1, ticket_type_id=1, status=TicketStatus.RELEASED)
    assert reminders.order_eligible(order, [gone, seat])
    assert not reminders.order_eligible(order, [gone, released])
    order.status = OrderStatus.REFUNDED
    assert not reminders.order_eligible(order, [seat])


def test_two_workers_queueing_at_the_same_moment_queue_each_reminder_once(
    db, session, settings, soon, clock
):
    for n in range(8):
        book(db, settings, soon, name=f"Guest{n} X", tickets=1, now=clock.now - timedelta(days=2))
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def worker() -> None:
        barrier.wait()
        with db.write_session() as ws:
            counts.append(
                reminders.queue(ws, kind=MailKind.REMINDER, event_id=soon.id, now=clock.now)
            )

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 8 and len(counts) == 4
    assert len(_rows(session)) == 8


def test_thank_yous_say_whether_the_order_came(db, session, settings, soon, clock):
    early = clock.now - timedelta(days=2)
    came = book(db, settings, soon, name="Ada Lovelace", tickets=2, now=early)
    missed = book(db, settings, soon, name="Bob Crow", tickets=1, now=early)
    undone = book(db, settings, soon, name="Cat Stevens", tickets=1, now=early)
    with db.write() as ws:
        event = ws.get(type(soon), soon.id)
        event.thank_you_on = True  # type: ignore[union-attr]
        first = ws.exec(select(Ticket).where(Ticket.order_id == came.id)).first()
        other = ws.exec(select(Ticket).where(Ticket.order_id == undone.id)).first()
        ws.add(CheckIn(ticket_id=first.id, event_id=soon.id, nonce="n1"))  # type: ignore[union-attr,arg-type]
        ws.add(CheckIn(ticket_id=other.id, event_id=soon.id, nonce="n2", undone_at=clock.now))  # type: ignore[union-attr,arg-type]

    assert [k for k, _ in reminders.due(session, now=soon.starts_at + timedelta(hours=1))] == []
    after = soon.ends_at + timedelta(minutes=5)  # type: ignore[operator]
    clock.now = after
    assert _run(db, clock) == 3
    rows = {r.order_id: r for r in _rows(session, MailKind.THANK_YOU)}
    assert rows[came.id].data == {"came": True}
    assert rows[missed.id].data == {"came": False}
    assert rows[undone.id].data == {"came": False}
    assert _run(db, clock) == 0
    clock.now = after + reminders.THANK_YOU_WINDOW  # too late for a first thank-you
    assert reminders.due(session, now=clock.now) == []
