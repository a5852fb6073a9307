"""What a buyer can do to their own order: rename tickets, ask for the email again, cancel.

Everything starts from the order's secret token. Names are checked and cleaned here; a
ticket's code never changes with its name. A buyer may cancel a paid order for a refund if
the organiser allows it, until the event's cut-off; the seats go back on sale at once and
the refund itself is sent through Stripe after the transaction (see booking.web.orders).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from booking import ratelimit
from booking.domain import audit, orders, outbox, refunds
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
    TicketType,
    Venue,
)

MAX_NAME = 200
RESEND_LIMIT = 3
RESEND_WINDOW = timedelta(hours=1)


class CancelNotAllowed(Conflict):
    code = "cancel_not_allowed"


class NotChangeable(Conflict):
    code = "not_changeable"


@dataclass(frozen=True)
class TicketLine:
    number: int  # 1-based place in the order; the order page's URLs use it
    ticket: Ticket
    type_name: str

    @property
    def valid(self) -> bool:
        return self.ticket.status == TicketStatus.VALID


@dataclass(frozen=True)
class CancelPolicy:
    allowed: bool
    reason: str  # "allowed", "not_paid", "event_cancelled", "not_offered", "past_cutoff"
    deadline: datetime | None  # the last moment to cancel, when the organiser allows it


@dataclass(frozen=True)
class OrderPage:
    order: Order
    event: Event
    venue: Venue | None
    lines: list[OrderLine]
    tickets: list[TicketLine]
    policy: CancelPolicy
    status_since: datetime | None  # when the order reached its current status
    refunds: list[Refund] = field(default_factory=list)

    @property
    def refunding(self) -> int:
        """What is being, or has been, refunded through Stripe (the refunds ledger)."""
        return sum(r.amount for r in self.refunds if r.status != "failed")

    @property
    def valid_tickets(self) -> list[TicketLine]:
        return [t for t in self.tickets if t.valid]


def numbered_tickets(session: Session, *, order_id: int) -> list[TicketLine]:
    """All the order's tickets in a fixed order, with their type names."""
    rows = session.exec(
        select(Ticket, TicketType.name)
        .join(TicketType)
        .where(Ticket.order_id == order_id)
        .order_by(col(Ticket.id))
    ).all()
    return [TicketLine(n, t, name) for n, (t, name) in enumerate(rows, start=1)]


def cancel_policy(order: Order, event: Event, *, now: datetime) -> CancelPolicy:
    """Whether the buyer may cancel this order now, and until when."""
    deadline = None
    if event.buyer_cancel_allowed:
        deadline = event.starts_at - timedelta(hours=max(0, event.buyer_cancel_cutoff_hours))
    if order.status != OrderStatus.PAID:
        return CancelPolicy(False, "not_paid", deadline)
    if event.status == EventStatus.CANCELLED:
        return CancelPolicy(False, "event_cancelled", deadline)
    if deadline is None or (order.total > 0 and not order.stripe_payment_intent):
        return CancelPolicy(False, "not_offered", deadline)
    if now >= deadline:
        return CancelPolicy(False, "past_cutoff", deadline)
    return CancelPolicy(True, "allowed", deadline)


def load_page(session: Session, *, token: str, now: datetime) -> OrderPage:
    """Everything the order page shows. Raises NotFound for an unknown token."""
    order = orders.by_token(session, token=token)
    assert order.id is not None
    event = session.get(Event, order.event_id)
    assert event is not None
    venue = session.get(Venue, event.venue_id) if event.venue_id else None
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all())
    since = session.exec(
        select(OrderHistory.at)
        .where(OrderHistory.order_id == order.id, OrderHistory.status == order.status)
        .order_by(col(OrderHistory.id).desc())
    ).first()
    return OrderPage(
        order=order,
        event=event,
        venue=venue,
        lines=lines,
        tickets=numbered_tickets(session, order_id=order.id),
        policy=cancel_policy(order, event, now=now),
        status_since=since,
        refunds=refunds.for_order(session, order_id=order.id),
    )


def ticket(session: Session, *, token: str, number: int) -> TicketLine:
    """One valid ticket of the order by its number. Raises NotFound."""
    order = orders.by_token(session, token=token)
    assert order.id is not None
    for line in numbered_tickets(session, order_id=order.id):
        if line.number == number and line.valid and line.ticket.code:
            return line
    raise NotFound("No ticket at this address")


def clean_name(raw: str) -> tuple[str, dict[str, str]]:
    """A person's name as typed, without control characters or runs of spaces."""
    text = "".join(c for c in raw if unicodedata.category(c) != "Cc" or c.isspace())
    name = " ".join(text.split())
    if not name:
        return name, {"name": "Enter the full name of the person using this ticket"}
    if len(name) > MAX_NAME:
        return name, {"name": f"Full name must be {MAX_NAME} characters or fewer"}
    if orders.ENCODED_WORD in name:
        return name, {"name": orders.NO_ENCODED_WORD}
    return name, {}


