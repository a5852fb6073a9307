"""Tables and status enums. No rules and no queries live here (see booking/domain/)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, refuses naive input (both databases alike)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _dt(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


def _enum(default: StrEnum, index: bool = False) -> Any:
    return Field(default=default, sa_type=String(20), index=index)


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class SpeakerRole(StrEnum):
    CHAIR = "chair"
    SPEAKER = "speaker"


class SpeakerVisibility(StrEnum):
    CONFIRMED = "confirmed"
    HIDDEN = "hidden"


class OrderStatus(StrEnum):
    PENDING = "pending"  # seats held, waiting for payment
    PAID = "paid"
    EXPIRED = "expired"  # the hold lapsed unpaid; seats released
    FAILED = "failed"  # a delayed payment failed; seats released
    CANCELLED = "cancelled"  # cancelled after payment, money returned
    REFUNDED = "refunded"  # paid, then refunded without tickets (e.g. sold out meanwhile)


class TicketStatus(StrEnum):
    HELD = "held"  # counts against capacity while its order's hold is unexpired
    VALID = "valid"
    RELEASED = "released"  # the hold ended without payment
    CANCELLED = "cancelled"  # refunded or cancelled after payment


class Role(StrEnum):
    ORGANISER = "organiser"  # everything
    STAFF = "staff"  # door check-in only


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, sa_column_kwargs={"unique": True})
    name: str = Field(default="", max_length=200)
    password_hash: str = Field(default="", max_length=255)
    role: Role = _enum(Role.STAFF)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    url: str = Field(default="", max_length=500)
    logo: str = Field(default="", max_length=500)


class Venue(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    locality: str = Field(default="London", max_length=100)
    postcode: str = Field(default="", max_length=20)
    map_url: str = Field(default="", max_length=500)


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=120, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=300)
    strapline: str = Field(default="", max_length=500)
    description: str = Field(default="", sa_type=Text)  # Markdown, rendered safely
    starts_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    ends_at: datetime | None = _dt(nullable=True)
    doors_at: datetime | None = _dt(nullable=True)
    venue_id: int | None = Field(default=None, foreign_key="venue.id")
    status: EventStatus = _enum(EventStatus.DRAFT, index=True)
    hero_image: str = Field(default="", max_length=500)
    more_speakers_tba: bool = False
    capacity: int | None = None  # the shared room; None means only per-type caps apply
    currency: str = Field(default="GBP", max_length=3)
    contact_email: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    # Buyers may cancel a paid order for a refund until this many hours before the start.
    buyer_cancel_allowed: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    buyer_cancel_cutoff_hours: int = Field(default=48, sa_column_kwargs={"server_default": "48"})


class EventOrganiser(SQLModel, table=True):
    __tablename__ = "event_organiser"
    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")
    organisation_id: int = Field(foreign_key="organisation.id", primary_key=True)
    position: int = 0


class Speaker(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    affiliation: str = Field(default="", max_length=300)
    bio: str = Field(default="", sa_type=Text)
    photo: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=500)


class EventSpeaker(SQLModel, table=True):
    __tablename__ = "event_speaker"
    __table_args__ = (UniqueConstraint("event_id", "speaker_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    speaker_id: int = Field(foreign_key="speaker.id")
    position: int = 0
    role: SpeakerRole = _enum(SpeakerRole.SPEAKER)
    visibility: SpeakerVisibility = _enum(SpeakerVisibility.CONFIRMED)


class TicketType(SQLModel, table=True):
    __tablename__ = "ticket_type"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=1000)
    price: int = 0  # minor units (pence)
    currency: str = Field(default="GBP", max_length=3)
    capacity: int | None = None  # its own cap inside the room; None means the room's
    sales_start: datetime | None = _dt(nullable=True)
    sales_end: datetime | None = _dt(nullable=True)
    max_per_order: int = 10
    visible: bool = True
    position: int = 0


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    reference: str = Field(max_length=16, sa_column_kwargs={"unique": True})
    token: str = Field(max_length=64, sa_column_kwargs={"unique": True})  # secret order link
    status: OrderStatus = _enum(OrderStatus.PENDING, index=True)
    status_reason: str = Field(default="", max_length=100)
    buyer_name: str = Field(max_length=200)
    buyer_email: str = Field(max_length=254, index=True)
    total: int = 0  # minor units, a snapshot of the prices when the order was made
    currency: str = Field(default="GBP", max_length=3)
    amount_refunded: int = 0
    refund_due: int = 0  # owed back but not yet refunded through Stripe (a job retries it)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    paid_at: datetime | None = _dt(nullable=True)
    stripe_session_id: str | None = Field(
        default=None, max_length=255, sa_column_kwargs={"unique": True}
    )
    stripe_payment_intent: str | None = Field(default=None, max_length=255, index=True)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_line"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    ticket_type_id: int = Field(foreign_key="ticket_type.id")
    quantity: int
    unit_price: int
    name: str = Field(max_length=300)  # the ticket type's name when ordered


class Ticket(SQLModel, table=True):
    __table_args__ = (Index("ix_ticket_event_status", "event_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    event_id: int = Field(foreign_key="event.id")
    ticket_type_id: int = Field(foreign_key="ticket_type.id", index=True)
    code: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    attendee_name: str = Field(default="", max_length=200)
    price: int = 0
    status: TicketStatus = _enum(TicketStatus.HELD)


class OrderHistory(SQLModel, table=True):
    """Each status change of an order, with when and why."""

    __tablename__ = "order_history"
    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    status: str = Field(max_length=20)
    note: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class StripeEvent(SQLModel, table=True):
    """Stripe event ids already processed: the primary key makes each one count once."""

    __tablename__ = "stripe_event"
    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class MailKind(StrEnum):
    CONFIRMATION = "confirmation"  # the order is paid: tickets, QR codes, calendar file
    RESEND = "resend"  # the buyer asked for the confirmation again
    REFUNDED = "refunded"  # refunded by the organiser (e.g. from Stripe's dashboard)
    CANCELLED = "cancelled"  # cancelled by the buyer, money returned
    SOLD_OUT_REFUND = "sold_out_refund"  # paid after the hold lapsed and the seats had gone
    SPEAKER_ANNOUNCED = "speaker_announced"  # a new speaker for an event the buyer booked


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by a sender until claimed_until
    SENT = "sent"  # the SMTP server accepted it
    CAPTURED = "captured"  # no SMTP server configured: rendered and kept here instead
    FAILED = "failed"  # given up: refused for good, or out of attempts (see last_error)
    SKIPPED = "skipped"  # no longer true when its turn came (e.g. tickets for a cancelled order)


class MailOutbox(SQLModel, table=True):
    """An email to send, written in the same transaction as the change that causes it."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: MailKind = _enum(MailKind.CONFIRMATION)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    recipient: str = Field(max_length=254)
    # One row per key: "confirmation:{order_id}" can exist once, whatever calls fulfilment.
    dedupe_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: OutboxStatus = _enum(OutboxStatus.QUEUED)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = _dt(nullable=True)
    last_error: str = Field(default="", max_length=1000)
    message_id: str = Field(default="", max_length=255)  # fixed at the first claim
    subject: str = Field(default="", max_length=300)
    body_text: str = Field(default="", sa_type=Text)
    body_html: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    sent_at: datetime | None = _dt(nullable=True)


class RateBucket(SQLModel, table=True):
    """A fixed-window counter per key (client address, order, login), shared by processes."""

    __tablename__ = "rate_bucket"
    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(sa_type=UTCDateTime())
    count: int = 0


__all__ = [
    "Event",
    "EventOrganiser",
    "MailKind",
    "MailOutbox",
    "OutboxStatus",
    "RateBucket",
    "EventSpeaker",
    "EventStatus",
    "Order",
    "Role",
    "User",
    "OrderHistory",
    "OrderLine",
    "OrderStatus",
    "StripeEvent",
    "Ticket",
    "TicketStatus",
    "Organisation",
    "Speaker",
    "SpeakerRole",
    "SpeakerVisibility",
    "TicketType",
    "UTCDateTime",
    "Venue",
    "utcnow",
]
