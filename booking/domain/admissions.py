"""An event's door log for the back office: every admission (undone ones too) and every
ticket admitted twice while offline, with both admissions, by device name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from booking.domain import devices, tickets
from booking.models import CheckIn, CheckInConflict, Order, Ticket, TicketType, User


@dataclass(frozen=True)
class Admission:
    name: str
    reference: str
    type: str
    order_id: int
    order_reference: str
    at: datetime
    by: str
    device: str
    offline: bool
    undone_at: datetime | None


@dataclass(frozen=True)
class Twice:
    """A ticket admitted on two devices while offline: the admission that counts (first)
    and the duplicate (second)."""

    name: str
    reference: str
    order_id: int
    order_reference: str
    first_device: str
    first_at: datetime
    first_by: str
    second_device: str
    second_at: datetime
    second_by: str
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class DoorLog:
    admissions: list[Admission]
    twice: list[Twice]
    device_names: dict[str, str]

    @property
    def open_conflicts(self) -> list[Twice]:
        return [t for t in self.twice if t.withdrawn_at is None]


def conflicts(session: Session, *, event_id: int) -> list[Twice]:
    """Tickets of the event admitted twice while offline, latest first."""
    rows = session.exec(
        select(CheckInConflict, CheckIn, Ticket, Order.reference)
        .join(CheckIn, col(CheckIn.id) == CheckInConflict.first_checkin_id)
        .join(Ticket, col(Ticket.id) == CheckInConflict.ticket_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(CheckInConflict.event_id == event_id)
        .order_by(col(CheckInConflict.at).desc(), col(CheckInConflict.id).desc())
    ).all()
    user_ids = {c.by_user_id for c, _, _, _ in rows if c.by_user_id}
    users = (
        {
            u.id: u.name or u.email
            for u in session.exec(select(User).where(col(User.id).in_(user_ids)))
        }
        if user_ids
        else {}
    )
    return [
        Twice(
            name=t.attendee_name,
            reference=tickets.reference(t.code or ""),
            order_id=t.order_id,
            order_reference=ref,
            first_device=first.device,
            first_at=first.at,
            first_by=first.by_name,
            second_device=c.device,
            second_at=c.at,
            second_by=users.get(c.by_user_id, ""),
            withdrawn_at=c.withdrawn_at,
        )
        for c, first, t, ref in rows
    ]


def for_event(session: Session, *, event_id: int, limit: int = 1000) -> DoorLog:
    """The event's admissions, latest first (at most `limit`), and its double admissions."""
    rows = session.exec(
        select(CheckIn, Ticket, TicketType.name, Order.reference)
        .join(Ticket, col(Ticket.id) == CheckIn.ticket_id)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(CheckIn.event_id == event_id)
        .order_by(col(CheckIn.at).desc(), col(CheckIn.id).desc())
        .limit(limit)
    ).all()
    admitted = [
        Admission(
            name=t.attendee_name,
            reference=tickets.reference(t.code or ""),
            type=type_name,
            order_id=t.order_id,
            order_reference=ref,
            at=c.at,
            by=c.by_name,
            device=c.device,
            offline=c.offline,
            undone_at=c.undone_at,
        )
        for c, t, type_name, ref in rows
    ]
    twice = conflicts(session, event_id=event_id)
    keys = {a.device for a in admitted} | {
        d for t in twice for d in (t.first_device, t.second_device)
    }
    return DoorLog(admitted, twice, devices.names(session, keys=keys))
