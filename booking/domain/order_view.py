"""An order as its buyer sees it: the event, lines, tickets and what happens next."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from booking.domain import orders
from booking.models import Event, Order, OrderLine, Ticket, TicketStatus, TicketType, Venue


@dataclass(frozen=True)
class TicketView:
    ticket: Ticket
    type_name: str


@dataclass(frozen=True)
class OrderView:
    order: Order
    event: Event
    venue: Venue | None
    lines: list[OrderLine]
    tickets: list[TicketView]

    @property
    def valid_tickets(self) -> list[TicketView]:
        return [t for t in self.tickets if t.ticket.status == TicketStatus.VALID]


def load(session: Session, *, token: str) -> OrderView:
    """Raises NotFound for an unknown token."""
    order = orders.by_token(session, token=token)
    event = session.get(Event, order.event_id)
    assert event is not None
    venue = session.get(Venue, event.venue_id) if event.venue_id else None
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all())
    rows = session.exec(
        select(Ticket, TicketType.name)
        .join(TicketType)
        .where(Ticket.order_id == order.id)
        .order_by(col(Ticket.id))
    ).all()
    return OrderView(order, event, venue, lines, [TicketView(t, name) for t, name in rows])
