"""Door check-in: admit a ticket once, say who admitted it when, undo, and sync offline scans.

One admission per ticket. The guard is the database's: on SQLite the write transaction holds
the write lock (BEGIN IMMEDIATE) from its first statement, so admissions run one at a time;
on PostgreSQL the ticket's row is locked (SELECT … FOR UPDATE) before its admissions are
read. Behind both, a partial unique index allows one admission per ticket that is not undone,
so a path that skipped the lock would still find the other device's admission.

Every admission carries a nonce chosen by the device: the same request sent again (after a
lost answer, or from the offline queue) gets the first answer and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import Connection, Row, Select, bindparam, exists, text, true, update
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select as ModelSelect

from booking.domain import access_needs, audit, tickets, users
from booking.models import (
    CheckIn,
    CheckInConflict,
    Event,
    EventStatus,
    Order,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

ADMITTED = "admitted"
ALREADY = "already_checked_in"
NOT_VALID = "not_valid"
CONFLICT = "conflict"  # an offline admission of a ticket that was already in

MAX_TEXT = 100  # nonce and device, as stored
OFFLINE_WINDOW = timedelta(hours=24)  # how far back an offline scan time is believed

REASONS = {
    "forged": "This is not a genuine ticket code.",
    "unknown": "No ticket for this event has this code.",
    "ambiguous": "More than one ticket starts with this reference. Type the whole code.",
    "other_event": "This ticket is for another event",
    "cancelled": "This ticket was cancelled or refunded.",
    "released": "This ticket was released: its holder gave the seat back.",
    "not_paid": "This ticket has not been paid for.",
    "nonce_reused": "This scan's nonce was already used for another admission.",
}
_STATUS_REASON: dict[str, str] = {
    TicketStatus.CANCELLED: "cancelled",
    TicketStatus.RETURNED: "released",
    TicketStatus.RELEASED: "not_paid",
    TicketStatus.HELD: "not_paid",
}
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})  # Crockford's look-alikes


@dataclass(frozen=True)
class TicketFacts:
    code: str
    name: str
    type: str
    reference: str
    access: str = ""  # the order's access needs as one line


@dataclass(frozen=True)
class Outcome:
    """admitted / already_checked_in / not_valid, with what staff need to see.

    For already_checked_in, `checked_in_at`, `by` and `device` describe the admission that
    counts; `replay` is true when this answer repeats an earlier request with the same nonce.
    """

    result: str
    message: str = ""
    reason: str = ""
    ticket: TicketFacts | None = None
    checked_in_at: datetime | None = None
    by: str = ""
    device: str = ""
    checkin_id: int | None = None
    replay: bool = False


def canonical(code: str) -> str:
    """A typed or scanned code as stored: upper case, no spaces or dashes, O as 0, I/L as 1."""
    return tickets.normalise(code).translate(_ALIASES)


def _not_valid(reason: str, ticket: TicketFacts | None = None, message: str = "") -> Outcome:
    return Outcome(NOT_VALID, message or REASONS[reason], reason, ticket)


def _facts(
    ticket: Ticket | Row[Ticket, str, str, str], type_name: str, needs: str = ""
) -> TicketFacts:
    """What the door shows of a ticket; `needs` is its order's access needs as one line."""
    assert ticket.code is not None
    return TicketFacts(
        ticket.code, ticket.attendee_name, type_name, tickets.reference(ticket.code), needs
    )


def _needs_of_order(session: Session, order_id: int) -> str:
    order = session.get(Order, order_id)
    return access_needs.of(order).text if order is not None else ""


def _needs_of_row(row: Row[Ticket, str, str, str]) -> str:
    """The access needs read with the ticket's row (`_ticket_rows`)."""
    return access_needs.stored(row.access_needs, row.access_note).text


def _code_filter(clean: str) -> Any:
    if len(clean) == tickets.CODE_LENGTH:
        return Ticket.code == clean
    return col(Ticket.code).startswith(clean, autoescape=True)


