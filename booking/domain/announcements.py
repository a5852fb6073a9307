"""Telling ticket holders about a new speaker, through the outbox, once unless asked again.

Each send is an Announcement row; its emails are keyed "announcement:{id}:{email}", so one
press queues one email per buyer address however many tickets or orders they hold, and a
deliberate second send (a new Announcement) gets fresh keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, inputs, mail_context, outbox
from booking.domain.errors import Conflict, NotFound
from booking.domain.speakers import Place, place
from booking.models import (
    Announcement,
    Event,
    EventStatus,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Speaker,
    SpeakerVisibility,
    Ticket,
    TicketStatus,
    User,
)

MAX_NOTE = 2000


@dataclass(frozen=True)
class Sent:
    created_at: datetime
    recipients: int


class AlreadySent(Conflict):
    """This speaker was announced before; `previous` says when and to how many."""

    code = "already_sent"

    def __init__(self, previous: Announcement) -> None:
        super().__init__("This speaker has already been announced")
        # Plain values: the transaction rolls back, and its rows with it.
        self.previous = Sent(previous.created_at, previous.recipients)


@dataclass(frozen=True)
class Holder:
    email: str
    order: Order


def read_form(raw: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    """The subject and note, and any messages by field name."""
    errors = inputs.Errors()
    subject = errors.take(
        "subject",
        lambda: inputs.text(
            raw.get("subject"), name="Subject", limit=200, missing="Enter a subject line"
        ),
    )
    note = errors.take(
        "note", lambda: inputs.paragraphs(raw.get("note"), name="Note", limit=MAX_NOTE)
    )
    return subject or "", note or "", dict(errors)


def holders(session: Session, *, event_id: int) -> list[Holder]:
    """One entry per buyer address holding a valid ticket, with their latest such order."""
    has_valid = exists().where(
        col(Ticket.order_id) == col(Order.id), col(Ticket.status) == TicketStatus.VALID
    )
    orders = session.exec(
        select(Order)
        .where(Order.event_id == event_id, Order.status == OrderStatus.PAID, has_valid)
        .order_by(col(Order.id).desc())
    ).all()
    found: dict[str, Holder] = {}
    for order in orders:
        address = order.buyer_email.strip().lower()
        found.setdefault(address, Holder(address, order))
    return sorted(found.values(), key=lambda h: h.email)


def history(session: Session, *, event_id: int, speaker_id: int) -> list[Announcement]:
    """Earlier announcements of this speaker for this event, newest first."""
    return list(
        session.exec(
            select(Announcement)
            .where(Announcement.event_id == event_id, Announcement.speaker_id == speaker_id)
            .order_by(col(Announcement.created_at).desc(), col(Announcement.id).desc())
        ).all()
    )


def send(
    session: Session,
    *,
    event_id: int,
    speaker_id: int,
    subject: str,
    note: str,
    actor: User,
    now: datetime,
) -> Announcement:
    """Queue the announcement to every ticket holder, if this speaker was never announced.

    Raises AlreadySent (see `send_again`), NotFound or Conflict (cancelled event, hidden
    speaker, nobody to tell).
    """
    with session.begin():
        lock(session, event_id)  # two presses at once: the second sees the first
        previous = history(session, event_id=event_id, speaker_id=speaker_id)
        if previous:
            raise AlreadySent(previous[0])
        return _send(session, event_id, speaker_id, subject, note, actor, now)


def send_again(
    session: Session,
    *,
    event_id: int,
    speaker_id: int,
    subject: str,
    note: str,
    actor: User,
    now: datetime,
) -> Announcement:
    """Queue the announcement to every ticket holder even if it was sent before."""
    with session.begin():
        lock(session, event_id)
        return _send(session, event_id, speaker_id, subject, note, actor, now)


def _send(
    session: Session,
    event_id: int,
    speaker_id: int,
    subject: str,
    note: str,
    actor: User,
    now: datetime,
) -> Announcement:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    speaker = _announceable(session, event, speaker_id)
    recipients = holders(session, event_id=event_id)
    if not recipients:
        raise Conflict("Nobody holds a ticket for this event yet, so there is no one to tell")
    announcement = Announcement(
        event_id=event_id,
        speaker_id=speaker_id,
        subject=subject,
        note=note,
        created_by=actor.id,
        created_at=now,
    )
    session.add(announcement)
    session.flush()
    queued = 0
    for holder in recipients:
        queued += outbox.queue(
            session,
            kind=MailKind.SPEAKER_ANNOUNCED,
            recipient=holder.order.buyer_email,
            dedupe_key=f"announcement:{announcement.id}:{holder.email}",
            now=now,
            order_id=holder.order.id,
            data={"speaker_id": speaker_id, "announcement_id": announcement.id},
        )
    announcement.recipients = queued
    session.add(announcement)
    audit.record(
        session,
        "announcement.sent",
        subject_type="speaker",
        subject_id=speaker_id,
        actor=actor,
        now=now,
        event_id=event_id,
        data={"name": speaker.name, "subject": subject, "recipients": queued},
    )
    return announcement


def _announceable(session: Session, event: Event, speaker_id: int) -> Speaker:
    assert event.id is not None
    item = place(session, event_id=event.id, speaker_id=speaker_id)
    if event.status == EventStatus.CANCELLED:
        raise Conflict("This event has been cancelled")
    if item.place.visibility != SpeakerVisibility.CONFIRMED:
        raise Conflict(f"Show {item.speaker.name} on the event page before announcing them")
    return item.speaker


def preview(
    session: Session, *, event_id: int, speaker_id: int, subject: str, note: str, now: datetime
) -> mail_context.MailContext:
    """The email as the first ticket holder would get it (or a made-up buyer if none yet)."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    speaker = place(session, event_id=event_id, speaker_id=speaker_id).speaker
    found = holders(session, event_id=event_id)
    order = found[0].order if found else sample_order(event, now=now)
    row = MailOutbox(
        kind=MailKind.SPEAKER_ANNOUNCED,
        recipient=order.buyer_email,
        dedupe_key="preview",
        order_id=order.id,
        data={"speaker_id": speaker.id},
    )
    announcement = Announcement(
        event_id=event_id, speaker_id=speaker.id, subject=subject, note=note
    )
    return mail_context.build(session, row=row, order=order, announcement=announcement)


