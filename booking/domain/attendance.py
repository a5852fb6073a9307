"""Who is expected at the door and who is in: counts, search, and the device's offline list.

The offline list holds no ticket codes. Each ticket is keyed by a SHA-256 digest of the
event's salt and its code, which the device computes from what it scans; a copy of the list
taken from a phone therefore cannot be turned back into working tickets. The device cannot
check HMAC signatures (the key stays on the server), so an offline admission is provisional:
the server checks each one again when the device syncs (`checkin.sync_offline`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, literal, null, or_, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from booking.domain import access_needs, devices, tickets
from booking.models import (
    AuditEntry,
    CheckIn,
    CheckInConflict,
    Event,
    Order,
    Ticket,
    TicketStatus,
    TicketType,
)

# A change committed a moment after a poll can carry an earlier time than the poll's answer;
# answering with everything from this much before `since` covers that (entries repeat, which
# is harmless: each says the ticket's current state).
CHANGES_OVERLAP = timedelta(seconds=30)
LIST_KEEP = timedelta(hours=12)  # a device drops its list this long after the event ends
ADMISSION_ACTIONS = ("ticket.admitted", "ticket.admission_undone", "ticket.admitted_twice")
KEY_HEX = 32  # 128 bits of SHA-256
IN_CHUNK = 5000  # ids per IN (…): well under the limits on bound parameters


@dataclass(frozen=True)
class TypeCount:
    name: str
    admitted: int
    expected: int


@dataclass(frozen=True)
class Counts:
    admitted: int
    expected: int
    by_type: list[TypeCount]
    conflicts: int


def counts(session: Session, *, event_id: int) -> Counts:
    """Admitted against expected (valid tickets), per ticket type, and how many offline
    admissions turned out to be a second admission of a ticket: one query, answered in a
    few rows (the event's types, then a count each for expected, admitted and conflicts)."""
    # No join whose plan rests on table statistics, which are stale while the door is filling
    # a fresh table (see `_admissions`): each admission finds its ticket by primary key.
    type_if_valid = (
        core_select(col(Ticket.ticket_type_id))
        .where(col(Ticket.id) == CheckIn.ticket_id, col(Ticket.status) == TicketStatus.VALID)
        .scalar_subquery()
    )
    parts = union_all(
        core_select(
            literal("type"), col(TicketType.id), col(TicketType.name), col(TicketType.position)
        ).where(col(TicketType.event_id) == event_id),
        core_select(literal("expected"), col(Ticket.ticket_type_id), null(), func.count())
        .where(col(Ticket.event_id) == event_id, col(Ticket.status) == TicketStatus.VALID)
        .group_by(col(Ticket.ticket_type_id)),
        core_select(literal("admitted"), type_if_valid, null(), func.count())
        .where(col(CheckIn.event_id) == event_id, col(CheckIn.undone_at).is_(None))
        .group_by(type_if_valid),
        core_select(literal("conflicts"), null(), null(), func.count()).where(
            col(CheckInConflict.event_id) == event_id, col(CheckInConflict.withdrawn_at).is_(None)
        ),
    )
    types: list[tuple[int, int, str]] = []
    tally: dict[str, Counter[int | None]] = {"expected": Counter(), "admitted": Counter()}
    conflicts = 0
    for kind, type_id, name, number in session.connection().execute(parts):
        if kind == "type":
            types.append((int(number), int(type_id), str(name)))
        elif kind == "conflicts":
            conflicts = int(number)
        else:
            tally[kind][type_id] = int(number)
    expected, admitted = tally["expected"], tally["admitted"]
    by_type = [
        TypeCount(name, admitted[type_id], expected[type_id])
        for _, type_id, name in sorted(types)
        if expected[type_id]
    ]
    return Counts(
        sum(n for t, n in admitted.items() if t is not None),
        sum(expected.values()),
        by_type,
        conflicts,
    )


@dataclass(frozen=True)
class Attendee:
    code: str  # the ticket's reference: enough to admit it, and all the door is shown
    name: str
    type: str
    reference: str
    order_reference: str
    status: str
    checked_in_at: datetime | None
    by: str
    access: str = ""  # the order's access needs as one line, for staff to see beside the name


def _needs(session: Session, order_ids: Iterable[int]) -> dict[int, str]:
    """Each of these orders' access needs as one line (orders without any left out)."""
    ids = list(set(order_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(col(Order.id), Order.access_needs, Order.access_note).where(
            col(Order.id).in_(ids), (Order.access_needs != "") | (Order.access_note != "")
        )
    ).all()
    return {
        order_id: access_needs.stored(keys, note).text
        for order_id, keys, note in rows
        if order_id is not None
    }


@dataclass(frozen=True)
class _In:
    at: datetime
    by: str
    device: str


def _admissions(session: Session, ticket_ids: list[int]) -> dict[int, _In]:
    """The admission that counts for each of these tickets.

    Looked up apart from the tickets: a join would leave the plan to table statistics, and
    a fresh door table (hundreds of rows since the last ANALYZE) can turn it quadratic.
    """
    found: dict[int, _In] = {}
    for start in range(0, len(ticket_ids), IN_CHUNK):
        rows = session.connection().execute(
            _ADMISSIONS_OF, {"ids": ticket_ids[start : start + IN_CHUNK]}
        )
        found.update({ticket_id: _In(at, by, device) for ticket_id, at, by, device in rows})
    return found


_ADMISSIONS_OF = select(CheckIn.ticket_id, CheckIn.at, CheckIn.by_name, CheckIn.device).where(
    col(CheckIn.ticket_id).in_(bindparam("ids", expanding=True)), col(CheckIn.undone_at).is_(None)
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(session: Session, *, event_id: int, query: str, limit: int = 20) -> list[Attendee]:
    """Tickets of the event by attendee name, buyer name or email, order reference or ticket
    reference (at least 2 characters), with whether each is in. Results carry the ticket's
    reference, never its whole code, which only its holder has."""
    q = query.strip().lower()
    if len(q) < 2:
        return []
    like = _like(q)
    ref = tickets.normalise(q)
    matches = [
        func.lower(Ticket.attendee_name).like(like, escape="\\"),
        func.lower(Order.buyer_name).like(like, escape="\\"),
        func.lower(Order.buyer_email).like(like, escape="\\"),
        func.replace(Order.reference, "-", "") == ref,
    ]
    if len(ref) >= 4:
        matches.append(col(Ticket.code).startswith(ref, autoescape=True))
    rows = session.exec(
        select(Ticket, TicketType.name, Order.reference)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(Ticket.event_id == event_id, col(Ticket.code).is_not(None), or_(*matches))
        .order_by(func.lower(Ticket.attendee_name), col(Ticket.id))
        .limit(limit)
    ).all()
    rows = _with_order_mates(session, list(rows), limit=limit * 2)
    found = _admissions(session, [t.id for t, _, _ in rows if t.id is not None])
    needs = _needs(session, (t.order_id for t, _, _ in rows))
    return [
        Attendee(
            tickets.reference(t.code or ""),
            t.attendee_name,
            type_name,
            tickets.reference(t.code or ""),
            order_ref,
            t.status,
            found[t.id].at if t.id in found else None,
            found[t.id].by if t.id in found else "",
            needs.get(t.order_id, ""),
        )
        for t, type_name, order_ref in rows
    ]


def _with_order_mates(
    session: Session, rows: list[tuple[Ticket, str, str]], *, limit: int
) -> list[tuple[Ticket, str, str]]:
    """The matches, each followed by the other tickets on its order (a couple arriving
    together is found by one name), orders in the order of their first match."""
    order_ids = list(dict.fromkeys(t.order_id for t, _, _ in rows))
    if not order_ids:
        return rows
    mates = session.exec(
        select(Ticket, TicketType.name, Order.reference)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(col(Ticket.order_id).in_(order_ids), col(Ticket.code).is_not(None))
        .order_by(col(Ticket.id))
    ).all()
    first_match = {t.id: i for i, (t, _, _) in enumerate(rows)}
    rank = {order_id: i for i, order_id in enumerate(order_ids)}
    ordered = sorted(
        mates, key=lambda m: (rank[m[0].order_id], first_match.get(m[0].id, len(rows)), m[0].id)
    )
    return [(t, name, ref) for t, name, ref in ordered][:limit]


def list_salt(event: Event) -> str:
    return f"booking-door:{event.id}:"


def list_key(salt: str, code: str) -> str:
    """The offline list's key for a ticket code (the device computes the same)."""
    return hashlib.sha256(f"{salt}{code}".encode()).hexdigest()[:KEY_HEX]


@dataclass(frozen=True)
class DoorList:
    salt: str
    expires_at: datetime
    tickets: dict[str, dict[str, object]]


def _entries(session: Session, salt: str, *where: Any) -> dict[str, dict[str, object]]:
    rows = (
        session.connection()
        .execute(  # plain rows: a poll may carry every ticket
            core_select(
                col(Ticket.id),
                col(Ticket.code),
                col(Ticket.attendee_name),
                col(Ticket.status),
                col(TicketType.name),
                col(Order.reference),
                col(Order.access_needs),
                col(Order.access_note),
            )
            .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
            .join(Order, col(Order.id) == Ticket.order_id)
            .where(col(Ticket.code).is_not(None), *where)
            .order_by(col(Ticket.id))
        )
        .all()
    )
    found = _admissions(session, [t for t, *_ in rows if t is not None])
    names = devices.names(session, keys=[a.device for a in found.values()])
    entries: dict[str, dict[str, object]] = {}
    for ticket_id, code, name, status, type_name, order_ref, needs, note in rows:
        assert code is not None and ticket_id is not None
        admitted = found.get(ticket_id)
        entries[list_key(salt, code)] = {
            "name": name,
            "type": type_name,
            "ref": tickets.reference(code),
            "order": order_ref,
            "status": status,
            "checked_in_at": admitted.at.isoformat() if admitted else None,
            "by": admitted.by if admitted else "",
            "device": admitted.device if admitted else "",
            "device_name": devices.label(names, admitted.device) if admitted else "",
            "access": access_needs.stored(needs, note).text,
        }
    return entries


def ticket_list(session: Session, *, event: Event) -> DoorList:
    """Every issued ticket of the event, keyed by `list_key`, for a device to keep offline."""
    salt = list_salt(event)
    ends = event.ends_at or event.starts_at
    return DoorList(salt, ends + LIST_KEEP, _entries(session, salt, Ticket.event_id == event.id))


def changes(session: Session, *, event: Event, since: datetime) -> dict[str, dict[str, object]]:
    """Tickets admitted or un-admitted since `since` (with some overlap), as in `ticket_list`,
    so a device's offline list stays within a poll of the truth."""
    changed = session.exec(
        select(AuditEntry.subject_id)
        .where(
            AuditEntry.event_id == event.id,
            col(AuditEntry.at) >= since - CHANGES_OVERLAP,
            col(AuditEntry.action).in_(ADMISSION_ACTIONS),
        )
        .distinct()
    ).all()
    if not changed:
        return {}
    return _entries(
        session, list_salt(event), Ticket.event_id == event.id, col(Ticket.id).in_(changed)
    )


def door_list(session: Session, *, event_id: int) -> list[Attendee]:
    """Every valid ticket of the event by attendee name, for a printed list at the door."""
    rows = session.exec(
        select(Ticket, TicketType.name, Order.reference)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(
            Ticket.event_id == event_id,
            Ticket.status == TicketStatus.VALID,
            col(Ticket.code).is_not(None),
        )
        .order_by(func.lower(Ticket.attendee_name), col(Order.reference), col(Ticket.id))
    ).all()
    found = _admissions(session, [t.id for t, _, _ in rows if t.id is not None])
    needs = _needs(session, (t.order_id for t, _, _ in rows))
    return [
        Attendee(
            t.code or "",
            t.attendee_name,
            type_name,
            tickets.reference(t.code or ""),
            order_ref,
            t.status,
            found[t.id].at if t.id in found else None,
            found[t.id].by if t.id in found else "",
            needs.get(t.order_id, ""),
        )
        for t, type_name, order_ref in rows
    ]
