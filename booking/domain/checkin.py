"""Door check-in: admit a ticket once, say who admitted it when, undo, and sync offline scans.

One admission per ticket is enforced by the database (a unique index on the ticket's
admission that is not undone), so two devices scanning at the same instant cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from booking.domain import audit, tickets
from booking.models import (
    CheckIn,
    CheckInConflict,
    Event,
    Order,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

NOT_VALID = {
    TicketStatus.CANCELLED: "This ticket was cancelled or refunded.",
    TicketStatus.RELEASED: "This ticket was never paid for.",
    TicketStatus.HELD: "This ticket is not paid for yet.",
}


@dataclass(frozen=True)
class TicketFacts:
    code: str
    name: str
    type: str
    reference: str


@dataclass(frozen=True)
class Outcome:
    """admitted / already_checked_in / not_valid, with what staff need to see."""

    result: str
    message: str = ""
    ticket: TicketFacts | None = None
    checked_in_at: datetime | None = None
    by: str = ""
    checkin_id: int | None = None


def _facts(ticket: Ticket, type_name: str) -> TicketFacts:
    assert ticket.code is not None
    return TicketFacts(ticket.code, ticket.attendee_name, type_name, tickets.reference(ticket.code))


def find_ticket(session: Session, *, event_id: int, code: str) -> tuple[Ticket, str] | None:
    """A ticket of this event by its full code or its 8-character reference."""
    code = tickets.normalise(code)
    if len(code) == tickets.CODE_LENGTH:
        where = Ticket.code == code
    elif len(code) == tickets.REFERENCE_LENGTH:
        where = col(Ticket.code).startswith(code)
    else:
        return None
    row = session.exec(
        select(Ticket, TicketType.name)
        .join(TicketType)
        .where(Ticket.event_id == event_id, where)
        .limit(2)
    ).all()
    return (row[0][0], row[0][1]) if len(row) == 1 else None


def _active_checkin(session: Session, ticket_id: int) -> CheckIn | None:
    return session.exec(
        select(CheckIn).where(CheckIn.ticket_id == ticket_id, col(CheckIn.undone_at).is_(None))
    ).first()


def _already(checkin: CheckIn, facts: TicketFacts) -> Outcome:
    return Outcome(
        "already_checked_in",
        "Already checked in",
        facts,
        checked_in_at=checkin.at,
        by=checkin.by_name,
        checkin_id=checkin.id,
    )


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
    """Admit the ticket with this code once. A retried request (same nonce) gets the same
    answer; a forged or mistyped code is refused without a database lookup."""
    clean = tickets.normalise(code)
    if len(clean) == tickets.CODE_LENGTH and not tickets.verify(clean, key):
        return Outcome("not_valid", "This is not a genuine ticket code.")
    found = find_ticket(session, event_id=event_id, code=clean)
    if found is None:
        return Outcome("not_valid", "No ticket for this event has this code.")
    ticket, type_name = found
    facts = _facts(ticket, type_name)
    if ticket.status != TicketStatus.VALID:
        return Outcome("not_valid", NOT_VALID.get(ticket.status, "Not valid"), facts)
    assert ticket.id is not None
    previous = session.exec(select(CheckIn).where(CheckIn.nonce == nonce)).first()
    if previous is not None:  # the same request again (a retry after a lost answer)
        if previous.ticket_id == ticket.id and previous.undone_at is None:
            return Outcome(
                "admitted", "Admitted", facts, previous.at, previous.by_name, previous.id
            )
        return Outcome("not_valid", "This scan was already used for another ticket.")
    existing = _active_checkin(session, ticket.id)
    if existing is not None:
        return _already(existing, facts)
    checkin = CheckIn(
        ticket_id=ticket.id,
        event_id=event_id,
        at=now,
        by_user_id=by.id,
        by_name=by.name or by.email,
        device=device[:100],
        nonce=nonce[:100],
    )
    try:
        with session.begin_nested():
            session.add(checkin)
            session.flush()
    except IntegrityError:
        # Another device admitted it a moment ago: report theirs.
        winner = _active_checkin(session, ticket.id)
        session.commit()
        if winner is None:
            return Outcome("not_valid", "Try again")
        return _already(winner, facts)
    audit.record(
        session,
        "ticket.admitted",
        subject_type="ticket",
        subject_id=ticket.id,
        actor=by,
        now=now,
        event_id=event_id,
        order_id=ticket.order_id,
        data={"device": device[:100]},
    )
    session.commit()
    return Outcome("admitted", "Admitted", facts, checkin.at, checkin.by_name, checkin.id)


def undo(session: Session, *, event_id: int, code: str, by: User, now: datetime) -> bool:
    """Undo the ticket's admission (a mistaken scan). False if it was not admitted."""
    found = find_ticket(session, event_id=event_id, code=code)
    if found is None:
        return False
    ticket, _ = found
    assert ticket.id is not None
    checkin = _active_checkin(session, ticket.id)
    if checkin is None:
        return False
    checkin.undone_at = now
    checkin.undone_by = by.id
    session.add(checkin)
    audit.record(
        session,
        "ticket.admission_undone",
        subject_type="ticket",
        subject_id=ticket.id,
        actor=by,
        now=now,
        event_id=event_id,
        order_id=ticket.order_id,
    )
    session.commit()
    return True


@dataclass(frozen=True)
class SyncResult:
    nonce: str
    result: str  # "admitted", "duplicate" (already synced), "conflict", "not_valid"
    message: str = ""


