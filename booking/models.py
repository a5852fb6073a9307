"""Tables and status enums. No rules and no queries live here (see booking/domain/)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, String, Text, UniqueConstraint, text
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
    # Given back by its holder ("Can't come? Release my seat"): it stops working and its
    # seat is free at once; refund_id is set once its money is (or is being) returned.
    RETURNED = "returned"


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
    # Access facts, shown on the event page's Access section when set.
    step_free: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    accessible_toilet: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    hearing_loop: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    wheelchair_note: str = Field(
        default="", max_length=300, sa_column_kwargs={"server_default": ""}
    )
    access_note: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})


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
    # A reminder this many hours before the start, and a thank-you after the end.
    reminder_on: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    reminder_hours: int = Field(default=24, sa_column_kwargs={"server_default": "24"})
    thank_you_on: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    thank_you_came: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    thank_you_missed: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    # Ticket holders may send a question for the panel until this many hours before the start.
    questions_on: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    questions_close_hours: int = Field(default=2, sa_column_kwargs={"server_default": "2"})
    # The chair's private link is made from this nonce; "" means there is no link.
    chair_nonce: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    # The waiting list: how long an offer's seats are held, and whether offers go out alone.
    waitlist_offer_hours: int = Field(default=24, sa_column_kwargs={"server_default": "24"})
    waitlist_paused: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


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
    # This event's wording (a speaker talks on Brexit at one debate, on buses at another);
    # copied from the Speaker when they are added, then edited for this event alone.
    affiliation: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    bio: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    added_at: datetime | None = _dt(nullable=True)  # None: on the list before this was kept


class AccessPlace(StrEnum):
    """What kind of place a ticket type sells: an ordinary seat, a wheelchair space, or the
    companion seat that comes free with a wheelchair space."""

    SEAT = ""
    WHEELCHAIR = "wheelchair"
    COMPANION = "companion"


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
    access_place: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    # A wheelchair space with this set comes with a free companion seat (its own ticket).
    companion_free: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


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
    # Where the buyer came from (promo link, utm_* campaign) and any code they used.
    promo_link_id: int | None = Field(default=None, foreign_key="promo_link.id", index=True)
    access_code_id: int | None = Field(default=None, foreign_key="access_code.id", index=True)
    discount_total: int = 0
    source: str = Field(default="", max_length=200)
    # Issued by an organiser without payment (guest list: speakers, press, partners).
    complimentary: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # Seats held for a waiting-list offer: the entry whose offer this order is.
    waitlist_entry_id: int | None = Field(default=None, index=True)
    # The buyer's access needs: keys of booking.domain.access_needs.NEEDS, comma-separated,
    # and a short note in their words.
    access_needs: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    access_note: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})


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
    refund_id: int | None = Field(default=None, foreign_key="refund.id")


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
    PAYMENT_MISMATCH = "payment_mismatch"  # a payment that was not the order's: refunded
    SPEAKER_ANNOUNCED = "speaker_announced"  # a new speaker for an event the buyer booked
    EVENT_CANCELLED = "event_cancelled"  # the organiser cancelled the event; money returned
    INVITATION = "invitation"  # a link for a new back-office user to set a password
    MESSAGE = "message"  # an organiser's message to ticket holders (a venue change)
    PARTLY_REFUNDED = "partly_refunded"  # some tickets of an order refunded, the rest stand
    REMINDER = "reminder"  # the event is soon: tickets, doors, venue (one per order)
    THANK_YOU = "thank_you"  # after the event: one text for those who came, one for the rest
    WAITLIST_JOINED = "waitlist_joined"  # on the waiting list, with a link to leave it
    WAITLIST_OFFER = "waitlist_offer"  # seats held for someone on the list: a link to buy them


class WaitlistStatus(StrEnum):
    WAITING = "waiting"  # in the queue
    OFFERED = "offered"  # seats held for them (their offer order) until the offer lapses
    TAKEN = "taken"  # they bought the offered seats
    EXPIRED = "expired"  # the offer lapsed untaken; it passed to the next person
    LEFT = "left"  # they left the list (or an organiser took them off)


class WaitlistEntry(SQLModel, table=True):
    """Someone waiting for seats at a sold-out event, in the order of `position`."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (UniqueConstraint("event_id", "email"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)  # stored lower case: one entry per address per event
    quantity: int = 1
    ticket_type_id: int | None = Field(default=None, foreign_key="ticket_type.id")
    position: int = 0  # smaller first
    status: WaitlistStatus = _enum(WaitlistStatus.WAITING, index=True)
    token: str = Field(max_length=64, sa_column_kwargs={"unique": True})  # secret leave link
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    offered_at: datetime | None = _dt(nullable=True)
    offer_order_id: int | None = Field(default=None, foreign_key="orders.id")
    offers: int = 0  # how many offers this entry has had
    closed_at: datetime | None = _dt(nullable=True)  # taken, expired or left


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