def _matches(session: Session, *, event_id: int, clean: str) -> list[tuple[Ticket, str]]:
    """Tickets with this full code (of any event: the code is unique, and a ticket of another
    event is then recognised as such) or, for a reference, this event's tickets starting
    with it (at most two: one more than a match needs)."""
    query = select(Ticket, TicketType.name).join(
        TicketType, col(TicketType.id) == Ticket.ticket_type_id
    )
    if len(clean) == tickets.CODE_LENGTH:
        query = query.where(Ticket.code == clean)
    else:
        query = query.where(Ticket.event_id == event_id, _code_filter(clean)).limit(2)
    return [(t, name) for t, name in session.exec(query).all()]


def find_ticket(session: Session, *, event_id: int, code: str) -> tuple[Ticket, str] | None:
    """A ticket of this event by its full code or its 8-character reference (None when no
    ticket, or more than one, matches)."""
    clean = canonical(code)
    if len(clean) not in (tickets.CODE_LENGTH, tickets.REFERENCE_LENGTH):
        return None
    here = [
        m for m in _matches(session, event_id=event_id, clean=clean) if m[0].event_id == event_id
    ]
    return here[0] if len(here) == 1 else None


def _other_event(
    session: Session, clean: str, found: list[Row[Ticket, str, str, str]]
) -> Event | None:
    if found:
        return session.get(Event, found[0].event_id)
    if len(clean) == tickets.CODE_LENGTH:
        return None
    return session.exec(
        select(Event).join(Ticket, col(Ticket.event_id) == Event.id).where(_code_filter(clean))
    ).first()


def _lock_ticket(session: Session, ticket: Ticket) -> str:
    """Serialise admissions of this ticket; returns its status as of now.

    SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE); refuse to run
    without it. PostgreSQL: lock the ticket's row, which also waits out a refund in flight.
    """
    conn = session.connection()
    if not conn.get_execution_options().get("booking_locking", True):
        return ticket.status  # the race tests' negative control
    if conn.dialect.name == "sqlite":
        if not conn.info.get("immediate"):
            raise RuntimeError("check-in on SQLite needs a write session (BEGIN IMMEDIATE)")
        return ticket.status
    row = conn.execute(
        text("SELECT status FROM ticket WHERE id = :id FOR UPDATE"), {"id": ticket.id}
    ).one()
    return str(row[0])


def _row_locks(conn: Connection) -> bool:
    """Whether the admission must lock the ticket's row (PostgreSQL). SQLite: the transaction
    already holds the write lock (BEGIN IMMEDIATE); refuse to run without it."""
    if not conn.get_execution_options().get("booking_locking", True):
        return False  # the race tests' negative control
    if conn.dialect.name == "sqlite":
        if not conn.info.get("immediate"):
            raise RuntimeError("check-in on SQLite needs a write session (BEGIN IMMEDIATE)")
        return False
    return True


def _ticket_rows(*where: Any, lock: bool) -> Select[Ticket, str, str, str]:
    query: Select[Ticket, str, str, str] = (
        core_select(
            Ticket,
            col(TicketType.name).label("type_name"),
            col(Order.access_needs).label("access_needs"),
            col(Order.access_note).label("access_note"),
        )
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(*where)
    )
    return query.with_for_update(of=Ticket) if lock else query


# Built once: a statement made afresh costs more to build than to run.
_BY_CODE = {
    lock: _ticket_rows(col(Ticket.code) == bindparam("code"), lock=lock) for lock in (False, True)
}


def _candidates(
    conn: Connection, *, event_id: int, clean: str, lock: bool
) -> list[Row[Ticket, str, str, str]]:
    """As `_matches`, as plain rows (the ticket's columns and `type_name`), in one statement
    that also locks them when `lock` (which serialises admissions of a ticket and waits out
    a refund in flight)."""
    if len(clean) == tickets.CODE_LENGTH:
        return list(conn.execute(_BY_CODE[lock], {"code": clean}).all())
    query = _ticket_rows(col(Ticket.event_id) == event_id, _code_filter(clean), lock=lock)
    return list(conn.execute(query.limit(2)).all())


