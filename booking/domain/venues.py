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
    step_free: bool = False
    accessible_toilet: bool = False
    hearing_loop: bool = False
    wheelchair_note: str = ""
    access_note: str = ""


# The venue's access facts: each a checkbox on the form and a line on the event page.
ACCESS_FLAGS = {
    "step_free": "Step-free access",
    "accessible_toilet": "Accessible toilet",
    "hearing_loop": "Hearing loop",
}


@dataclass(frozen=True)
class AccessFacts:
    """What the event page's Access section says: only what is set."""

    flags: list[str]
    wheelchair_note: str
    note: str

    def __bool__(self) -> bool:
        return bool(self.flags or self.wheelchair_note or self.note)

    @property
    def paragraphs(self) -> list[str]:
        """The free text's paragraphs (blank lines between them)."""
        return [p.strip() for p in self.note.split("\n\n") if p.strip()]


def access_facts(venue: Venue) -> AccessFacts:
    flags = [label for key, label in ACCESS_FLAGS.items() if getattr(venue, key)]
    return AccessFacts(flags, venue.wheelchair_note, venue.access_note)


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
    for key in ACCESS_FLAGS:
        setattr(f, key, raw.get(key) == "yes")
    f.wheelchair_note = (
        errors.take(
            "wheelchair_note",
            lambda: inputs.text(raw.get("wheelchair_note"), name="Wheelchair spaces", limit=300),
        )
        or ""
    )
    f.access_note = (
        errors.take(
            "access_note",
            lambda: inputs.paragraphs(
                raw.get("access_note"), name="Other access facts", limit=1000
            ),
        )
        or ""
    )
    return f, dict(errors)


def form_values(venue: Venue) -> dict[str, str]:
    return {
        "name": venue.name,
        "address": venue.address,
        "locality": venue.locality,
        "postcode": venue.postcode,
        "map_url": venue.map_url,
        **{key: "yes" if getattr(venue, key) else "" for key in ACCESS_FLAGS},
        "wheelchair_note": venue.wheelchair_note,
        "access_note": venue.access_note,
    }


def _snapshot(venue: Venue) -> dict[str, object]:
    return {key: getattr(venue, key) for key in VenueFields.__dataclass_fields__}


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
        before = _snapshot(venue)
        for key, value in vars(fields).items():
            setattr(venue, key, value)
        session.add(venue)
        changed = audit.changes(before, _snapshot(venue))
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
