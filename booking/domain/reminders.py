"""Reminder emails before an event and thank-you emails after it, one of each per order.

A job (booking.lifecycle) calls `queue_due` every sweep. Each email is an outbox row keyed
"reminder:{order id}" or "thank_you:{order id}"; the key is unique in the database, so
however many workers run the job at once, and however often they restart, an order gets at
most one of each. The sender checks `stale` again when the row's turn comes, so an order
cancelled in between gets nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import Session, col, select

from booking.domain import outbox
from booking.models import (
    CheckIn,
    Event,
    EventStatus,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
)

MAX_REMINDER_HOURS = 24 * 14
DEFAULT_LENGTH = timedelta(hours=3)  # how long an event lasts when it has no end time
THANK_YOU_WINDOW = timedelta(days=3)  # after this, a thank-you is too late to send


def holds_seat(ticket: Ticket) -> bool:
    """Whether this ticket's holder is still coming: not cancelled, refunded or released."""
    return ticket.status == TicketStatus.VALID


def order_eligible(order: Order, tickets: list[Ticket]) -> bool:
    """Whether an order gets a reminder or thank-you: paid, with a seat still held."""
    return order.status == OrderStatus.PAID and any(holds_seat(t) for t in tickets)


def reminder_at(event: Event) -> datetime | None:
    """When the event's reminder goes out, or None when it sends none."""
    if not event.reminder_on:
        return None
    return event.starts_at - timedelta(hours=event.reminder_hours)


def ends_at(event: Event) -> datetime:
    return event.ends_at or event.starts_at + DEFAULT_LENGTH


Holding = tuple[Order, list[Ticket]]


def _candidates(session: Session, kind: MailKind, event: Event) -> list[Holding]:
    """The event's eligible orders with no `kind` email yet, with their tickets. Orders
    booked after the reminder time get no reminder: their confirmation said it all."""
    already = exists().where(
        col(MailOutbox.order_id) == col(Order.id), col(MailOutbox.kind) == kind
    )
    where: list[ColumnElement[bool]] = [
        col(Order.event_id) == event.id,
        col(Order.status) == OrderStatus.PAID,
        ~already,
    ]
    at = reminder_at(event)
    if kind == MailKind.REMINDER and at is not None:
        where.append(or_(col(Order.paid_at).is_(None), col(Order.paid_at) <= at))
    orders = session.exec(select(Order).where(*where)).all()
    found: list[Holding] = []
    for order in orders:
        tickets = list(session.exec(select(Ticket).where(Ticket.order_id == order.id)).all())
        if order_eligible(order, tickets):
            found.append((order, tickets))
    return found


def reminders_due(session: Session, *, now: datetime) -> list[Event]:
    """Published events whose reminder time has come and which have not started."""
    soon = session.exec(
        select(Event).where(
            Event.status == EventStatus.PUBLISHED,
            col(Event.reminder_on),
            col(Event.starts_at) > now,
            col(Event.starts_at) <= now + timedelta(hours=MAX_REMINDER_HOURS),
        )
    ).all()
    return [e for e in soon if (at := reminder_at(e)) is not None and at <= now]


def thank_yous_due(session: Session, *, now: datetime) -> list[Event]:
    """Published events with a thank-you, ended within the last THANK_YOU_WINDOW."""
    recent = session.exec(
        select(Event).where(
            Event.status == EventStatus.PUBLISHED,
            col(Event.thank_you_on),
            col(Event.starts_at) <= now,
            col(Event.starts_at) > now - THANK_YOU_WINDOW - timedelta(days=2),
        )
    ).all()
    return [e for e in recent if ends_at(e) <= now < ends_at(e) + THANK_YOU_WINDOW]


def came(session: Session, tickets: list[Ticket]) -> bool:
    """Whether anyone on these tickets was admitted at the door (an admission not undone)."""
    ids = [t.id for t in tickets if t.id is not None]
    found = session.exec(
        select(CheckIn.id)
        .where(col(CheckIn.ticket_id).in_(ids), col(CheckIn.undone_at).is_(None))
        .limit(1)
    ).first()
    return found is not None


def due(session: Session, *, now: datetime) -> list[tuple[MailKind, int]]:
    """(kind, event id) for each event with a reminder or thank-you due and not yet queued
    for some order: a read, so an idle job takes no write lock."""
    found = [(MailKind.REMINDER, e) for e in reminders_due(session, now=now)]
    found += [(MailKind.THANK_YOU, e) for e in thank_yous_due(session, now=now)]
    return [
        (kind, event.id)
        for kind, event in found
        if event.id is not None and _candidates(session, kind, event)
    ]


def queue(session: Session, *, kind: MailKind, event_id: int, now: datetime) -> int:
    """Queue the `kind` email of each eligible order of the event that has none; returns how
    many. Two workers doing this at once queue each one once (the outbox key is unique)."""
    queued = 0
    with session.begin():
        event = session.get(Event, event_id)
        if event is None:
            return 0
        for order, tickets in _candidates(session, kind, event):
            data = {"came": came(session, tickets)} if kind == MailKind.THANK_YOU else None
            queued += outbox.queue(
                session,
                kind=kind,
                recipient=order.buyer_email,
                dedupe_key=f"{kind}:{order.id}",
                now=now,
                order_id=order.id,
                data=data,
            )
    return queued


def stale(event: Event, order: Order, tickets: list[Ticket]) -> str:
    """Why a reminder or thank-you no longer applies when its turn comes ("" if it does)."""
    if event.status == EventStatus.CANCELLED:
        return "the event has been cancelled"
    if not order_eligible(order, tickets):
        return f"the order is {order.status} or holds no seat now"
    return ""
