"""Messages from the organiser to an event's ticket holders (a venue change, doors moved).

Each send is a HolderMessage row; its emails go through the outbox keyed
"message:{id}:{address}", so one send reaches each buyer address once however many tickets
or orders it holds. Sending the same words to the same people again is refused unless asked
for on purpose (`send_again`), as with speaker announcements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, inputs, mail_context, outbox
from booking.domain.announcements import Holder, Sent, sample_order
from booking.domain.errors import Conflict, NotFound
from booking.models import (
    Event,
    EventStatus,
    HolderMessage,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)

MAX_SUBJECT = 200
MAX_BODY = 5000
EVERYONE = "all"


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str
    ticket_type_id: int | None  # None: every ticket holder


class AlreadySent(Conflict):
    """The same message went to the same people before; `previous` says when and to how many."""

    code = "already_sent"

    def __init__(self, previous: HolderMessage) -> None:
        super().__init__("This message has already been sent")
        self.previous = Sent(previous.created_at, previous.recipients)


def read_form(
    raw: Mapping[str, str], *, ticket_type_ids: set[int]
) -> tuple[Draft | None, dict[str, str]]:
    """The message as typed, or None and messages by field name."""
    errors = inputs.Errors()
    audience = str(raw.get("audience") or EVERYONE)
    type_id = None
    if audience != EVERYONE:
        type_id = inputs.row_id(audience)
        if type_id is None or type_id not in ticket_type_ids:
            errors["audience"] = "Select who to write to from the list"
    subject = errors.take(
        "subject",
        lambda: inputs.text(
            raw.get("subject"), name="Subject", limit=MAX_SUBJECT, missing="Enter a subject line"
        ),
    )
    body = errors.take(
        "body",
        lambda: inputs.paragraphs(
            raw.get("body"), name="Message", limit=MAX_BODY, missing="Enter your message"
        ),
    )
    if errors or subject is None or body is None:
        return None, dict(errors)
    return Draft(subject, body, type_id), {}


def _holding(event_id: int, ticket_type_id: int | None) -> list[Any]:
    valid = [col(Ticket.order_id) == col(Order.id), col(Ticket.status) == TicketStatus.VALID]
    if ticket_type_id is not None:
        valid.append(col(Ticket.ticket_type_id) == ticket_type_id)
    return [Order.event_id == event_id, Order.status == OrderStatus.PAID, exists().where(*valid)]


def count_recipients(session: Session, *, event_id: int, ticket_type_id: int | None) -> int:
    """How many addresses `recipients` would give, counted in the database."""
    address = func.lower(func.trim(col(Order.buyer_email)))
    found = session.exec(
        select(func.count(func.distinct(address))).where(*_holding(event_id, ticket_type_id))
    ).one()
    return int(found)


def recipients(session: Session, *, event_id: int, ticket_type_id: int | None) -> list[Holder]:
    """One entry per buyer address holding a valid ticket (of the type, if one is given),
    with their latest such order, in address order."""
    found_orders = session.exec(
        select(Order).where(*_holding(event_id, ticket_type_id)).order_by(col(Order.id).desc())
    ).all()
    found: dict[str, Holder] = {}
    for order in found_orders:
        address = order.buyer_email.strip().lower()
        found.setdefault(address, Holder(address, order))
    return sorted(found.values(), key=lambda h: h.email)


def history(session: Session, *, event_id: int) -> list[HolderMessage]:
    """The event's messages, newest first."""
    return list(
        session.exec(
            select(HolderMessage)
            .where(HolderMessage.event_id == event_id)
            .order_by(col(HolderMessage.created_at).desc(), col(HolderMessage.id).desc())
        ).all()
    )


def send(
    session: Session, *, event_id: int, draft: Draft, actor: User, now: datetime
) -> HolderMessage:
    """Queue the message to every ticket holder it is for, once per address, unless the same
    message went to the same people before. Raises AlreadySent (see `send_again`),
    NotFound or Conflict (cancelled event, nobody to tell)."""
    with session.begin():
        lock(session, event_id)  # two presses at once: the second sees the first
        for earlier in history(session, event_id=event_id):
            if (earlier.subject, earlier.body, earlier.ticket_type_id) == (
                draft.subject,
                draft.body,
                draft.ticket_type_id,
            ):
                raise AlreadySent(earlier)
        return _send(session, event_id, draft, actor, now)


def send_again(
    session: Session, *, event_id: int, draft: Draft, actor: User, now: datetime
) -> HolderMessage:
    """Queue the message even if the same one was sent before. Raises NotFound or Conflict."""
    with session.begin():
        lock(session, event_id)
        return _send(session, event_id, draft, actor, now)


def _send(
    session: Session, event_id: int, draft: Draft, actor: User, now: datetime
) -> HolderMessage:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event with this number")
    if event.status == EventStatus.CANCELLED:
        raise Conflict("This event has been cancelled; its ticket holders have been told")
    type_name = _type_name(session, event_id, draft.ticket_type_id)
    people = recipients(session, event_id=event_id, ticket_type_id=draft.ticket_type_id)
    if not people:
        raise Conflict("Nobody holds a valid ticket for this yet, so there is no one to write to")
    message = HolderMessage(
        event_id=event_id,
        ticket_type_id=draft.ticket_type_id,
        subject=draft.subject,
        body=draft.body,
        created_by=actor.id,
        created_at=now,
    )
    session.add(message)
    session.flush()
    queued = 0
    for holder in people:
        queued += outbox.queue(
            session,
            kind=MailKind.MESSAGE,
            recipient=holder.order.buyer_email,
            dedupe_key=f"message:{message.id}:{holder.email}",
            now=now,
            order_id=holder.order.id,
            data={"message_id": message.id},
        )
    message.recipients = queued
    session.add(message)
    audit.record(
        session,
        "message.sent",
        subject_type="message",
        subject_id=message.id,
        actor=actor,
        now=now,
        event_id=event_id,
        data={"subject": draft.subject, "to": type_name or "everyone", "recipients": queued},
    )
    return message


def _type_name(session: Session, event_id: int, ticket_type_id: int | None) -> str:
    if ticket_type_id is None:
        return ""
    tt = session.get(TicketType, ticket_type_id)
    if tt is None or tt.event_id != event_id:
        raise NotFound("No such ticket type for this event")
    return tt.name


def preview(
    session: Session, *, event_id: int, draft: Draft, now: datetime
) -> mail_context.MailContext:
    """The email as the first recipient would get it (a made-up buyer if there is none)."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event with this number")
    found = recipients(session, event_id=event_id, ticket_type_id=draft.ticket_type_id)
    order = found[0].order if found else sample_order(event, now=now)
    row = MailOutbox(
        kind=MailKind.MESSAGE, recipient=order.buyer_email, dedupe_key="preview", order_id=order.id
    )
    message = HolderMessage(event_id=event_id, subject=draft.subject, body=draft.body)
    return mail_context.build(session, row=row, order=order, message=message)