# Back office: accounts, sessions, audit ---------------------------------------------------


class LoginSession(SQLModel, table=True):
    """A signed-in user's session; the cookie carries a random token, the row its hash."""

    __tablename__ = "login_session"
    id: str = Field(primary_key=True, max_length=64)  # sha256 of the cookie's token
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime(), index=True)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    address: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)


class UserEvent(SQLModel, table=True):
    """Door staff limited to named events; a staff member with no rows may work any door."""

    __tablename__ = "user_event"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    event_id: int = Field(foreign_key="event.id", primary_key=True, ondelete="CASCADE")


class Invitation(SQLModel, table=True):
    """A one-time link for a new user to set their password."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    email: str = Field(max_length=254, index=True)
    role: Role = _enum(Role.STAFF)
    invited_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    expires_at: datetime = Field(sa_type=UTCDateTime())
    used_at: datetime | None = _dt(nullable=True)


class AuditEntry(SQLModel, table=True):
    """Who did what, when, with before/after for money and capacity."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor: str = Field(default="", max_length=254)  # email, or "system", "buyer", "stripe"
    action: str = Field(max_length=100)  # dotted: "ticket_type.capacity_changed"
    subject_type: str = Field(max_length=50)
    subject_id: int | None = None
    event_id: int | None = Field(default=None, index=True)
    order_id: int | None = Field(default=None, index=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Announcement(SQLModel, table=True):
    """A note to every ticket holder of an event, usually about a new speaker."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    speaker_id: int | None = Field(default=None, foreign_key="speaker.id")
    subject: str = Field(max_length=300)
    note: str = Field(default="", sa_type=Text)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    recipients: int = 0


class HolderMessage(SQLModel, table=True):
    """A message an organiser sent to an event's ticket holders (or one ticket type's)."""

    __tablename__ = "holder_message"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    ticket_type_id: int | None = Field(default=None, foreign_key="ticket_type.id")
    subject: str = Field(max_length=300)
    body: str = Field(default="", sa_type=Text)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    recipients: int = 0


class Refund(SQLModel, table=True):
    """Money returned on an order through Stripe, in full or for some tickets."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    amount: int
    currency: str = Field(default="GBP", max_length=3)
    reason: str = Field(default="", max_length=500)
    stripe_refund_id: str | None = Field(
        default=None, max_length=255, sa_column_kwargs={"unique": True}
    )
    status: str = Field(default="pending", max_length=20)  # pending, succeeded, failed
    idempotency_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class BulkJob(SQLModel, table=True):
    """A long task with progress, resumable after an interruption (e.g. cancel an event)."""

    __tablename__ = "bulk_job"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=50)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    status: str = Field(default="queued", max_length=20)  # queued, running, done, failed
    total: int = 0
    done: int = 0
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error: str = Field(default="", max_length=1000)
    claimed_until: datetime | None = _dt(nullable=True)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    finished_at: datetime | None = _dt(nullable=True)


# Door check-in ------------------------------------------------------------------------------