def rename_in(
    session: Session, *, order: Order, event: Event, line: TicketLine, name: str, now: datetime
) -> str:
    """Put an already cleaned `name` on a valid ticket, in the caller's transaction; returns
    the name it had. The code stays the same. Raises NotChangeable (unpaid, or finished)."""
    if order.status != OrderStatus.PAID:
        raise NotChangeable("Names can only be changed on a paid order")
    if (event.ends_at or event.starts_at + timedelta(hours=3)) <= now:
        raise NotChangeable("This event has finished, so names can no longer be changed")
    t = line.ticket
    before = t.attendee_name
    if before != name:
        t.attendee_name = name
        session.add(t)
        assert order.id is not None
        session.add(
            OrderHistory(
                order_id=order.id,
                status=order.status,
                note=f"name changed on ticket {line.number}",
                at=now,
            )
        )
    return before


def rename_ticket(session: Session, *, token: str, number: int, name: str, now: datetime) -> Ticket:
    """Put a new attendee name on a valid ticket; the code stays the same.

    Raises NotFound, InvalidInput (empty or too long) or NotChangeable (after the event).
    """
    cleaned, errors = clean_name(name)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        line = ticket(session, token=token, number=number)
        order = session.get(Order, line.ticket.order_id)
        event = session.get(Event, line.ticket.event_id)
        assert order is not None and event is not None
        rename_in(session, order=order, event=event, line=line, name=cleaned, now=now)
    return line.ticket


def request_resend(session: Session, *, token: str, now: datetime) -> Order:
    """Queue the confirmation email again, to the order's address.

    Raises NotFound, NotChangeable (the order is not paid) or RateLimited (more than
    RESEND_LIMIT requests in RESEND_WINDOW for this order).
    """
    with session.begin():
        order = orders.by_token(session, token=token)
        if order.status != OrderStatus.PAID:
            raise NotChangeable("Only a paid order has tickets to send")
        if not ratelimit.hit_in(
            session, key=f"resend:{order.id}", limit=RESEND_LIMIT, window=RESEND_WINDOW, now=now
        ):
            raise ratelimit.RateLimited(
                f"We have sent this email {RESEND_LIMIT} times in the last hour. Check your "
                "spam or junk folder, or try again in an hour"
            )
        outbox.queue_resend(session, order=order, now=now)
    return order


def cancel_in(
    session: Session,
    *,
    order: Order,
    reason_code: str,
    note: str,
    refund: Refund | None,
    now: datetime,
) -> bool:
    """Cancel a paid order in the caller's transaction: it and its valid tickets become
    cancelled (the tickets tied to `refund`), so the seats are back on sale at once.

    False, changing nothing, if the order was no longer paid.
    """
    assert order.id is not None
    changed = session.exec(
        update(Order)
        .where(col(Order.id) == order.id, col(Order.status) == OrderStatus.PAID)
        .values(status=OrderStatus.CANCELLED, status_reason=reason_code)
    )
    if changed.rowcount != 1:
        return False
    session.execute(
        update(Ticket)
        .where(col(Ticket.order_id) == order.id, col(Ticket.status) == TicketStatus.VALID)
        .values(status=TicketStatus.CANCELLED, refund_id=refund.id if refund else None)
    )
    session.add(OrderHistory(order_id=order.id, status=OrderStatus.CANCELLED, note=note, at=now))
    session.flush()
    session.refresh(order)
    return True


def cancel_by_buyer(session: Session, *, token: str, now: datetime) -> Order:
    """Cancel a paid order at its buyer's request: tickets stop working, seats are released,
    a refund of what was paid is opened (booking.domain.refunds) and the cancellation email
    queued, in one transaction; the refund is sent to Stripe after it.

    Raises NotFound or CancelNotAllowed (not allowed, past the cut-off, already cancelled).
    """
    with session.begin():
        order = orders.by_token(session, token=token)
        assert order.id is not None
        event = session.get(Event, order.event_id)
        assert event is not None
        policy = cancel_policy(order, event, now=now)
        if not policy.allowed:
            raise CancelNotAllowed(_refusal(policy))
        refunds.lock_order(session, order.id)
        refund = refunds.open_in(
            session, order=order, amount=order.total, reason="Cancelled by the buyer", now=now
        )
        cancelled = cancel_in(
            session,
            order=order,
            reason_code="buyer_cancelled",
            note="cancelled by the buyer",
            refund=refund,
            now=now,
        )
        if not cancelled:
            raise CancelNotAllowed("This order has already been cancelled")
        audit.record(
            session,
            "order.cancelled",
            subject_type="order",
            subject_id=order.id,
            actor="buyer",
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={
                "status": {"before": OrderStatus.PAID, "after": OrderStatus.CANCELLED},
                "refund": {"id": refund.id, "amount": refund.amount} if refund else None,
            },
        )
        outbox.queue_for_order(session, order=order, kind=MailKind.CANCELLED, now=now)
    return order


def _refusal(policy: CancelPolicy) -> str:
    return {
        "not_paid": "Only a paid order can be cancelled",
        "event_cancelled": "The event has been cancelled, so every order will be refunded",
        "past_cutoff": "It is too late to cancel this order online",
    }.get(policy.reason, "This order cannot be cancelled online")