def _unused(ticket_id: Any, nonce: Any) -> Any:
    """What an admission needs: none of the ticket's stands, and the nonce is new."""
    return ~exists().where(
        (col(CheckIn.nonce) == nonce)
        | ((col(CheckIn.ticket_id) == ticket_id) & col(CheckIn.undone_at).is_(None))
    ) & ~exists().where(col(CheckInConflict.nonce) == nonce)


_CHECKIN = CheckIn.metadata.tables[CheckIn.__tablename__]
_ADMISSION_COLUMNS = (
    "ticket_id",
    "event_id",
    "at",
    "by_user_id",
    "by_name",
    "device",
    "nonce",
    "offline",
)
_ADMISSIONS: dict[str, Any] = {}  # the insert, by dialect, built at first use


def _admission_insert(dialect: str) -> Any:
    """INSERT … SELECT (the values) WHERE `_unused` ON CONFLICT DO NOTHING RETURNING id."""
    params = {k: bindparam(k, type_=_CHECKIN.c[k].type) for k in _ADMISSION_COLUMNS}
    rows = core_select(*params.values()).where(_unused(params["ticket_id"], params["nonce"]))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(CheckIn)
        .from_select(list(params), rows)
        .on_conflict_do_nothing()
        .returning(col(CheckIn.id))
    )


def _insert_admission(
    conn: Connection,
    *,
    ticket_id: int,
    event_id: int,
    at: datetime,
    by: User,
    device: str,
    nonce: str,
    offline: bool,
) -> tuple[int, str] | None:
    """Insert the admission if `_unused` holds (a unique index refusing it is taken as a
    no), in one statement; returns its id and by_name, or None when nothing was inserted."""
    dialect = conn.dialect.name
    statement = _ADMISSIONS.get(dialect)
    if statement is None:
        statement = _ADMISSIONS[dialect] = _admission_insert(dialect)
    by_name = by.name or by.email
    values = {
        "ticket_id": ticket_id,
        "event_id": event_id,
        "at": at,
        "by_user_id": by.id,
        "by_name": by_name,
        "device": device,
        "nonce": nonce,
        "offline": offline,
    }
    inserted = conn.execute(statement, values).scalar_one_or_none()
    return None if inserted is None else (int(inserted), by_name)


def _active_checkin(session: Session, ticket_id: int) -> CheckIn | None:
    return session.exec(
        select(CheckIn).where(CheckIn.ticket_id == ticket_id, col(CheckIn.undone_at).is_(None))
    ).first()


def _from_checkin(
    result: str, message: str, checkin: CheckIn, facts: TicketFacts | None, replay: bool
) -> Outcome:
    return Outcome(
        result,
        message,
        "",
        facts,
        checked_in_at=checkin.at,
        by=checkin.by_name,
        device=checkin.device,
        checkin_id=checkin.id,
        replay=replay,
    )


def _already(checkin: CheckIn, facts: TicketFacts | None, *, replay: bool = False) -> Outcome:
    return _from_checkin(ALREADY, "Already checked in", checkin, facts, replay)


def _admitted(checkin: CheckIn, facts: TicketFacts, *, replay: bool = False) -> Outcome:
    return _from_checkin(ADMITTED, "Admitted", checkin, facts, replay)


def _replay(
    session: Session, *, nonce: str, device: str, ticket_id: int, facts: TicketFacts
) -> Outcome | None:
    """The answer already given to this nonce, if it was used before (None if not)."""
    checkin = session.exec(select(CheckIn).where(CheckIn.nonce == nonce)).first()
    if checkin is not None:
        if checkin.ticket_id != ticket_id or checkin.device != device:
            return _not_valid("nonce_reused")
        return _admitted(checkin, facts, replay=True)
    conflict = session.exec(select(CheckInConflict).where(CheckInConflict.nonce == nonce)).first()
    if conflict is None:
        return None
    if conflict.ticket_id != ticket_id or conflict.device != device:
        return _not_valid("nonce_reused")
    first = session.get(CheckIn, conflict.first_checkin_id) if conflict.first_checkin_id else None
    if first is None:
        return Outcome(ALREADY, "Already checked in", "", facts, replay=True)
    return _already(first, facts, replay=True)


