"""Organisers' changes to an event: create, edit, copy, publish (with its checklist),
unpublish, hero image, and editing a venue.

Every change is one transaction with an audit entry. A room capacity is checked against the
seats already sold or held under `db.lock`, in the same transaction as the update.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.event_forms import EventFields
from booking.domain.inventory import availability
from booking.models import (
    AccessCode,
    Event,
    EventOrganiser,
    EventSpeaker,
    EventStatus,
    Organisation,
    TicketType,
    User,
    Venue,
)


class SlugTaken(InvalidInput):
    """The web address belongs to another event; `suggestion` is the next free one."""

    code = "slug_taken"

    def __init__(self, slug: str, suggestion: str) -> None:
        super().__init__(
            {
                "slug": f"There is already an event at /events/{slug}. The box now holds "
                f"{suggestion}: save again to use it, or choose another"
            }
        )
        self.suggestion = suggestion


class ChecklistIncomplete(Conflict):
    """Publishing was asked for with items of the checklist missing."""

    code = "checklist_incomplete"

    def __init__(self, missing: list[str]) -> None:
        super().__init__("Some things the public needs are missing")
        self.missing = missing


@dataclass(frozen=True)
class CheckItem:
    key: str  # tickets, venue, organiser, future
    label: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    items: list[CheckItem]

    @property
    def missing(self) -> list[CheckItem]:
        return [i for i in self.items if not i.done]

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class SalesNow:
    """What publishing makes true: tickets on sale now, from a later time, or not at all."""

    on_sale: bool
    opens_at: datetime | None  # the earliest scheduled start when none is on sale yet


# Changes ------------------------------------------------------------------------------------
def create(session: Session, *, fields: EventFields, actor: User, now: datetime) -> Event:
    """A new draft event. Raises InvalidInput (a start in the past, a slug in use, no venue)."""
    assert fields.starts_at is not None
    if fields.starts_at <= now:
        raise InvalidInput({"starts_date": "The start must be in the future"})
    with session.begin():
        _check_slug(session, fields.slug, event_id=None)
        event = Event(status=EventStatus.DRAFT, created_at=now, updated_at=now, **_columns(fields))
        event.venue_id = _venue(session, fields)
        session.add(event)
        session.flush()
        assert event.id is not None
        _set_organisers(session, event.id, fields)
        audit.record(
            session,
            "event.created",
            subject_type="event",
            subject_id=event.id,
            actor=actor,
            now=now,
            event_id=event.id,
            data={"title": event.title, "starts_at": event.starts_at.isoformat()},
        )
    return event


def update(
    session: Session, *, event_id: int, fields: EventFields, actor: User, now: datetime
) -> Event:
    """Save the edit form. The room capacity may not go below the seats sold or held.

    Raises NotFound or InvalidInput.
    """
    assert fields.starts_at is not None
    with session.begin():
        event = _get(session, event_id)
        before = _snapshot(session, event)
        if fields.starts_at != event.starts_at and fields.starts_at <= now:
            raise InvalidInput({"starts_date": "The start must be in the future"})
        if fields.slug != event.slug:
            _check_slug(session, fields.slug, event_id=event_id)
        if fields.capacity is not None and fields.capacity != event.capacity:
            lock(session, event_id)
            taken = availability(session, event=event, now=now).room_taken
            if fields.capacity < taken:
                raise InvalidInput({"capacity": capacity_message(taken)})
        for key, value in _columns(fields).items():
            setattr(event, key, value)
        event.venue_id = _venue(session, fields)
        event.updated_at = now
        session.add(event)
        _set_organisers(session, event_id, fields)
        session.flush()
        changed = audit.changes(before, _snapshot(session, event))
        if changed:
            audit.record(
                session,
                "event.updated",
                subject_type="event",
                subject_id=event_id,
                actor=actor,
                now=now,
                event_id=event_id,
                data=changed,
            )
    return event


@dataclass(frozen=True)
class CopyFields:
    """What a copy needs that the original cannot give: its own address and dates."""

    title: str
    slug: str
    starts_at: datetime
    ends_at: datetime | None = None
    doors_at: datetime | None = None
    hero_image: str = ""  # a fresh copy of the original's file, made by the caller


def copy(
    session: Session, *, event_id: int, fields: CopyFields, actor: User, now: datetime
) -> Event:
    """A new draft like the event: details, venue, organisers, speakers in this event's
    wording, ticket types and access codes; sales windows and code windows move with the start.
    No orders, tickets or promo links (each article gets its own). Raises NotFound or
    InvalidInput."""
    if fields.starts_at <= now:
        raise InvalidInput({"starts_date": "The start must be in the future"})
    with session.begin():
        original = _get(session, event_id)
        _check_slug(session, fields.slug, event_id=None)
        shift = fields.starts_at - original.starts_at
        event = Event(
            status=EventStatus.DRAFT,
            created_at=now,
            updated_at=now,
            title=fields.title,
            slug=fields.slug,
            starts_at=fields.starts_at,
            ends_at=fields.ends_at,
            doors_at=fields.doors_at,
            hero_image=fields.hero_image,
            **{key: getattr(original, key) for key in COPIED},
        )
        session.add(event)
        session.flush()
        assert event.id is not None
        for position, org_id in enumerate(organiser_ids(session, event_id)):
            session.add(
                EventOrganiser(event_id=event.id, organisation_id=org_id, position=position)
            )
        for place in session.exec(select(EventSpeaker).where(EventSpeaker.event_id == event_id)):
            session.add(
                EventSpeaker(
                    event_id=event.id,
                    speaker_id=place.speaker_id,
                    position=place.position,
                    role=place.role,
                    visibility=place.visibility,
                    affiliation=place.affiliation,
                    bio=place.bio,
                )
            )
        new_type_ids: dict[int | None, int | None] = {None: None}
        for tt in _types(session, event_id):
            twin = TicketType(
                event_id=event.id,
                **{key: getattr(tt, key) for key in TYPE_COPIED},
                sales_start=_moved(tt.sales_start, shift),
                sales_end=_moved(tt.sales_end, shift),
            )
            session.add(twin)
            session.flush()
            new_type_ids[tt.id] = twin.id
        for code in session.exec(select(AccessCode).where(AccessCode.event_id == event_id)):
            session.add(
                AccessCode(
                    event_id=event.id,
                    code=code.code,
                    label=code.label,
                    unlocks_ticket_type_id=new_type_ids.get(code.unlocks_ticket_type_id),
                    discount_amount=code.discount_amount,
                    discount_percent=code.discount_percent,
                    max_uses=code.max_uses,
                    valid_from=_moved(code.valid_from, shift),
                    valid_until=_moved(code.valid_until, shift),
                    active=code.active,
                    created_at=now,
                )
            )
        audit.record(
            session,
            "event.copied",
            subject_type="event",
            subject_id=event.id,
            actor=actor,
            now=now,
            event_id=event.id,
            data={"title": event.title, "copied_from": original.title},
        )
    return event


COPIED = (
    "strapline",
    "description",
    "venue_id",
    "more_speakers_tba",
    "capacity",
    "currency",
    "contact_email",
    "buyer_cancel_allowed",
    "buyer_cancel_cutoff_hours",
    "reminder_on",
    "reminder_hours",
    "thank_you_on",
    "thank_you_came",
    "thank_you_missed",
    "questions_on",
    "questions_close_hours",
)
TYPE_COPIED = (
    "name",
    "description",
    "price",
    "currency",
    "capacity",
    "max_per_order",
    "visible",
    "position",
)


def _moved(when: datetime | None, shift: timedelta) -> datetime | None:
    return None if when is None else when + shift


def capacity_message(taken: int) -> str:
    return f"Capacity must be at least {taken}, the number already sold or held"


def checklist(session: Session, *, event_id: int, now: datetime) -> Checklist:
    """What an event needs before the public sees it. Raises NotFound."""
    event = _get(session, event_id)
    types = _types(session, event_id)
    selling = [t for t in types if t.visible and (t.sales_end is None or t.sales_end > now)]
    organisers = organiser_ids(session, event_id)
    return Checklist(
        [
            CheckItem("tickets", "A ticket type on sale or scheduled to go on sale", bool(selling)),
            CheckItem("venue", "A venue", event.venue_id is not None),
            CheckItem("organiser", "An organiser", bool(organisers)),
            CheckItem("future", "A start in the future", event.starts_at > now),
        ]
    )


def sales_now(session: Session, *, event_id: int, now: datetime) -> SalesNow:
    """Whether the public can buy now, else when the first scheduled sale opens."""
    later = []
    for t in _types(session, event_id):
        if not t.visible or (t.sales_end is not None and t.sales_end <= now):
            continue
        if t.sales_start is None or t.sales_start <= now:
            return SalesNow(True, None)
        later.append(t.sales_start)
    return SalesNow(False, min(later, default=None))


def publish(session: Session, *, event_id: int, actor: User, now: datetime) -> Event:
    """Put a draft on sale to the public once its checklist is complete.

    Raises NotFound, ChecklistIncomplete, or Conflict (cancelled).
    """
    with session.begin():
        missing = checklist(session, event_id=event_id, now=now).missing
    if missing:
        raise ChecklistIncomplete([i.key for i in missing])
    return _set_status(session, event_id, EventStatus.PUBLISHED, actor=actor, now=now)


def publish_anyway(session: Session, *, event_id: int, actor: User, now: datetime) -> Event:
    """Publish although the checklist has gaps (the organiser confirmed it).

    Raises NotFound or Conflict (cancelled).
    """
    return _set_status(session, event_id, EventStatus.PUBLISHED, actor=actor, now=now)


def unpublish(session: Session, *, event_id: int, actor: User, now: datetime) -> Event:
    """Take a published event back to draft. Raises NotFound or Conflict (cancelled)."""
    return _set_status(session, event_id, EventStatus.DRAFT, actor=actor, now=now)


def _set_status(
    session: Session, event_id: int, status: EventStatus, *, actor: User, now: datetime
) -> Event:
    with session.begin():
        event = _get(session, event_id)
        if event.status == EventStatus.CANCELLED:
            raise Conflict("This event has been cancelled, so it cannot be changed")
        if event.status != status:
            event.status = status
            event.updated_at = now
            session.add(event)
            action = "event.published" if status == EventStatus.PUBLISHED else "event.unpublished"
            audit.record(
                session,
                action,
                subject_type="event",
                subject_id=event_id,
                actor=actor,
                now=now,
                event_id=event_id,
            )
    return event


def set_hero_image(
    session: Session, *, event_id: int, path: str, actor: User, now: datetime
) -> str:
    """Point the event at a stored image ("" removes it); returns the previous path."""
    with session.begin():
        event = _get(session, event_id)
        previous = event.hero_image
        event.hero_image = path
        event.updated_at = now
        session.add(event)
        audit.record(
            session,
            "event.hero_image_changed" if path else "event.hero_image_removed",
            subject_type="event",
            subject_id=event_id,
            actor=actor,
            now=now,
            event_id=event_id,
            data={"hero_image": {"before": previous, "after": path}},
        )
    return previous


# Helpers ------------------------------------------------------------------------------------
def _get(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    return event


def _columns(fields: EventFields) -> dict[str, Any]:
    data = asdict(fields)
    for key in ("venue_id", "new_venue", "organisation_ids", "new_organisation"):
        data.pop(key)
    return data


def _snapshot(session: Session, event: Event) -> dict[str, object]:
    data: dict[str, object] = {
        key: getattr(event, key) for key in _columns(EventFields()) if key != "description"
    }
    for key in ("starts_at", "ends_at", "doors_at"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, datetime) else None
    data["description"] = f"{len(event.description)} characters"
    data["venue_id"] = event.venue_id
    data["organisers"] = organiser_ids(session, event.id or 0)
    return data


def _check_slug(session: Session, slug: str, *, event_id: int | None) -> None:
    clash = session.exec(select(Event.id).where(Event.slug == slug)).first()
    if clash is not None and clash != event_id:
        raise SlugTaken(slug, free_slug(session, slug=slug))


def free_slug(session: Session, *, slug: str) -> str:
    """`slug` if no event uses it, else the first free slug-2, slug-3, …"""
    base = slug[:76].rstrip("-")
    taken = set(session.exec(select(Event.slug).where(col(Event.slug).startswith(base))).all())
    if slug not in taken:
        return slug
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _types(session: Session, event_id: int) -> list[TicketType]:
    return list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )


def _venue(session: Session, fields: EventFields) -> int | None:
    if fields.new_venue is not None:
        new = fields.new_venue
        venue = Venue(name=new["name"], address=new["address"], postcode=new["postcode"])
        session.add(venue)
        session.flush()
        return venue.id
    if fields.venue_id is not None and session.get(Venue, fields.venue_id) is None:
        raise InvalidInput({"venue": "Select a venue from the list"})
    return fields.venue_id


def _set_organisers(session: Session, event_id: int, fields: EventFields) -> None:
    ids = [i for i in fields.organisation_ids if session.get(Organisation, i) is not None]
    if fields.new_organisation:
        org = session.exec(
            select(Organisation).where(Organisation.name == fields.new_organisation)
        ).first() or Organisation(name=fields.new_organisation)
        session.add(org)
        session.flush()
        assert org.id is not None
        if org.id not in ids:
            ids.append(org.id)
    if ids == organiser_ids(session, event_id):
        return
    session.execute(delete(EventOrganiser).where(col(EventOrganiser.event_id) == event_id))
    for position, org_id in enumerate(ids):
        session.add(EventOrganiser(event_id=event_id, organisation_id=org_id, position=position))
    session.flush()


def organiser_ids(session: Session, event_id: int) -> list[int]:
    return list(
        session.exec(
            select(EventOrganiser.organisation_id)
            .where(EventOrganiser.event_id == event_id)
            .order_by(col(EventOrganiser.position))
        ).all()
    )


def choices(session: Session) -> tuple[list[Venue], list[Organisation]]:
    """Every venue and organisation, by name, for the event form."""
    venues = list(session.exec(select(Venue).order_by(col(Venue.name), col(Venue.id))).all())
    orgs = list(
        session.exec(select(Organisation).order_by(col(Organisation.name), col(Organisation.id)))
    )
    return venues, orgs
