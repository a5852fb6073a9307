"""Published events as the public sees them: listings, speakers in order, ticket sale states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session, col, select

from booking.domain.errors import NotFound
from booking.domain.inventory import Availability, availability
from booking.models import (
    Event,
    EventOrganiser,
    EventSpeaker,
    EventStatus,
    Organisation,
    Speaker,
    SpeakerVisibility,
    TicketType,
    Venue,
)


class SaleState(StrEnum):
    ON_SALE = "on_sale"
    FEW_LEFT = "few_left"
    SOLD_OUT = "sold_out"
    NOT_YET = "not_yet_on_sale"
    ENDED = "sales_ended"
    UNAVAILABLE = "unavailable"  # the event is cancelled or over

    @property
    def buyable(self) -> bool:
        return self in (SaleState.ON_SALE, SaleState.FEW_LEFT)


FEW_LEFT = 10


@dataclass(frozen=True)
class Offer:
    """A ticket type with what is left of it and whether it can be bought now."""

    ticket_type: TicketType
    remaining: int | None
    state: SaleState

    @property
    def max_quantity(self) -> int:
        cap = self.ticket_type.max_per_order
        return cap if self.remaining is None else min(cap, self.remaining)


@dataclass(frozen=True)
class Lineup:
    role: str
    speaker: Speaker


@dataclass
class EventPage:
    event: Event
    venue: Venue | None
    organisers: list[Organisation]
    speakers: list[Lineup]
    offers: list[Offer]
    availability: Availability
    now: datetime
    hidden_offers: list[Offer] = field(default_factory=list)

    @property
    def is_cancelled(self) -> bool:
        return self.event.status == EventStatus.CANCELLED

    @property
    def is_past(self) -> bool:
        return (self.event.ends_at or self.event.starts_at) < self.now

    @property
    def on_sale(self) -> bool:
        return any(o.state.buyable for o in self.offers)

    @property
    def sold_out(self) -> bool:
        return bool(self.offers) and all(o.state == SaleState.SOLD_OUT for o in self.offers)

    @property
    def lowest_price(self) -> int | None:
        return min((o.ticket_type.price for o in self.offers), default=None)


def sale_state(
    ticket_type: TicketType, *, remaining: int | None, event: Event, now: datetime
) -> SaleState:
    """Whether this ticket type can be bought now, and if not why not."""
    if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
        return SaleState.UNAVAILABLE
    if ticket_type.sales_start and now < ticket_type.sales_start:
        return SaleState.NOT_YET
    if ticket_type.sales_end and now >= ticket_type.sales_end:
        return SaleState.ENDED
    if remaining is not None and remaining <= 0:
        return SaleState.SOLD_OUT
    if remaining is not None and remaining <= FEW_LEFT:
        return SaleState.FEW_LEFT
    return SaleState.ON_SALE


def offers(
    ticket_types: list[TicketType], *, event: Event, avail: Availability, now: datetime
) -> list[Offer]:
    result = []
    for tt in ticket_types:
        remaining = avail.remaining(tt)
        result.append(
            Offer(tt, remaining, sale_state(tt, remaining=remaining, event=event, now=now))
        )
    return result


def upcoming_and_past(session: Session, *, now: datetime) -> tuple[list[Event], list[Event]]:
    """Public events: upcoming ones soonest first, past ones most recent first."""
    events = session.exec(
        select(Event)
        .where(col(Event.status).in_([EventStatus.PUBLISHED, EventStatus.CANCELLED]))
        .order_by(col(Event.starts_at))
    ).all()
    upcoming = [e for e in events if (e.ends_at or e.starts_at) >= now]
    past = [e for e in reversed(events) if (e.ends_at or e.starts_at) < now]
    return upcoming, past


def venues_by_id(session: Session, events: list[Event]) -> dict[int, Venue]:
    ids = {e.venue_id for e in events if e.venue_id}
    if not ids:
        return {}
    return {
        v.id: v for v in session.exec(select(Venue).where(col(Venue.id).in_(ids))).all() if v.id
    }


def organisers_of(session: Session, *, event_id: int) -> list[Organisation]:
    """The event's co-organisers, in their order."""
    return list(
        session.exec(
            select(Organisation)
            .join(EventOrganiser)
            .where(EventOrganiser.event_id == event_id)
            .order_by(col(EventOrganiser.position))
        ).all()
    )


