"""What is left to sell: capacity minus paid tickets minus unexpired holds (derived)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from booking.models import Event, Order, Ticket, TicketStatus, TicketType


@dataclass(frozen=True)
class Availability:
    """Seats taken (sold or held) per ticket type and in the shared room."""

    room_capacity: int | None
    taken: dict[int, int]

    @property
    def room_taken(self) -> int:
        return sum(self.taken.values())

    @property
    def room_remaining(self) -> int | None:
        if self.room_capacity is None:
            return None
        return max(0, self.room_capacity - self.room_taken)

    def remaining(self, ticket_type: TicketType) -> int | None:
        """Seats still for sale of this type; None when nothing caps it."""
        limits = []
        if ticket_type.capacity is not None:
            limits.append(ticket_type.capacity - self.taken.get(ticket_type.id or 0, 0))
        if self.room_remaining is not None:
            limits.append(self.room_remaining)
        return max(0, min(limits)) if limits else None


def taken_by_type(session: Session, *, event_id: int, now: datetime) -> dict[int, int]:
    """Tickets that count against capacity: valid ones, and held ones whose hold is unexpired."""
    counts_against = or_(
        Ticket.status == TicketStatus.VALID,
        and_(Ticket.status == TicketStatus.HELD, Order.expires_at > now),
    )
    rows = session.exec(  # type: ignore[call-overload]
        select(Ticket.ticket_type_id, func.count())
        .join(Order, Order.id == Ticket.order_id)
        .where(Ticket.event_id == event_id, counts_against)
        .group_by(Ticket.ticket_type_id)
    ).all()
    return {type_id: count for type_id, count in rows}


def availability(session: Session, *, event: Event, now: datetime) -> Availability:
    assert event.id is not None
    return Availability(event.capacity, taken_by_type(session, event_id=event.id, now=now))


def few_left_threshold(ticket_types: Iterable[TicketType], room_capacity: int | None) -> int:
    caps = [t.capacity for t in ticket_types if t.capacity] + (
        [room_capacity] if room_capacity else []
    )
    return max(5, (min(caps) // 10) if caps else 5)
