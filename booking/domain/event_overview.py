"""What the back office shows about events: the list, and one event's page with its ticket
types, speakers, cancellation progress and activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from booking.domain import activity as activity_names
from booking.domain import audit, cancellation, speakers, ticket_types
from booking.domain.errors import NotFound
from booking.domain.inventory import availability
from booking.models import (
    AuditEntry,
    BulkJob,
    Event,
    EventOrganiser,
    EventStatus,
    Organisation,
    Ticket,
    TicketStatus,
    TicketType,
    Venue,
)


@dataclass(frozen=True)
class Listed:
    event: Event
    venue: Venue | None
    sold: int  # valid tickets
    past: bool = False


@dataclass(frozen=True)
class TypeRow:
    ticket_type: TicketType
    taken: int  # sold or held now
    remaining: int | None


@dataclass(frozen=True)
class Overview:
    event: Event
    venue: Venue | None
    organisers: list[Organisation]
    types: list[TypeRow]
    room_taken: int
    lineup: list[speakers.Place]
    job: BulkJob | None
    still_open: int  # orders a cancelled event still has to cancel or refund
    activity: list[AuditEntry]
    names: activity_names.Names

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.status in cancellation.ACTIVE


def listing(session: Session, *, now: datetime) -> list[Listed]:
    """Every event with tickets sold: upcoming ones soonest first, then past ones, latest first."""
    sold: dict[int | None, int] = dict(
        session.exec(
            select(Ticket.event_id, func.count())
            .where(Ticket.status == TicketStatus.VALID)
            .group_by(col(Ticket.event_id))
        ).all()
    )
    rows = session.exec(
        select(Event, Venue).join(Venue, isouter=True).order_by(col(Event.starts_at), col(Event.id))
    ).all()
    listed = [
        Listed(event, venue, sold.get(event.id, 0), (event.ends_at or event.starts_at) < now)
        for event, venue in rows
    ]
    return [r for r in listed if not r.past] + [r for r in reversed(listed) if r.past]


def overview(session: Session, *, event_id: int, now: datetime) -> Overview:
    """One event as its organisers see it. Raises NotFound."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    venue = session.get(Venue, event.venue_id) if event.venue_id else None
    organisers = list(
        session.exec(
            select(Organisation)
            .join(EventOrganiser)
            .where(EventOrganiser.event_id == event_id)
            .order_by(col(EventOrganiser.position))
        ).all()
    )
    avail = availability(session, event=event, now=now)
    types = [
        TypeRow(tt, avail.taken.get(tt.id or 0, 0), avail.remaining(tt))
        for tt in ticket_types.for_event(session, event_id=event_id)
    ]
    job = cancellation.latest_job(session, event_id=event_id)
    still_open = 0
    if event.status == EventStatus.CANCELLED and (
        job is None or job.status not in cancellation.ACTIVE
    ):
        still_open = len(cancellation.open_orders(session, event_id=event_id))
    entries = audit.for_event(session, event_id=event_id, limit=50)
    return Overview(
        event=event,
        venue=venue,
        organisers=organisers,
        types=types,
        room_taken=avail.room_taken,
        lineup=speakers.lineup(session, event_id=event_id),
        job=job,
        still_open=still_open,
        activity=entries,
        names=activity_names.names_for(session, entries),
    )
