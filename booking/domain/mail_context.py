"""What an outbox email says, read from the database when it is sent (so names are current)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlmodel import Session, select

from booking.domain import catalogue, reminders
from booking.domain.catalogue import Lineup
from booking.domain.errors import NotFound
from booking.domain.order_changes import TicketLine, numbered_tickets
from booking.models import (
    Announcement,
    Event,
    HolderMessage,
    MailKind,
    MailOutbox,
    Order,
    OrderLine,
    OrderStatus,
    Organisation,
    SiteBrand,
    Speaker,
    Venue,
    WaitlistEntry,
    WaitlistStatus,
)

TICKET_KINDS = (MailKind.CONFIRMATION, MailKind.RESEND)
QR_KINDS = (*TICKET_KINDS, MailKind.REMINDER)  # emails that show each ticket's QR code
REMINDING_KINDS = (MailKind.REMINDER, MailKind.THANK_YOU)


@dataclass(frozen=True)
class MailContext:
    row: MailOutbox
    order: Order
    event: Event
    venue: Venue | None
    organisers: list[Organisation]
    speakers: list[Lineup]
    lines: list[OrderLine]
    tickets: list[TicketLine]  # the valid ones
    speaker: Speaker | None = None  # the one announced, for SPEAKER_ANNOUNCED
    announcement: Announcement | None = None  # its subject and the organiser's note
    brand: SiteBrand | None = None  # the publisher's saved brand, if any
    message: HolderMessage | None = None  # for MESSAGE: the organiser's subject and words
    entry: WaitlistEntry | None = None  # for the waiting-list emails

    @property
    def stale(self) -> str:
        """Why this email no longer applies ("" when it still does)."""
        if self.row.kind in TICKET_KINDS and self.order.status != OrderStatus.PAID:
            return f"the order is {self.order.status} now, so its tickets are not sent"
        if self.row.kind in TICKET_KINDS and not self.tickets:
            return "the order has no valid tickets"
        if self.row.kind == MailKind.SPEAKER_ANNOUNCED and (
            self.speaker is None or self.order.status != OrderStatus.PAID
        ):
            return "the speaker or the order is gone"
        if self.row.kind == MailKind.MESSAGE and self.message is None:
            return "the message is gone"
        if self.row.kind in REMINDING_KINDS:
            return reminders.stale(self.event, self.order, [t.ticket for t in self.tickets])
        if self.row.kind == MailKind.WAITLIST_OFFER and self.order.status != OrderStatus.PENDING:
            return f"the offer's hold is {self.order.status} now"
        if self.row.kind == MailKind.WAITLIST_JOINED and (
            self.entry is None
            or self.entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
            or self.entry.token != (self.row.data or {}).get("token")  # left and joined again
        ):
            return "they are no longer on the waiting list"
        return ""


def load(session: Session, *, outbox_id: int) -> MailContext:
    """The row and everything its email shows. Raises NotFound if the row or order is gone."""
    row = session.get(MailOutbox, outbox_id)
    if row is not None and row.kind == MailKind.WAITLIST_JOINED:
        return _waitlist_joined(session, row)
    if row is None or row.order_id is None:
        raise NotFound("No order for this email")
    order = session.get(Order, row.order_id)
    if order is None:
        raise NotFound("No order for this email")
    if row.kind == MailKind.WAITLIST_OFFER and order.waitlist_entry_id is not None:
        entry = session.get(WaitlistEntry, order.waitlist_entry_id)
        return dataclasses.replace(build(session, row=row, order=order), entry=entry)
    announcement_id = (row.data or {}).get("announcement_id")
    announcement = (
        session.get(Announcement, announcement_id) if isinstance(announcement_id, int) else None
    )
    message_id = (row.data or {}).get("message_id")
    message = session.get(HolderMessage, message_id) if isinstance(message_id, int) else None
    return build(session, row=row, order=order, announcement=announcement, message=message)


def _waitlist_joined(session: Session, row: MailOutbox) -> MailContext:
    """The joining email has no order: it is built around an unsaved one naming the person."""
    entry_id = (row.data or {}).get("entry_id")
    entry = session.get(WaitlistEntry, entry_id) if isinstance(entry_id, int) else None
    if entry is None:
        raise NotFound("No one on the waiting list for this email")
    stand_in = Order(
        event_id=entry.event_id,
        reference="",
        token="",
        buyer_name=entry.name,
        buyer_email=entry.email,
        expires_at=entry.joined_at,
    )
    ctx = build(session, row=row, order=stand_in)
    return dataclasses.replace(ctx, entry=entry)


def build(
    session: Session,
    *,
    row: MailOutbox,
    order: Order,
    announcement: Announcement | None = None,
    message: HolderMessage | None = None,
) -> MailContext:
    """Everything `row`'s email shows about `order` (which may be unsaved, for a preview)."""
    event = session.get(Event, order.event_id)
    assert event is not None and event.id is not None
    venue = session.get(Venue, event.venue_id) if event.venue_id else None
    organisers = catalogue.organisers_of(session, event_id=event.id)
    speakers = catalogue.lineup_of(session, event_id=event.id)
    speaker_id = (row.data or {}).get("speaker_id")
    speaker = (
        catalogue.speaker_on(session, event_id=event.id, speaker_id=speaker_id)
        if isinstance(speaker_id, int)
        else None
    )
    lines: list[OrderLine] = []
    tickets: list[TicketLine] = []
    if order.id is not None:
        lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all())
        tickets = [t for t in numbered_tickets(session, order_id=order.id) if t.valid]
    return MailContext(
        row=row,
        order=order,
        event=event,
        venue=venue,
        organisers=organisers,
        speakers=speakers,
        lines=lines,
        tickets=tickets,
        speaker=speaker,
        announcement=announcement,
        brand=session.get(SiteBrand, 1),
        message=message,
    )