class CheckIn(SQLModel, table=True):
    """An admission at the door. A ticket has at most one that is not undone."""

    __tablename__ = "checkin"
    __table_args__ = (
        Index(
            "ux_checkin_one_admission",
            "ticket_id",
            unique=True,
            sqlite_where=text("undone_at IS NULL"),
            postgresql_where=text("undone_at IS NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(), index=True)
    by_user_id: int | None = Field(default=None, foreign_key="user.id")
    by_name: str = Field(default="", max_length=254)
    device: str = Field(default="", max_length=100)
    nonce: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    offline: bool = False
    undone_at: datetime | None = _dt(nullable=True)
    undone_by: int | None = Field(default=None, foreign_key="user.id")


class CheckInConflict(SQLModel, table=True):
    """An offline admission of a ticket another device had already admitted."""

    __tablename__ = "checkin_conflict"
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    nonce: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    device: str = Field(default="", max_length=100)
    at: datetime = Field(sa_type=UTCDateTime())
    by_user_id: int | None = Field(default=None, foreign_key="user.id")
    first_checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    withdrawn_at: datetime | None = _dt(nullable=True)  # its device undid it
    withdrawn_by: int | None = Field(default=None, foreign_key="user.id")


class DoorDevice(SQLModel, table=True):
    """A phone at the door, by the id it made for itself, with the name staff gave it."""

    __tablename__ = "door_device"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=60)
    named_by: int | None = Field(default=None, foreign_key="user.id")
    named_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


# Questions for the panel -------------------------------------------------------------------


class QuestionStatus(StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Question(SQLModel, table=True):
    """A ticket holder's question for the panel: one per ticket, editable until the deadline."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", sa_column_kwargs={"unique": True})
    event_id: int = Field(foreign_key="event.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    text: str = Field(max_length=1000)
    show_full_name: bool = False  # the asker agreed to be named in full; else first name only
    status: QuestionStatus = _enum(QuestionStatus.SUBMITTED)
    starred: bool = False
    theme: str = Field(default="", max_length=100)
    position: int = 0  # the chair's running order among accepted questions
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


# Promo links and access codes ---------------------------------------------------------------


class PromoLink(SQLModel, table=True):
    """A short tracked link for an article: /t/{code} lands on the event page."""

    __tablename__ = "promo_link"
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})  # stored lower case
    label: str = Field(max_length=300)
    access_code_id: int | None = Field(default=None, foreign_key="access_code.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class PromoVisit(SQLModel, table=True):
    """Visits through a link (or a utm_* campaign), one row per visitor per short period."""

    __tablename__ = "promo_visit"
    __table_args__ = (Index("ix_promo_visit_event_source", "event_id", "source"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id")
    promo_link_id: int | None = Field(default=None, foreign_key="promo_link.id", index=True)
    source: str = Field(default="", max_length=200)  # "link:{code}" or "utm:{source}/{campaign}"
    visitor: str = Field(max_length=64)  # a hash of the visitor cookie
    bot: bool = False
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    dedupe_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})


class AccessCode(SQLModel, table=True):
    """Unlocks a hidden ticket type and/or takes money off, with a use limit and window."""

    __tablename__ = "access_code"
    __table_args__ = (UniqueConstraint("event_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    code: str = Field(max_length=40)  # stored upper case
    label: str = Field(default="", max_length=200)
    unlocks_ticket_type_id: int | None = Field(default=None, foreign_key="ticket_type.id")
    discount_amount: int = 0  # pence off each ticket
    discount_percent: int = 0  # 0-100, off each ticket
    max_uses: int | None = None  # tickets; None means unlimited
    valid_from: datetime | None = _dt(nullable=True)
    valid_until: datetime | None = _dt(nullable=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


__all__ = [
    "AccessCode",
    "Announcement",
    "AuditEntry",
    "BulkJob",
    "CheckIn",
    "ContentVersion",
    "CheckInConflict",
    "HolderMessage",
    "Invitation",
    "LoginSession",
    "PromoLink",
    "PromoVisit",
    "Refund",
    "Event",
    "EventOrganiser",
    "MailKind",
    "MailOutbox",
    "OutboxStatus",
    "RateBucket",
    "EventSpeaker",
    "EventStatus",
    "Order",
    "Question",
    "QuestionStatus",
    "Role",
    "User",
    "UserEvent",
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
    "WaitlistEntry",
    "WaitlistStatus",
    "utcnow",
]


class SiteBrand(SQLModel, table=True):
    """The publisher's brand, set by organisers; one row (id 1). Until it exists the site
    wears the defaults from Settings."""

    __tablename__ = "site_brand"
    id: int | None = Field(default=None, primary_key=True)
    site_name: str = Field(max_length=100)
    logo: str = Field(default="", max_length=300)  # /media/brand/….svg or .png, or ""
    brand_colour: str = Field(max_length=7)  # #rrggbb, behind white text in the header
    link_colour: str = Field(max_length=7)  # #rrggbb, on the white page
    privacy_url: str = Field(default="", max_length=500)
    terms_url: str = Field(default="", max_length=500)
    contact_url: str = Field(default="", max_length=500)  # a web page or mailto: address
    legal_name: str = Field(default="", max_length=200)
    postal_address: str = Field(default="", max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())


class ContentVersion(SQLModel, table=True):
    """One row (id 1) whose counter rises with every committed change to what the public
    pages show (booking.changes); cached pages are keyed on it."""

    __tablename__ = "content_version"
    id: int | None = Field(default=None, primary_key=True)
    version: int = 0
