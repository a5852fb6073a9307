"""Questions for the panel: one per ticket, sent with the booking or from the order page,
editable until the event's deadline, then moderated by organisers for the chair.

A question sent on the buy form is saved with the order's first ticket while the order is
still held; like the ticket, it counts only once the order is paid (`live` below), so an
abandoned checkout leaves nothing in the moderation view.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from booking.domain import audit, inputs
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import (
    Event,
    EventStatus,
    Order,
    OrderStatus,
    Question,
    QuestionStatus,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

MAX_LENGTH = 280
MAX_THEME = 60
FIELD = "question"
CONSENT_FIELD = "question_full_name"


class QuestionsClosed(Conflict):
    code = "questions_closed"


@dataclass(frozen=True)
class Asked:
    """A question as typed: the words and whether the asker may be named in full."""

    text: str
    show_full_name: bool


def read_form(raw: Mapping[str, str], *, field: str = FIELD) -> tuple[Asked | None, dict[str, str]]:
    """The question typed in `field` (None when left empty), or messages by field name."""
    errors = inputs.Errors()
    text = errors.take(
        field,
        lambda: inputs.text(raw.get(field), name="Your question", limit=MAX_LENGTH),
    )
    if errors:
        return None, dict(errors)
    if not text:
        return None, {}
    consent = raw.get(f"{field}_full_name", raw.get(CONSENT_FIELD)) == "yes"
    return Asked(text, consent), {}


def deadline(event: Event) -> datetime:
    return event.starts_at - timedelta(hours=event.questions_close_hours)


def open_for(event: Event, *, now: datetime) -> bool:
    """Whether ticket holders may send or change questions now."""
    return event.questions_on and event.status == EventStatus.PUBLISHED and now < deadline(event)


def shown_name(full_name: str, *, show_full_name: bool) -> str:
    """The asker as the panel sees them: the first name only unless they agreed otherwise."""
    words = full_name.split()
    if not words:
        return "A ticket holder"
    return " ".join(words) if show_full_name else words[0]


def _first_ticket(session: Session, order_id: int) -> Ticket | None:
    return session.exec(
        select(Ticket).where(Ticket.order_id == order_id).order_by(col(Ticket.id)).limit(1)
    ).first()


def ask_with_order(session: Session, *, order_id: int, asked: Asked, now: datetime) -> bool:
    """Save the buy form's question with the order's first ticket; False if questions are
    closed (the order stands either way)."""
    with session.begin():
        order = session.get(Order, order_id)
        event = session.get(Event, order.event_id) if order else None
        ticket = _first_ticket(session, order_id)
        if order is None or event is None or ticket is None or not open_for(event, now=now):
            return False
        _save(session, order, ticket, asked, now)
        return True


def _save(session: Session, order: Order, ticket: Ticket, asked: Asked, now: datetime) -> Question:
    assert ticket.id is not None and order.id is not None
    question = session.exec(select(Question).where(Question.ticket_id == ticket.id)).first()
    if question is None:
        question = Question(
            ticket_id=ticket.id,
            event_id=order.event_id,
            order_id=order.id,
            text=asked.text,
            created_at=now,
        )
    elif question.text != asked.text:
        question.status = QuestionStatus.SUBMITTED  # changed words are moderated again
    question.text = asked.text
    question.show_full_name = asked.show_full_name
    question.updated_at = now
    session.add(question)
    session.flush()
    return question


def ask(
    session: Session, *, token: str, ticket_id: int, asked: Asked | None, now: datetime
) -> Question | None:
    """Send, change or (with `asked` None) withdraw a ticket's question from the order page.

    Raises NotFound (no such order or ticket), QuestionsClosed (past the deadline, or the
    event takes none) or Conflict (the order is not paid, the ticket not valid)."""
    with session.begin():
        order = session.exec(select(Order).where(Order.token == token)).first()
        ticket = session.get(Ticket, ticket_id)
        if order is None or ticket is None or ticket.order_id != order.id:
            raise NotFound("No such ticket on this order")
        event = session.get(Event, order.event_id)
        assert event is not None
        if not open_for(event, now=now):
            raise QuestionsClosed("Questions for the panel have closed")
        if order.status != OrderStatus.PAID or ticket.status != TicketStatus.VALID:
            raise Conflict("Only a valid ticket can send a question")
        existing = session.exec(select(Question).where(Question.ticket_id == ticket_id)).first()
        if asked is None:
            if existing is not None:
                session.delete(existing)
                audit.record(
                    session,
                    "question.withdrawn",
                    subject_type="question",
                    subject_id=existing.id,
                    actor="buyer",
                    now=now,
                    event_id=event.id,
                    order_id=order.id,
                )
            return None
        action = "question.edited" if existing else "question.asked"
        question = _save(session, order, ticket, asked, now)
        audit.record(
            session,
            action,
            subject_type="question",
            subject_id=question.id,
            actor="buyer",
            now=now,
            event_id=event.id,
            order_id=order.id,
        )
        return question


def _live() -> list[object]:
    """Questions whose ticket still stands on a paid order."""
    return [
        col(Question.ticket_id) == col(Ticket.id),
        col(Ticket.status) == TicketStatus.VALID,
        col(Question.order_id) == col(Order.id),
        col(Order.status) == OrderStatus.PAID,
    ]


def for_order(session: Session, *, order_id: int) -> dict[int, Question]:
    """The order's questions by ticket id."""
    rows = session.exec(select(Question).where(Question.order_id == order_id)).all()
    return {q.ticket_id: q for q in rows}


