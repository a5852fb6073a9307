"""Published events as the public sees them: listings, speakers in order, ticket sale states."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from booking.domain import inventory
from booking.domain.errors import NotFound
from booking.domain.inventory import FEW_LEFT as FEW_LEFT  # re-exported for the pages
from booking.domain.inventory import Availability, availability
from booking.domain.inventory import SaleState as SaleState
from booking.domain.inventory import sale_state as sale_state
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


@dataclass(frozen=True)
class TicketSummary:
    """What the top of the event page says about tickets: the price range and what is left."""

    low: int | None
    high: int | None
    left: int | None  # seats left across the ticket types on sale; None when uncapped
    state: SaleState | None  # None when no ticket type is listed

    @property
    def free(self) -> bool:
        return self.high == 0


def ticket_summary(
    offers: list[Offer], *, availability: Availability, prices: dict[int, int] | None = None
) -> TicketSummary:
    """Prices (after any code's discount) and seats left over `offers`, for the page's top."""
    prices = prices or {}
    shown = [prices.get(o.ticket_type.id or 0, o.ticket_type.price) for o in offers]
    buyable = [o for o in offers if o.state.buyable]
    left: int | None = None
    if buyable and all(o.remaining is not None for o in buyable):
        left = sum(o.remaining or 0 for o in buyable)
        if availability.room_remaining is not None:
            left = min(left, availability.room_remaining)
    if not offers:
        state = None
    elif buyable:
        state = SaleState.FEW_LEFT if left is not None and left <= FEW_LEFT else SaleState.ON_SALE
    elif all(o.state == SaleState.SOLD_OUT for o in offers):
        state = SaleState.SOLD_OUT
    else:
        order = (SaleState.NOT_YET, SaleState.ENDED, SaleState.SOLD_OUT, SaleState.UNAVAILABLE)
        state = next(s for s in order if any(o.state == s for o in offers))
    return TicketSummary(min(shown, default=None), max(shown, default=None), left, state)


def offers(
    ticket_types: list[TicketType], *, event: Event, avail: Availability, now: datetime
) -> list[Offer]:
    result = []
    companion = inventory.companion_type(ticket_types)
    for tt in ticket_types:
        remaining = avail.buyable(tt, companion)
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


def venues_by_id(session: Session, events: list[Event]) -> dict[int | None, Venue]:
    ids = {e.venue_id for e in events if e.venue_id}
    if not ids:
        return {}
    return {
        v.id: v for v in session.exec(select(Venue).where(col(Venue.id).in_(ids))).all() if v.id
    }


# The event page's statements, built once: only the parameters change.
_ORGANISERS = (
    select(Organisation)
    .join(EventOrganiser)
    .where(EventOrganiser.event_id == bindparam("event_id"))
    .order_by(col(EventOrganiser.position))
)
_LINEUP = (
    select(EventSpeaker, Speaker)
    .join(Speaker)
    .where(
        EventSpeaker.event_id == bindparam("event_id"),
        EventSpeaker.visibility == SpeakerVisibility.CONFIRMED,
    )
    .order_by(col(EventSpeaker.position), col(EventSpeaker.id))
)
_EVENT_BY_SLUG = (
    select(Event, Venue).join(Venue, isouter=True).where(Event.slug == bindparam("slug"))
)
_TYPES = (
    select(TicketType)
    .where(TicketType.event_id == bindparam("event_id"))
    .order_by(col(TicketType.position), col(TicketType.id))
)


def organisers_of(session: Session, *, event_id: int) -> list[Organisation]:
    """The event's co-organisers, in their order."""
    return list(session.exec(_ORGANISERS, params={"event_id": event_id}).all())


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
        for es, sp in session.exec(_LINEUP, params={"event_id": event_id}).all()
    ]


def event_page(
    session: Session, *, slug: str, now: datetime, include_drafts: bool = False
) -> EventPage:
    """Everything the public event page shows, in a fixed number of queries.

    Raises NotFound for an unknown slug, and for a draft unless include_drafts (previews).
    """
    row = session.exec(_EVENT_BY_SLUG, params={"slug": slug}).first()
    if row is None:
        raise NotFound("No event at this address")
    event, venue = row
    if event.status == EventStatus.DRAFT and not include_drafts:
        raise NotFound("No event at this address")
    assert event.id is not None
    organisers = organisers_of(session, event_id=event.id)
    lineup = lineup_of(session, event_id=event.id)
    types = list(session.exec(_TYPES, params={"event_id": event.id}).all())
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
    """Errors for quantities that the page's own reading already shows cannot be met (the
    same rule as the hold's, booking.domain.inventory.shortfall, without taking the lock)."""
    offered = {o.ticket_type.id for o in offers}
    types = {
        o.ticket_type.id: o.ticket_type
        for o in page.offers + page.hidden_offers
        if o.ticket_type.id is not None
    }
    wanted = inventory.places(types, {t: q for t, q in quantities.items() if t in offered})
    refused = inventory.shortfall(page.availability, types=types, quantities=wanted)
    return {refused.field or "quantity": refused.message} if refused else {}