def _admit_in(
    session: Session,
    *,
    event_id: int,
    code: str,
    nonce: str,
    device: str,
    by: User,
    at: datetime,
    now: datetime,
    key: bytes,
    offline: bool,
) -> Outcome:
    """One admission inside the caller's transaction (see `admit`)."""
    clean = canonical(code)
    if len(clean) == tickets.CODE_LENGTH and not tickets.verify(clean, key):
        return _not_valid("forged")  # no database work for a forged or mistyped code
    if len(clean) not in (tickets.CODE_LENGTH, tickets.REFERENCE_LENGTH):
        return _not_valid("unknown")
    nonce, device = nonce[:MAX_TEXT], device[:MAX_TEXT]
    conn = session.connection()
    found = _candidates(conn, event_id=event_id, clean=clean, lock=_row_locks(conn))
    here = [m for m in found if m.event_id == event_id]
    if len(here) > 1:
        return _not_valid("ambiguous")
    if not here:
        other = _other_event(session, clean, found)
        if other is not None:
            return _not_valid("other_event", message=f"This ticket is for {other.title}.")
        return _not_valid("unknown")
    ticket = here[0]
    facts = _facts(ticket, ticket.type_name, _needs_of_row(ticket))
    if ticket.status == TicketStatus.VALID:
        # The check and the insert in one statement, after the lock: a retry racing its
        # own original sees the original.
        inserted = _insert_admission(
            conn,
            ticket_id=ticket.id,
            event_id=event_id,
            at=at,
            by=by,
            device=device,
            nonce=nonce,
            offline=offline,
        )
        if inserted is not None:
            checkin_id, by_name = inserted
            audit.insert(
                session,
                "ticket.admitted",
                subject_type="ticket",
                subject_id=ticket.id,
                actor=by,
                now=now,
                event_id=event_id,
                order_id=ticket.order_id,
                data={"device": device, "offline": offline, "at": at.isoformat()},
            )
            return Outcome(
                ADMITTED,
                "Admitted",
                "",
                facts,
                checked_in_at=at,
                by=by_name,
                device=device,
                checkin_id=checkin_id,
            )
    # Not admitted: this nonce's first answer, the ticket's status, or the admission that
    # stands (another device's; without the lock, one whose insert the unique index let
    # through first).
    earlier = _replay(session, nonce=nonce, device=device, ticket_id=ticket.id, facts=facts)
    if earlier is not None:
        return earlier
    if ticket.status != TicketStatus.VALID:
        return _not_valid(_STATUS_REASON.get(ticket.status, "cancelled"), facts)
    existing = _active_checkin(session, ticket.id)
    if existing is None:
        raise RuntimeError(f"admission of ticket {ticket.id} refused, yet none stands")
    return _already(existing, facts)


def admit(
    session: Session,
    *,
    event_id: int,
    code: str,
    nonce: str,
    device: str,
    by: User,
    now: datetime,
    key: bytes,
) -> Outcome:
    """Admit the ticket with this code (full code or 8-character reference), once.

    Returns admitted, already_checked_in (with when, by whom, on which device) or not_valid
    (with a reason code). A forged or mistyped full code is refused without a database
    lookup. A request repeated with the same nonce and device gets the first answer again.
    Needs a write session (`Database.write_session()`).
    """
    with session.begin():
        return _admit_in(
            session,
            event_id=event_id,
            code=code,
            nonce=nonce,
            device=device,
            by=by,
            at=now,
            now=now,
            key=key,
            offline=False,
        )


@dataclass(frozen=True)
class UndoResult:
    """ok, a message for staff, and what was taken back: an admission (`checkin_id`), or a
    duplicate admission (`duplicate`, the ticket stays in); `still_in` when another device's
    admission of the ticket now stands."""

    ok: bool
    message: str
    ticket: TicketFacts | None = None
    checkin_id: int | None = None
    duplicate: bool = False
    still_in: bool = False


ALREADY_UNDONE = "This admission was already undone."


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id else None
    return (user.name or user.email) if user else ""