def sample_order(event: Event, *, now: datetime) -> Order:
    """An unsaved order standing in for a buyer, for previews before anyone has booked."""
    assert event.id is not None
    return Order(
        event_id=event.id,
        reference="PREVIEW",
        token="preview",  # noqa: S106 (not a secret: the link in a preview goes nowhere)
        status=OrderStatus.PAID,
        buyer_name="Ada Lovelace",
        buyer_email="ada@example.com",
        expires_at=now,
    )


@dataclass(frozen=True)
class Audience:
    """Who an announcement would reach: ticket holders now, and when the first was sold."""

    holders: int
    first_sale: datetime | None

    def needs_announcing(self, item: Place) -> bool:
        """True for a shown speaker added after tickets went on sale and not yet announced."""
        if self.holders == 0 or item.announced_at is not None:
            return False
        if item.place.visibility != SpeakerVisibility.CONFIRMED:
            return False
        added = item.place.added_at
        return added is not None and self.first_sale is not None and added > self.first_sale


def audience(session: Session, *, event_id: int) -> Audience:
    """How many addresses hold a valid ticket for the event, and when the first sale was paid."""
    count = len(holders(session, event_id=event_id))
    first = session.exec(
        select(func.min(Order.paid_at)).where(
            Order.event_id == event_id, col(Order.paid_at).is_not(None)
        )
    ).one()
    if isinstance(first, datetime) and first.tzinfo is None:
        first = first.replace(tzinfo=UTC)  # func.min bypasses the column type
    return Audience(count, first)
