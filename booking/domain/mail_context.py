"""What an outbox email says, read from the database when it is sent (so names are current)."""

from __future__ import annotations

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
        return ""


def load(session: Session, *, outbox_id: int) -> MailContext:
    """The row and everything its email shows. Raises NotFound if the row or order is gone."""
    row = session.get(MailOutbox, outbox_id)
    if row is None or row.order_id is None:
        raise NotFound("No order for this email")
    order = session.get(Order, row.order_id)
    if order is None:
        raise NotFound("No order for this email")
    announcement_id = (row.data or {}).get("announcement_id")
    announcement = (
        session.get(Announcement, announcement_id) if isinstance(announcement_id, int) else None
    )
    message_id = (row.data or {}).get("message_id")
    message = session.get(HolderMessage, message_id) if isinstance(message_id, int) else None
    return build(session, row=row, order=order, announcement=announcement, message=message)


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