def sync_offline(
    session: Session,
    *,
    event_id: int,
    admissions: list[dict[str, str]],
    device: str,
    by: User,
    now: datetime,
    key: bytes,
) -> list[SyncResult]:
    """Record admissions a device made offline. Idempotent per nonce; a ticket another
    device admitted first is recorded as a conflict for organisers to see."""
    results = []
    for item in admissions:
        nonce = str(item.get("nonce", ""))[:100]
        code = str(item.get("code", ""))
        try:
            at = datetime.fromisoformat(str(item.get("at", "")).replace("Z", "+00:00"))
        except ValueError:
            at = now
        if at.tzinfo is None or at > now:
            at = now
        if not nonce:
            results.append(SyncResult(nonce, "not_valid", "Missing nonce"))
            continue
        if session.exec(select(CheckInConflict).where(CheckInConflict.nonce == nonce)).first():
            results.append(SyncResult(nonce, "conflict", "Admitted on another device first"))
            continue
        outcome = admit(
            session,
            event_id=event_id,
            code=code,
            nonce=nonce,
            device=device,
            by=by,
            now=at,
            key=key,
        )
        if outcome.result == "admitted":
            results.append(SyncResult(nonce, "admitted"))
        elif outcome.result == "already_checked_in":
            found = find_ticket(session, event_id=event_id, code=code)
            assert found is not None and found[0].id is not None
            try:
                with session.begin_nested():
                    session.add(
                        CheckInConflict(
                            ticket_id=found[0].id,
                            event_id=event_id,
                            nonce=nonce,
                            device=device[:100],
                            at=at,
                            by_user_id=by.id,
                            first_checkin_id=outcome.checkin_id,
                            recorded_at=now,
                        )
                    )
                    session.flush()
                session.commit()
            except IntegrityError:
                session.rollback()
            results.append(SyncResult(nonce, "conflict", "Admitted on another device first"))
        else:
            results.append(SyncResult(nonce, "not_valid", outcome.message))
    return results


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
    """Admitted against expected (valid tickets), per ticket type."""
    expected = dict(
        session.exec(  # type: ignore[call-overload]
            select(Ticket.ticket_type_id, func.count())
            .where(Ticket.event_id == event_id, Ticket.status == TicketStatus.VALID)
            .group_by(Ticket.ticket_type_id)
        ).all()
    )
    admitted = dict(
        session.exec(  # type: ignore[call-overload]
            select(Ticket.ticket_type_id, func.count())
            .join(CheckIn, CheckIn.ticket_id == Ticket.id)
            .where(
                CheckIn.event_id == event_id,
                col(CheckIn.undone_at).is_(None),
                Ticket.status == TicketStatus.VALID,
            )
            .group_by(Ticket.ticket_type_id)
        ).all()
    )
    types = session.exec(
        select(TicketType).where(TicketType.event_id == event_id).order_by(col(TicketType.position))
    ).all()
    conflicts = session.exec(
        select(func.count())
        .select_from(CheckInConflict)
        .where(CheckInConflict.event_id == event_id)
    ).one()
    by_type = [
        TypeCount(t.name, admitted.get(t.id, 0), expected.get(t.id, 0))
        for t in types
        if expected.get(t.id, 0)
    ]
    return Counts(sum(admitted.values()), sum(expected.values()), by_type, int(conflicts))


@dataclass(frozen=True)
class Attendee:
    code: str
    name: str
    type: str
    reference: str
    order_reference: str
    status: str
    checked_in_at: datetime | None


def search(session: Session, *, event_id: int, query: str, limit: int = 20) -> list[Attendee]:
    """Attendees by name, buyer email, order reference or ticket reference."""
    q = query.strip()
    if len(q) < 2:
        return []
    like = f"%{q.lower()}%"
    ref = tickets.normalise(q)
    rows = session.exec(
        select(Ticket, TicketType.name, Order.reference, CheckIn.at)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .join(Order, Order.id == Ticket.order_id)
        .join(
            CheckIn,
            (CheckIn.ticket_id == Ticket.id) & col(CheckIn.undone_at).is_(None),
            isouter=True,
        )
        .where(
            Ticket.event_id == event_id,
            col(Ticket.code).is_not(None),
            or_(
                func.lower(Ticket.attendee_name).like(like),
                func.lower(Order.buyer_email).like(like),
                func.lower(Order.buyer_name).like(like),
                func.replace(Order.reference, "-", "") == ref,
                col(Ticket.code).startswith(ref) if len(ref) >= 4 else False,
            ),
        )
        .order_by(col(Ticket.attendee_name))
        .limit(limit)
    ).all()
    return [
        Attendee(
            t.code or "",
            t.attendee_name,
            type_name,
            tickets.reference(t.code or ""),
            order_ref,
            t.status,
            at,
        )
        for t, type_name, order_ref, at in rows
    ]


def ticket_list(session: Session, *, event_id: int) -> dict[str, dict[str, object]]:
    """Every issued ticket of the event for a device's offline list: code -> facts."""
    rows = session.exec(
        select(Ticket, TicketType.name, CheckIn.at, CheckIn.by_name)
        .join(TicketType, TicketType.id == Ticket.ticket_type_id)
        .join(
            CheckIn,
            (CheckIn.ticket_id == Ticket.id) & col(CheckIn.undone_at).is_(None),
            isouter=True,
        )
        .where(Ticket.event_id == event_id, col(Ticket.code).is_not(None))
    ).all()
    return {
        t.code: {
            "name": t.attendee_name,
            "type": type_name,
            "ref": tickets.reference(t.code),
            "status": t.status,
            "checked_in_at": at.isoformat() if at else None,
            "by": by or "",
        }
        for t, type_name, at, by in rows
        if t.code
    }


def event_for_door(session: Session, *, slug: str) -> Event | None:
    return session.exec(select(Event).where(Event.slug == slug)).first()
