"""Venues: their address in one line without repeats, and organisers' edits to them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from booking.domain import audit, inputs
from booking.domain.errors import InvalidInput, NotFound
from booking.models import Event, User, Venue


def address(venue: Venue) -> str:
    """Street, town and postcode in one line, each said once: "1 Strand, London WC2E 7BB",
    not "1 Strand, London, London WC2E 7BB" when the address already names the town."""
    pieces = [p.strip() for p in venue.address.replace("\n", ",").split(",") if p.strip()]

    def named(word: str) -> bool:
        pattern = re.compile(rf"(?<![\w]){re.escape(word)}(?![\w])", re.I)
        return any(pattern.search(p) for p in pieces)

    town, postcode = venue.locality.strip(), venue.postcode.strip()
    if town and not named(town):
        pieces.append(town)
    if postcode and not named(postcode):
        if pieces and town and pieces[-1].lower() == town.lower():
            pieces[-1] = f"{pieces[-1]} {postcode}"
        else:
            pieces.append(postcode)
    return ", ".join(pieces)


@dataclass
class VenueFields:
    name: str = ""
    address: str = ""
    locality: str = ""
    postcode: str = ""
    map_url: str = ""


def read_form(raw: Mapping[str, str]) -> tuple[VenueFields, dict[str, str]]:
    """The venue form's values and any messages, by field name."""
    errors = inputs.Errors()
    f = VenueFields()
    f.name = (
        errors.take(
            "name",
            lambda: inputs.text(
                raw.get("name"), name="Venue name", limit=200, missing="Enter the venue's name"
            ),
        )
        or ""
    )
    f.address = (
        errors.take("address", lambda: inputs.text(raw.get("address"), name="Address", limit=500))
        or ""
    )
    f.locality = (
        errors.take(
            "locality", lambda: inputs.text(raw.get("locality"), name="Town or city", limit=100)
        )
        or ""
    )
    f.postcode = (
        errors.take(
            "postcode", lambda: inputs.text(raw.get("postcode"), name="Postcode", limit=20).upper()
        )
        or ""
    )
    url = (
        errors.take("map_url", lambda: inputs.text(raw.get("map_url"), name="Map link", limit=500))
        or ""
    )
    if url and not url.startswith(("https://", "http://")):
        errors["map_url"] = "Enter a map link starting with https://"
    f.map_url = url
    return f, dict(errors)


def form_values(venue: Venue) -> dict[str, str]:
    return {
        "name": venue.name,
        "address": venue.address,
        "locality": venue.locality,
        "postcode": venue.postcode,
        "map_url": venue.map_url,
    }


def get(session: Session, *, venue_id: int) -> Venue:
    """Raises NotFound."""
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("No venue at this address")
    return venue


def events_at(session: Session, *, venue_id: int) -> list[Event]:
    """The events held at this venue, soonest first (an edit changes every one of them)."""
    return list(
        session.exec(
            select(Event).where(Event.venue_id == venue_id).order_by(col(Event.starts_at))
        ).all()
    )


def update(
    session: Session, *, venue_id: int, fields: VenueFields, actor: User, now: datetime
) -> Venue:
    """Save a venue's details (every event held there shows them). Raises NotFound or
    InvalidInput."""
    if not fields.name:
        raise InvalidInput({"name": "Enter the venue's name"})
    with session.begin():
        venue = get(session, venue_id=venue_id)
        before = form_values(venue)
        for key, value in vars(fields).items():
            setattr(venue, key, value)
        session.add(venue)
        changed = audit.changes(before, form_values(venue))
        if changed:
            audit.record(
                session,
                "venue.updated",
                subject_type="venue",
                subject_id=venue_id,
                actor=actor,
                now=now,
                data={
                    "name": venue.name,
                    **{("venue_name" if k == "name" else k): v for k, v in changed.items()},
                },
            )
    return venue