def as_on_event(place: EventSpeaker, speaker: Speaker) -> Speaker:
    """The speaker with this event's job title and biography: a copy outside the session,
    so pages and emails read `speaker.affiliation` and `speaker.bio` as this event words them."""
    return Speaker(
        id=speaker.id,
        name=speaker.name,
        affiliation=place.affiliation,
        bio=place.bio,
        photo=speaker.photo,
        url=speaker.url,
    )


def speaker_on(session: Session, *, event_id: int, speaker_id: int) -> Speaker | None:
    """One speaker as this event words them, or None if they are not on it."""
    row = session.exec(
        select(EventSpeaker, Speaker)
        .join(Speaker)
        .where(EventSpeaker.event_id == event_id, EventSpeaker.speaker_id == speaker_id)
    ).first()
    return as_on_event(*row) if row else None


def lineup_of(session: Session, *, event_id: int) -> list[Lineup]:
    """The event's confirmed speakers, in their order, in this event's wording."""
    return [
        Lineup(es.role, as_on_event(es, sp))
        for es, sp in session.exec(
            select(EventSpeaker, Speaker)
            .join(Speaker)
            .where(
                EventSpeaker.event_id == event_id,
                EventSpeaker.visibility == SpeakerVisibility.CONFIRMED,
            )
            .order_by(col(EventSpeaker.position), col(EventSpeaker.id))
        ).all()
    ]


def event_page(
    session: Session, *, slug: str, now: datetime, include_drafts: bool = False
) -> EventPage:
    """Everything the public event page shows, in a fixed number of queries.

    Raises NotFound for an unknown slug, and for a draft unless include_drafts (previews).
    """
    row = session.exec(
        select(Event, Venue).join(Venue, isouter=True).where(Event.slug == slug)
    ).first()
    if row is None:
        raise NotFound("No event at this address")
    event, venue = row
    if event.status == EventStatus.DRAFT and not include_drafts:
        raise NotFound("No event at this address")
    assert event.id is not None
    organisers = organisers_of(session, event_id=event.id)
    lineup = lineup_of(session, event_id=event.id)
    types = list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event.id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )
    avail = availability(session, event=event, now=now)
    all_offers = offers(types, event=event, avail=avail, now=now)
    return EventPage(
        event=event,
        venue=venue,
        organisers=organisers,
        speakers=lineup,
        offers=[o for o in all_offers if o.ticket_type.visible],
        hidden_offers=[o for o in all_offers if not o.ticket_type.visible],
        availability=avail,
        now=now,
    )


def as_published(page: EventPage) -> EventPage:
    """A draft's page with its ticket types in the states they will have once it is
    published (on sale, not yet on sale, sold out), for the organisers' preview."""
    if page.event.status != EventStatus.DRAFT:
        return page
    published = Event(**{key: getattr(page.event, key) for key in Event.model_fields})
    published.status = EventStatus.PUBLISHED  # a copy outside the session: nothing is saved
    types = [o.ticket_type for o in page.offers + page.hidden_offers]
    all_offers = offers(types, event=published, avail=page.availability, now=page.now)
    return EventPage(
        event=page.event,
        venue=page.venue,
        organisers=page.organisers,
        speakers=page.speakers,
        offers=[o for o in all_offers if o.ticket_type.visible],
        hidden_offers=[o for o in all_offers if not o.ticket_type.visible],
        availability=page.availability,
        now=page.now,
    )


def shortfall(page: EventPage, offers: list[Offer], quantities: dict[int, int]) -> dict[str, str]:
    """Errors for quantities that the page's own reading already shows cannot be met."""
    by_id = {o.ticket_type.id: o for o in offers}
    for type_id, qty in quantities.items():
        offer = by_id.get(type_id)
        if offer is not None and offer.remaining is not None and qty > offer.remaining:
            name = offer.ticket_type.name
            if offer.remaining == 0:
                return {f"qty-{type_id}": f"{name} tickets have sold out"}
            return {f"qty-{type_id}": f"Only {offer.remaining} {name} tickets are left"}
    left = page.availability.room_remaining
    if left is not None and sum(quantities.values()) > left:
        return {
            "quantity": "This event has sold out" if left == 0 else f"Only {left} tickets are left"
        }
    return {}