@dataclass(frozen=True)
class Listed:
    question: Question
    asker: str  # as the panel sees them
    ticket_type: str


def listed(
    session: Session, *, event_id: int, status: QuestionStatus | None = None
) -> list[Listed]:
    """The event's questions for moderation: accepted in the chair's order first, then the
    rest, newest last. `status` keeps one kind."""
    stmt = (
        select(Question, Ticket.attendee_name, Order.buyer_name, TicketType.name)
        .where(Question.event_id == event_id, *_live())  # type: ignore[arg-type]
        .where(col(Ticket.ticket_type_id) == col(TicketType.id))
    )
    if status is not None:
        stmt = stmt.where(Question.status == status)
    found = [
        Listed(q, shown_name(attendee or buyer, show_full_name=q.show_full_name), type_name)
        for q, attendee, buyer, type_name in session.exec(stmt).all()
    ]
    order = {QuestionStatus.ACCEPTED: 0, QuestionStatus.SUBMITTED: 1, QuestionStatus.REJECTED: 2}
    return sorted(
        found,
        key=lambda r: (order[r.question.status], r.question.position, r.question.created_at),
    )


def running_order(session: Session, *, event_id: int) -> list[Listed]:
    """The accepted questions in the chair's order."""
    return listed(session, event_id=event_id, status=QuestionStatus.ACCEPTED)


ACTIONS = ("accept", "reject", "reopen", "star", "unstar", "theme", "up", "down")


def moderate(
    session: Session,
    *,
    event_id: int,
    question_id: int,
    action: str,
    actor: User,
    now: datetime,
    theme: str = "",
) -> Question:
    """Accept, reject, reopen, star, unstar, set the theme of, or move a question up or down
    the running order. Raises NotFound or InvalidInput."""
    if action not in ACTIONS:
        raise InvalidInput({"action": "Choose what to do with the question"})
    with session.begin():
        question = session.get(Question, question_id)
        if question is None or question.event_id != event_id:
            raise NotFound("No such question for this event")
        data: dict[str, object] = {}
        if action in ("accept", "reject", "reopen"):
            question.status = {
                "accept": QuestionStatus.ACCEPTED,
                "reject": QuestionStatus.REJECTED,
                "reopen": QuestionStatus.SUBMITTED,
            }[action]
            if action == "accept":
                question.position = _last_position(session, event_id) + 1
        elif action in ("star", "unstar"):
            question.starred = action == "star"
        elif action == "theme":
            try:
                question.theme = inputs.text(theme, name="Theme", limit=MAX_THEME)
            except ValueError as exc:
                raise InvalidInput({"theme": str(exc)}) from None
            data["theme"] = question.theme
        else:
            _move(session, event_id, question, -1 if action == "up" else 1)
        question.updated_at = now
        session.add(question)
        audit.record(
            session,
            f"question.{_PAST[action]}",
            subject_type="question",
            subject_id=question.id,
            actor=actor,
            now=now,
            event_id=event_id,
            order_id=question.order_id,
            data=data,
        )
        return question


_PAST = {
    "accept": "accepted",
    "reject": "rejected",
    "reopen": "reopened",
    "star": "starred",
    "unstar": "unstarred",
    "up": "moved",
    "down": "moved",
    "theme": "themed",
}


def _last_position(session: Session, event_id: int) -> int:
    accepted = session.exec(
        select(Question.position).where(
            Question.event_id == event_id, Question.status == QuestionStatus.ACCEPTED
        )
    ).all()
    return max(accepted, default=0)


def _move(session: Session, event_id: int, question: Question, step: int) -> None:
    """Swap the question with its neighbour in the running order (positions renumbered)."""
    if question.status != QuestionStatus.ACCEPTED:
        raise InvalidInput({"action": "Only accepted questions have a place in the order"})
    accepted = [r.question for r in running_order(session, event_id=event_id)]
    ids = [q.id for q in accepted]
    if question.id not in ids:
        return
    at = ids.index(question.id)
    to = at + step
    if 0 <= to < len(accepted):
        accepted[at], accepted[to] = accepted[to], accepted[at]
    for n, q in enumerate(accepted, start=1):
        q.position = n
        session.add(q)


# The chair's private link -----------------------------------------------------------------
def chair_token(key: bytes, event: Event) -> str:
    """The secret part of the chair's link, made from the event's nonce ("" when none)."""
    if not event.chair_nonce:
        return ""
    message = f"chair:{event.id}:{event.chair_nonce}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def chair_event(session: Session, *, key: bytes, event_id: int, token: str) -> Event:
    """The event whose chair's link this is. Raises NotFound for any other token."""
    event = session.get(Event, event_id)
    expected = chair_token(key, event) if event is not None else ""
    if event is None or not expected or not hmac.compare_digest(expected, token):
        raise NotFound("This link does not work any more")
    return event


def set_chair_link(
    session: Session, *, event_id: int, on: bool, actor: User, now: datetime
) -> Event:
    """Make a new chair's link (any earlier one stops working) or revoke it."""
    with session.begin():
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound("No event with this number")
        event.chair_nonce = secrets.token_urlsafe(24) if on else ""
        session.add(event)
        audit.record(
            session,
            "chair_link.made" if on else "chair_link.revoked",
            subject_type="event",
            subject_id=event_id,
            actor=actor,
            now=now,
            event_id=event_id,
        )
        return event