def _promote(session: Session, ticket: Ticket, *, undone: CheckIn) -> CheckIn | None:
    """After an undo, the earliest duplicate still standing becomes the ticket's admission:
    that guest did come in, through the other device."""
    nxt = session.exec(
        select(CheckInConflict)
        .where(
            CheckInConflict.ticket_id == ticket.id,
            col(CheckInConflict.withdrawn_at).is_(None),
        )
        .order_by(col(CheckInConflict.at), col(CheckInConflict.id))
    ).first()
    if nxt is None:
        return None
    checkin = CheckIn(
        ticket_id=nxt.ticket_id,
        event_id=nxt.event_id,
        at=nxt.at,
        by_user_id=nxt.by_user_id,
        by_name=_user_name(session, nxt.by_user_id),
        device=nxt.device,
        nonce=nxt.nonce,
        offline=True,
    )
    session.delete(nxt)
    session.flush()
    session.add(checkin)
    session.flush()
    session.execute(
        update(CheckInConflict)
        .where(col(CheckInConflict.first_checkin_id) == undone.id)
        .values(first_checkin_id=checkin.id)
    )
    return checkin


def _withdraw(
    session: Session,
    conflict: CheckInConflict,
    ticket: Ticket,
    facts: TicketFacts,
    *,
    by: User,
    now: datetime,
) -> UndoResult:
    if conflict.withdrawn_at is not None:
        return UndoResult(False, ALREADY_UNDONE, facts)
    conflict.withdrawn_at, conflict.withdrawn_by = now, by.id
    session.add(conflict)
    audit.record(
        session,
        "ticket.duplicate_withdrawn",
        subject_type="ticket",
        subject_id=ticket.id,
        actor=by,
        now=now,
        event_id=conflict.event_id,
        order_id=ticket.order_id,
        data={"device": conflict.device, "at": conflict.at.isoformat()},
    )
    who = facts.name or facts.reference
    return UndoResult(
        True,
        f"Second admission of {who} withdrawn. The first admission stands: {who} is in.",
        facts,
        duplicate=True,
        still_in=True,
    )


def undo(
    session: Session,
    *,
    event_id: int,
    code: str,
    by: User,
    now: datetime,
    nonce: str | None = None,
    checkin_id: int | None = None,
) -> UndoResult:
    """Take back one admission of the ticket with this code, named by the nonce its device
    made (or by its id): never another device's. An admission recorded as the duplicate
    is withdrawn and the ticket stays in; undoing the admission that stands lets the
    earliest duplicate stand instead. Nothing is undone when neither names an admission."""
    with session.begin():
        found = find_ticket(session, event_id=event_id, code=code)
        if found is None:
            return UndoResult(False, REASONS["unknown"])
        ticket, type_name = found
        facts = _facts(ticket, type_name, _needs_of_order(session, ticket.order_id))
        _lock_ticket(session, ticket)  # before reading its admissions
        nonce = (nonce or "")[:MAX_TEXT]
        if nonce:
            active = session.exec(select(CheckIn).where(CheckIn.nonce == nonce)).first()
        elif checkin_id is not None:
            active = session.get(CheckIn, checkin_id)
        else:
            return UndoResult(False, "Say which admission to undo.", facts)
        if active is None and nonce:
            conflict = session.exec(
                select(CheckInConflict).where(CheckInConflict.nonce == nonce)
            ).first()
            if conflict is not None and conflict.ticket_id == ticket.id:
                return _withdraw(session, conflict, ticket, facts, by=by, now=now)
        if active is None or active.ticket_id != ticket.id:
            return UndoResult(False, "This phone's admission of this ticket was not found.", facts)
        done = session.exec(
            update(CheckIn)
            .where(col(CheckIn.id) == active.id, col(CheckIn.undone_at).is_(None))
            .values(undone_at=now, undone_by=by.id)
        )
        if done.rowcount != 1:
            return UndoResult(False, ALREADY_UNDONE, facts)
        promoted = _promote(session, ticket, undone=active)
        audit.record(
            session,
            "ticket.admission_undone",
            subject_type="ticket",
            subject_id=ticket.id,
            actor=by,
            now=now,
            event_id=event_id,
            order_id=ticket.order_id,
            data={"device": active.device, "at": active.at.isoformat()}
            | ({"now_standing": promoted.device} if promoted else {}),
        )
        who = facts.name or facts.reference
        message = f"Admission of {who} undone"
        if promoted is not None:
            message += f". {who} is still in: also admitted on another device."
        return UndoResult(True, message, facts, active.id, still_in=promoted is not None)


