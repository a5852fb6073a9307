"""What the audit log's entries point at, by name: people, door devices, tickets and venues,
read in a fixed number of queries so that a page can tell the entries as sentences."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from booking.domain import devices, tickets
from booking.models import AuditEntry, Ticket, User, Venue


@dataclass(frozen=True)
class Names:
    users: dict[int, str] = field(default_factory=dict)  # id -> name, or email
    devices: dict[str, str] = field(default_factory=dict)  # device id -> name staff gave it
    tickets: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (name, ref)
    venues: dict[int, str] = field(default_factory=dict)


def _device_keys(data: dict[str, object]) -> Iterator[str]:
    for key in ("device", "now_standing"):
        value = data.get(key)
        if isinstance(value, str):
            yield value
    for key in ("first", "second"):
        side = data.get(key)
        if isinstance(side, dict) and isinstance(side.get("device"), str):
            yield side["device"]


def _venue_ids(data: dict[str, object]) -> Iterator[int]:
    change = data.get("venue_id")
    if isinstance(change, dict):
        for value in change.values():
            if isinstance(value, int):
                yield value


def names_for(session: Session, entries: Iterable[AuditEntry]) -> Names:
    """Everything these entries name, by id."""
    entries = list(entries)
    user_ids = {e.actor_id for e in entries if e.actor_id}
    ticket_ids = {e.subject_id for e in entries if e.subject_type == "ticket" and e.subject_id}
    keys = {k for e in entries for k in _device_keys(e.data or {})}
    venue_ids = {v for e in entries for v in _venue_ids(e.data or {})}
    users = (
        {
            u.id: u.name or u.email
            for u in session.exec(select(User).where(col(User.id).in_(user_ids)))
        }
        if user_ids
        else {}
    )
    found = (
        session.exec(
            select(Ticket.id, Ticket.attendee_name, Ticket.code).where(
                col(Ticket.id).in_(ticket_ids)
            )
        ).all()
        if ticket_ids
        else []
    )
    venues = (
        dict(session.exec(select(Venue.id, Venue.name).where(col(Venue.id).in_(venue_ids))).all())
        if venue_ids
        else {}
    )
    return Names(
        users={k: v for k, v in users.items() if k is not None},
        devices=devices.names(session, keys=keys),
        tickets={
            i: (name, tickets.reference(code or "")) for i, name, code in found if i is not None
        },
        venues={k: v for k, v in venues.items() if k is not None},
    )
