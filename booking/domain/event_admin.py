"""Organisers' changes to an event: create, edit, publish, unpublish, hero image.

Every change is one transaction with an audit entry. A room capacity is checked against the
seats already sold or held under `db.lock`, in the same transaction as the update.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.event_forms import EventFields
from booking.domain.inventory import availability
from booking.models import Event, EventOrganiser, EventStatus, Organisation, User, Venue


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


def capacity_message(taken: int) -> str:
    return f"Capacity must be at least {taken}, the number already sold or held"


def publish(session: Session, *, event_id: int, actor: User, now: datetime) -> Event:
    """Put a draft on sale to the public. Raises NotFound or Conflict (cancelled)."""
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


def _columns(fields: EventFields) -> dict[str, object]:
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
        raise InvalidInput({"slug": f"There is already an event at /events/{slug}"})


def _venue(session: Session, fields: EventFields) -> int | None:
    if fields.new_venue is not None:
        venue = Venue(**fields.new_venue)
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
