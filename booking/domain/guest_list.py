"""The guest list: tickets an organiser issues without payment (speakers, press, partners).

A guest-list order is an ordinary order marked complimentary, paid at nothing: its tickets
count against capacity under the same lock and the same rule as every sale
(`inventory.shortfall`), it gets the same confirmation email with QR codes, and it works at
the door like any other. Cancelling it stops the tickets and gives the seats back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, inputs, inventory, order_changes, orders, outbox, tickets
from booking.domain.errors import Conflict, EventCancelled, InvalidInput, NotFound
from booking.domain.inventory import availability
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

MAX_GUEST_TICKETS = 50


@dataclass(frozen=True)
class Guest:
    name: str
    email: str
    ticket_type_id: int
    quantity: int


@dataclass(frozen=True)
class Entry:
    """One guest-list order as the list shows it."""

    order: Order
    ticket_type: str
    tickets: int  # issued
    valid: int  # still valid


def read_form(
    raw: Mapping[str, str], *, ticket_type_ids: set[int]
) -> tuple[Guest | None, dict[str, str]]:
    """The guest as typed, or None and messages by field name."""
    errors = inputs.Errors()
    name = errors.take(
        "name",
        lambda: inputs.text(
            raw.get("name"),
            name="Name",
            limit=orders.MAX_NAME,
            missing="Enter the name of the guest",
        ),
    )
    email = errors.take(
        "email",
        lambda: inputs.email(
            raw.get("email"), missing="Enter the email address to send the tickets to"
        ),
    )
    type_id = inputs.row_id(raw.get("ticket_type"))
    if type_id is None or type_id not in ticket_type_ids:
        errors["ticket_type"] = "Select a ticket type from the list"
    quantity = errors.take(
        "quantity",
        lambda: inputs.whole_number(
            raw.get("quantity"),
            name="Number of tickets",
            minimum=1,
            maximum=MAX_GUEST_TICKETS,
            missing="Enter the number of tickets",
        ),
    )
    if errors or name is None or email is None or type_id is None or quantity is None:
        return None, dict(errors)
    return Guest(name, email, type_id, quantity), {}


def issue(
    session: Session, *, event_id: int, guest: Guest, actor: User, now: datetime, code_key: bytes
) -> Order:
    """Issue `guest.quantity` tickets of one type without payment, queue the confirmation
    email with their QR codes, and audit it, in one transaction. Hidden ticket types and
    types not on sale may be used; capacity may not be exceeded.

    Raises NotFound, EventCancelled, InvalidInput (a type of another event) or SoldOut.
    """
    with session.begin():
        lock(session, event_id)  # first: everything below is read under the lock
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound("No event with this number")
        if event.status == EventStatus.CANCELLED:
            raise EventCancelled("This event has been cancelled, so no tickets can be issued")
        types = {
            t.id: t
            for t in session.exec(select(TicketType).where(TicketType.event_id == event_id)).all()
            if t.id is not None
        }
        tt = types.get(guest.ticket_type_id)
        if tt is None:
            raise InvalidInput({"ticket_type": "Select a ticket type from the list"})
        # A wheelchair space that comes with a companion seat brings it here too.
        wanted = inventory.places(types, {guest.ticket_type_id: guest.quantity})
        short = inventory.shortfall(
            availability(session, event=event, now=now, queue=False),
            types=types,
            quantities=wanted,
        )
        if short is not None:
            raise InvalidInput({"quantity": short.message})
        order = Order(
            event_id=event_id,
            reference=tickets.new_order_reference(),
            token=tickets.new_token(),
            status=OrderStatus.PAID,
            status_reason="complimentary",
            complimentary=True,
            buyer_name=guest.name,
            buyer_email=guest.email,
            total=0,
            currency=event.currency,
            created_at=now,
            expires_at=now,
            paid_at=now,
        )
        session.add(order)
        session.flush()
        assert order.id is not None
        for type_id, quantity in wanted.items():
            companion = type_id != guest.ticket_type_id
            session.add(
                OrderLine(
                    order_id=order.id,
                    ticket_type_id=type_id,
                    quantity=quantity,
                    unit_price=0,
                    name=types[type_id].name,
                )
            )
            for _ in range(quantity):
                session.add(
                    Ticket(
                        order_id=order.id,
                        event_id=event_id,
                        ticket_type_id=type_id,
                        attendee_name=orders.companion_name(guest.name)
                        if companion
                        else guest.name,
                        price=0,
                        status=TicketStatus.VALID,
                        code=tickets.new_code(code_key),
                    )
                )
        session.add(
            OrderHistory(
                order_id=order.id,
                status=OrderStatus.PAID,
                note=f"complimentary, issued by {actor.name or actor.email}",
                at=now,
            )
        )
        audit.record(
            session,
            "order.complimentary_issued",
            subject_type="order",
            subject_id=order.id,
            actor=actor,
            now=now,
            event_id=event_id,
            order_id=order.id,
            data={"name": guest.name, "ticket_type": tt.name, "tickets": guest.quantity},
        )
        outbox.queue_for_order(session, order=order, kind=MailKind.CONFIRMATION, now=now)
    return order


def cancel(session: Session, *, order_id: int, actor: User, now: datetime) -> Order:
    """Cancel a guest-list order: its tickets stop working and their seats go back on sale.
    Raises NotFound or Conflict (not a guest-list order, or already cancelled)."""
    with session.begin():
        found = session.get(Order, order_id)
        if found is None:
            raise NotFound("No order with this number")
        lock(session, found.event_id)
        session.refresh(found)
        if not found.complimentary:
            raise Conflict("Only guest-list tickets can be cancelled this way")
        valid = session.exec(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID)
        ).one()
        done = order_changes.cancel_in(
            session,
            order=found,
            reason_code="guest_cancelled",
            note=f"guest-list tickets cancelled by {actor.name or actor.email}",
            refund=None,
            now=now,
        )
        if not done:
            raise Conflict("These guest-list tickets have already been cancelled")
        audit.record(
            session,
            "order.complimentary_cancelled",
            subject_type="order",
            subject_id=order_id,
            actor=actor,
            now=now,
            event_id=found.event_id,
            order_id=order_id,
            data={"name": found.buyer_name, "tickets": int(valid)},
        )
    return found


def entries(session: Session, *, event_id: int) -> list[Entry]:
    """The event's guest-list orders, newest first, with their ticket type and counts."""
    rows = session.exec(
        select(
            Order,
            func.min(TicketType.name),
            func.count(col(Ticket.id)),
            func.sum(case((col(Ticket.status) == TicketStatus.VALID, 1), else_=0)),
        )
        .join(Ticket, col(Ticket.order_id) == Order.id)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .where(Order.event_id == event_id, col(Order.complimentary).is_(True))
        .group_by(col(Order.id))
        .order_by(col(Order.id).desc())
    ).all()
    return [Entry(order, name, int(n), int(valid or 0)) for order, name, n, valid in rows]
