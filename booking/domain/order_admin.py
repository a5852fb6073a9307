"""What else an organiser can do to an order: resend the confirmation, change the buyer's
email address and attendee names, all audited with the organiser as actor. Refunds are in
booking.domain.order_refunds."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from booking.domain import audit, inputs, order_changes, outbox
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.order_changes import TicketLine, numbered_tickets
from booking.domain.order_detail import get_order
from booking.domain.tickets import reference
from booking.models import Event, Order, OrderStatus, Ticket, User


def resend(session: Session, *, order_id: int, actor: User, now: datetime) -> Order:
    """Queue the confirmation email again (no limit for organisers; audited). Raises
    NotFound or NotChangeable (the order is not paid)."""
    with session.begin():
        order = get_order(session, order_id=order_id)
        if order.status != OrderStatus.PAID:
            raise order_changes.NotChangeable("Only a paid order has tickets to send")
        outbox.queue_resend(session, order=order, now=now)
        audit.record(
            session,
            "order.confirmation_resent",
            subject_type="order",
            subject_id=order.id,
            actor=actor,
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={"to": order.buyer_email},
        )
    return order


def read_email(raw: str) -> tuple[str, dict[str, str]]:
    """A new buyer email address as typed, and any message for the field."""
    errors = inputs.Errors()
    email = errors.take("email", lambda: inputs.email(raw, missing="Enter the email address"))
    return email or "", dict(errors)


def change_email(
    session: Session, *, order_id: int, email: str, actor: User, now: datetime
) -> Order:
    """Put a new buyer email address on the order (audited with before and after); later
    emails, a resend included, go there. Raises NotFound or InvalidInput."""
    cleaned, errors = read_email(email)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        order = get_order(session, order_id=order_id)
        before = order.buyer_email
        if before == cleaned:
            raise InvalidInput({"email": f"The order already has {cleaned} as its email address"})
        order.buyer_email = cleaned
        session.add(order)
        audit.record(
            session,
            "order.email_changed",
            subject_type="order",
            subject_id=order.id,
            actor=actor,
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={"buyer_email": {"before": before, "after": cleaned}},
        )
    return order


def rename(
    session: Session, *, order_id: int, ticket_id: int, name: str, actor: User, now: datetime
) -> Ticket:
    """Put a new attendee name on a valid ticket (audited). Raises NotFound, InvalidInput
    or NotChangeable (unpaid order, finished event)."""
    cleaned, errors = order_changes.clean_name(name)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        order = get_order(session, order_id=order_id)
        line = ticket_line(session, order_id=order_id, ticket_id=ticket_id)
        event = session.get(Event, order.event_id)
        assert event is not None
        before = order_changes.rename_in(
            session, order=order, event=event, line=line, name=cleaned, now=now
        )
        if before != cleaned:
            audit.record(
                session,
                "ticket.renamed",
                subject_type="ticket",
                subject_id=ticket_id,
                actor=actor,
                now=now,
                event_id=order.event_id,
                order_id=order.id,
                data={
                    "ticket": reference(line.ticket.code or ""),
                    "attendee_name": {"before": before, "after": cleaned},
                },
            )
    return line.ticket


def ticket_line(session: Session, *, order_id: int, ticket_id: int) -> TicketLine:
    """A valid ticket of the order. Raises NotFound."""
    for line in numbered_tickets(session, order_id=order_id):
        if line.ticket.id == ticket_id and line.valid:
            return line
    raise NotFound("No valid ticket with this number on the order")
