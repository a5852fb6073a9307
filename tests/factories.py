"""Plain factory functions: make_x(session, **overrides) -> a saved row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from booking.models import (
    Event,
    EventOrganiser,
    EventSpeaker,
    EventStatus,
    Organisation,
    Speaker,
    TicketType,
    Venue,
)

_seq = itertools.count(1)
# Real time (to the minute), so events made here sit in the future of the app's clock and
# of the Stripe stand-in's, which validates expires_at against its own wall clock.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _save(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.commit()
    session.refresh(obj)
    session.commit()  # end the read transaction the refresh opened
    return obj


def make_venue(session: Session, **over: Any) -> Venue:
    fields = {
        "name": "Conway Hall",
        "address": "25 Red Lion Square",
        "postcode": "WC1R 4RL",
        "map_url": "https://www.openstreetmap.org/?mlat=51.52&mlon=-0.12",
    }
    return _save(session, Venue(**{**fields, **over}))


def make_event(session: Session, **over: Any) -> Event:
    n = next(_seq)
    starts = over.pop("starts_at", NOW + timedelta(days=30))
    if "venue_id" not in over:
        over["venue_id"] = make_venue(session).id
    fields = {
        "slug": f"event-{n}",
        "title": f"Debate number {n}",
        "strapline": "Two speakers, one question",
        "starts_at": starts,
        "ends_at": starts + timedelta(minutes=90),
        "doors_at": starts - timedelta(minutes=30),
        "status": EventStatus.PUBLISHED,
        "capacity": 100,
        "created_at": NOW - timedelta(days=10),
    }
    return _save(session, Event(**{**fields, **over}))


def make_ticket_type(session: Session, event: Event, **over: Any) -> TicketType:
    fields = {"event_id": event.id, "name": "Standard", "price": 1000, "max_per_order": 6}
    return _save(session, TicketType(**{**fields, **over}))


def make_speaker(session: Session, event: Event, position: int = 0, **over: Any) -> Speaker:
    role = over.pop("role", "speaker")
    visibility = over.pop("visibility", "confirmed")
    fields = {"name": f"Speaker {next(_seq)}", "affiliation": "Somewhere", "bio": "Speaks."}
    speaker = _save(session, Speaker(**{**fields, **over}))
    _save(
        session,
        EventSpeaker(
            event_id=event.id,
            speaker_id=speaker.id,
            position=position,
            role=role,
            visibility=visibility,
            affiliation=speaker.affiliation,
            bio=speaker.bio,
        ),
    )
    return speaker


def make_organisation(session: Session, event: Event | None = None, **over: Any) -> Organisation:
    org = _save(
        session, Organisation(**{"name": "On London", "url": "https://example.org", **over})
    )
    if event is not None:
        _save(session, EventOrganiser(event_id=event.id, organisation_id=org.id, position=0))
    return org