@dataclass(frozen=True)
class SyncResult:
    """One queued admission's fate: admitted, conflict (the ticket was already in: recorded
    as admitted twice) or not_valid (with a reason). An admission that stands although
    another device's later scan was recorded first says so with reason admitted_twice and
    `later_*`, that scan's details."""

    nonce: str
    result: str
    reason: str = ""
    message: str = ""
    code: str = ""
    first_at: datetime | None = None
    first_by: str = ""
    first_device: str = ""
    later_at: datetime | None = None
    later_by: str = ""
    later_device: str = ""


def _scan_time(raw: object, now: datetime) -> datetime:
    """When the device says it admitted the ticket; believed within the last day only."""
    try:
        at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return now
    if at.tzinfo is None or at > now or at < now - OFFLINE_WINDOW:
        return now
    return at


def _side(device: str, at: datetime, by: str) -> dict[str, str]:
    return {"device": device, "at": at.isoformat(), "by": by}


def _twice(
    session: Session,
    ticket: Ticket,
    *,
    first: CheckIn,
    second: CheckInConflict,
    by: User,
    now: datetime,
) -> None:
    audit.record(
        session,
        "ticket.admitted_twice",
        subject_type="ticket",
        subject_id=ticket.id,
        actor=by,
        now=now,
        event_id=ticket.event_id,
        order_id=ticket.order_id,
        data={
            "first": _side(first.device, first.at, first.by_name),
            "second": _side(second.device, second.at, _user_name(session, second.by_user_id)),
        },
    )


class _Scan(TypedDict):
    """One offline scan, as the conflict records take it."""

    nonce: str
    device: str
    by: User
    at: datetime
    now: datetime


def _record_conflict(
    session: Session,
    *,
    standing: CheckIn,
    ticket: Ticket,
    nonce: str,
    device: str,
    by: User,
    at: datetime,
    now: datetime,
) -> None:
    """This offline admission was scanned after the one that stands: it is the duplicate."""
    assert ticket.id is not None
    conflict = CheckInConflict(
        ticket_id=ticket.id,
        event_id=ticket.event_id,
        nonce=nonce,
        device=device,
        at=at,
        by_user_id=by.id,
        first_checkin_id=standing.id,
        recorded_at=now,
    )
    try:
        with session.begin_nested():
            session.add(conflict)
    except IntegrityError:
        return  # the same queued admission, synced by a concurrent retry
    _twice(session, ticket, first=standing, second=conflict, by=by, now=now)


def _supersede(
    session: Session,
    *,
    standing: CheckIn,
    ticket: Ticket,
    nonce: str,
    device: str,
    by: User,
    at: datetime,
    now: datetime,
) -> CheckIn:
    """This offline admission was scanned before the one that stands, which arrived first:
    this one becomes the admission and the standing one the duplicate (keeping its nonce,
    so that its device's Undo finds it)."""
    later = CheckInConflict(
        ticket_id=standing.ticket_id,
        event_id=standing.event_id,
        nonce=standing.nonce,
        device=standing.device,
        at=standing.at,
        by_user_id=standing.by_user_id,
        recorded_at=now,
    )
    # Out of the way of the one-admission index first; the row goes once nothing points at it.
    session.execute(update(CheckIn).where(col(CheckIn.id) == standing.id).values(undone_at=now))
    checkin = CheckIn(
        ticket_id=standing.ticket_id,
        event_id=standing.event_id,
        at=at,
        by_user_id=by.id,
        by_name=by.name or by.email,
        device=device,
        nonce=nonce,
        offline=True,
    )
    session.add(checkin)
    session.flush()
    session.execute(
        update(CheckInConflict)
        .where(col(CheckInConflict.first_checkin_id) == standing.id)
        .values(first_checkin_id=checkin.id)
    )
    session.delete(standing)
    session.flush()
    later.first_checkin_id = checkin.id
    session.add(later)
    session.flush()
    _twice(session, ticket, first=checkin, second=later, by=by, now=now)
    return checkin


def sync_offline(
    session: Session,
    *,
    event_id: int,
    admissions: list[dict[str, Any]],
    device: str,
    by: User,
    now: datetime,
    key: bytes,
) -> list[SyncResult]:
    """Record admissions a device made while offline, each {code, nonce, at}, each in its
    own transaction. Idempotent per device and nonce: a retried batch changes nothing and
    gets the same results. Of two admissions of one ticket, the one scanned first (by its
    device's clock, no later than now) stands, whichever arrived first; the other is
    recorded as a CheckInConflict (admitted twice)."""
    device = device[:MAX_TEXT]
    results = []
    for item in admissions:
        nonce = str(item.get("nonce") or "")[:MAX_TEXT]
        code = str(item.get("code") or "")[:MAX_TEXT]
        if not nonce or not code:
            results.append(SyncResult(nonce, NOT_VALID, "invalid", "Send a code and a nonce"))
            continue
        at = _scan_time(item.get("at"), now)
        with session.begin():
            outcome = _admit_in(
                session,
                event_id=event_id,
                code=code,
                nonce=nonce,
                device=device,
                by=by,
                at=at,
                now=now,
                key=key,
                offline=True,
            )
            if outcome.result != ALREADY or outcome.replay:
                results.append(_sync_result(nonce, outcome))
                continue
            assert outcome.ticket is not None and outcome.checkin_id is not None
            ticket = session.exec(select(Ticket).where(Ticket.code == outcome.ticket.code)).one()
            standing = session.get(CheckIn, outcome.checkin_id)
            assert standing is not None
            mine: _Scan = {"nonce": nonce, "device": device, "by": by, "at": at, "now": now}
            if at < standing.at:
                later = (standing.at, standing.by_name, standing.device)
                checkin = _supersede(session, standing=standing, ticket=ticket, **mine)
                admitted = _admitted(checkin, outcome.ticket)
                results.append(_sync_result(nonce, admitted, later=later))
            else:
                _record_conflict(session, standing=standing, ticket=ticket, **mine)
                results.append(_sync_result(nonce, outcome))
    return results


def _sync_result(
    nonce: str, outcome: Outcome, *, later: tuple[datetime, str, str] | None = None
) -> SyncResult:
    code = outcome.ticket.code if outcome.ticket else ""
    if outcome.result == ADMITTED and later is not None:
        return SyncResult(
            nonce,
            ADMITTED,
            "admitted_twice",
            "Also admitted later on another device",
            code,
            later_at=later[0],
            later_by=later[1],
            later_device=later[2],
        )
    if outcome.result == ADMITTED:
        return SyncResult(nonce, ADMITTED, code=code)
    if outcome.result == ALREADY:
        return SyncResult(
            nonce,
            CONFLICT,
            "admitted_twice",
            "Also admitted on another device",
            code,
            outcome.checked_in_at,
            outcome.by,
            outcome.device,
        )
    return SyncResult(nonce, NOT_VALID, outcome.reason, outcome.message, code)


def _door_event(*, staff: bool) -> ModelSelect[Event, bool]:
    slug = col(Event.slug) == bindparam("slug")
    if not staff:
        return select(Event, true()).where(slug)
    allowed = users.staff_may_work_door(bindparam("user_id"), Event.id)
    return select(Event, allowed).where(slug, col(Event.status) != EventStatus.DRAFT)


_DOOR_EVENT = {staff: _door_event(staff=staff) for staff in (False, True)}


def event_for_door(session: Session, *, slug: str, user: User) -> tuple[Event | None, bool]:
    """The event the door may open by this slug, and whether `user` may work its door
    (`users.may_work_door`), in one query. Door staff get no drafts (nothing is on sale,
    and the event may never be announced); organisers get any event."""
    staff = user.role != Role.ORGANISER
    row = session.exec(_DOOR_EVENT[staff], params={"slug": slug, "user_id": user.id}).first()
    if row is None:
        return None, False
    return row[0], bool(row[1]) and (user.id is not None or not staff)
