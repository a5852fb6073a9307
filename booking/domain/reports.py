"""Numbers for an event's dashboard, and its attendee list page by page for exports.

Money is in minor units. "Sold" means valid tickets; "held" means tickets in unpaid orders
whose hold has not run out (both count against capacity, counted by the one predicate in
booking.domain.inventory, and what is left is its `Availability`, as a sale sees it).
Gross revenue is what every paid order took (later cancelled or refunded ones included);
refunded is what has gone back through Stripe; net is the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from booking.domain import access_needs, inventory
from booking.domain.errors import NotFound
from booking.domain.inventory import Availability
from booking.domain.orders import MISMATCH
from booking.models import (
    CheckIn,
    Event,
    Order,
    OrderStatus,
    PromoLink,
    PromoVisit,
    Ticket,
    TicketStatus,
    TicketType,
)

WAS_PAID = (OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.REFUNDED)
SOLD = (TicketStatus.VALID, TicketStatus.CANCELLED)  # every ticket a paid order got
MAX_DAYS = 366


@dataclass(frozen=True)
class Capacity:
    label: str
    capacity: int | None
    sold: int
    held: int
    remaining: int | None


@dataclass(frozen=True)
class Revenue:
    gross: int
    refunded: int
    refunding: int  # owed back, on its way through Stripe
    currency: str

    @property
    def net(self) -> int:
        return self.gross - self.refunded


@dataclass(frozen=True)
class Day:
    day: date
    tickets: int
    revenue: int


@dataclass(frozen=True)
class PromoLine:
    link: PromoLink
    visits: int  # human visits (bots left out)
    orders: int  # paid orders that came through the link
    tickets: int
    revenue: int  # what those orders took, less refunds

    @property
    def conversion(self) -> float | None:
        return self.orders / self.visits if self.visits else None


@dataclass(frozen=True)
class Dashboard:
    event: Event
    types: list[Capacity]
    room: Capacity
    revenue: Revenue
    days: list[Day]
    promos: list[PromoLine]
    checked_in: int
    valid_tickets: int
    complimentary: int = 0  # valid guest-list tickets, counted in `valid_tickets` too
    # Payments that did not match their order, refunded in full (the organiser should know).
    mismatched: list[Order] = field(default_factory=list)


def _capacity(session: Session, event: Event, now: datetime) -> tuple[list[Capacity], Capacity]:
    types = list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event.id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )
    counts = inventory.counts(session, event_id=event.id or 0, now=now)
    sold = {t.id: counts.get((t.id or 0, TicketStatus.VALID), 0) for t in types}
    held = {t.id: counts.get((t.id or 0, TicketStatus.HELD), 0) for t in types}
    avail = Availability(event.capacity, {t.id or 0: sold[t.id] + held[t.id] for t in types})
    lines = [
        Capacity(t.name, t.capacity, sold[t.id], held[t.id], avail.remaining(t)) for t in types
    ]
    room = Capacity(
        "Room",
        event.capacity,
        sum(sold.values()),
        sum(held.values()),
        avail.room_remaining,
    )
    return lines, room


def _revenue(session: Session, event: Event) -> Revenue:
    gross, refunded, due = session.exec(
        select(
            func.coalesce(func.sum(Order.total), 0),
            func.coalesce(func.sum(Order.amount_refunded), 0),
            func.coalesce(func.sum(Order.refund_due), 0),
        ).where(Order.event_id == event.id, col(Order.status).in_(WAS_PAID))
    ).one()
    return Revenue(int(gross), int(refunded), int(due), event.currency)


def _hour(session: Session) -> Any:
    """The UTC hour an order was paid in (London's offset is whole hours)."""
    if session.connection().dialect.name == "postgresql":
        return func.date_trunc("hour", Order.paid_at)
    return func.strftime("%Y-%m-%d %H:00:00", Order.paid_at)


def _as_utc(value: object) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def sales_by_day(session: Session, *, event_id: int, zone: ZoneInfo) -> list[Day]:
    """Tickets sold and money taken per local day, from the first sale to the last, with
    the days between filled with zeros (at most MAX_DAYS, the latest ones)."""
    hour = _hour(session).label("hour")
    paid = and_(
        col(Order.event_id) == event_id,
        col(Order.paid_at).is_not(None),
        col(Order.complimentary).is_(False),
    )
    money = session.exec(select(hour, func.sum(Order.total)).where(paid).group_by(hour)).all()
    sold = session.exec(
        select(hour, func.count(col(Ticket.id)))
        .join(Ticket, col(Ticket.order_id) == Order.id)
        .where(paid, col(Ticket.status).in_(SOLD))
        .group_by(hour)
    ).all()
    per_day: dict[date, list[int]] = {}
    for rows, slot in ((sold, 0), (money, 1)):
        for when, value in rows:
            day = _as_utc(when).astimezone(zone).date()
            per_day.setdefault(day, [0, 0])[slot] += int(value or 0)
    if not per_day:
        return []
    last = max(per_day)
    first = max(min(per_day), last - timedelta(days=MAX_DAYS - 1))
    span = (last - first).days + 1
    days = [first + timedelta(days=n) for n in range(span)]
    return [Day(d, *per_day.get(d, [0, 0])) for d in days]


def _promos(session: Session, event_id: int) -> list[PromoLine]:
    links = list(
        session.exec(
            select(PromoLink).where(PromoLink.event_id == event_id).order_by(col(PromoLink.id))
        ).all()
    )
    if not links:
        return []
    ids = [link.id for link in links]
    visits = dict(
        session.exec(
            select(PromoVisit.promo_link_id, func.count())
            .where(col(PromoVisit.promo_link_id).in_(ids), col(PromoVisit.bot).is_(False))
            .group_by(col(PromoVisit.promo_link_id))
        ).all()
    )
    paid = and_(col(Order.promo_link_id).in_(ids), col(Order.status) == OrderStatus.PAID)
    orders = {
        link_id: (int(n), int(money))
        for link_id, n, money in session.exec(
            select(
                Order.promo_link_id,
                func.count(),
                func.coalesce(func.sum(Order.total - Order.amount_refunded), 0),
            )
            .where(paid)
            .group_by(col(Order.promo_link_id))
        ).all()
    }
    tickets = dict(
        session.exec(
            select(Order.promo_link_id, func.count(col(Ticket.id)))
            .join(Ticket, col(Ticket.order_id) == Order.id)
            .where(paid, Ticket.status == TicketStatus.VALID)
            .group_by(col(Order.promo_link_id))
        ).all()
    )
    return [
        PromoLine(
            link,
            int(visits.get(link.id, 0)),
            orders.get(link.id, (0, 0))[0],
            int(tickets.get(link.id, 0)),
            orders.get(link.id, (0, 0))[1],
        )
        for link in links
    ]


def get_event(session: Session, *, event_id: int) -> Event:
    """The event, or NotFound."""
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event with this number")
    return event


def dashboard(session: Session, *, event_id: int, now: datetime, zone: ZoneInfo) -> Dashboard:
    """Everything the event's dashboard shows (zeros where nothing happened yet). Raises
    NotFound for an unknown event."""
    event = get_event(session, event_id=event_id)
    types, room = _capacity(session, event, now)
    checked_in = session.exec(
        select(func.count())
        .select_from(CheckIn)
        .where(CheckIn.event_id == event_id, col(CheckIn.undone_at).is_(None))
    ).one()
    complimentary = session.exec(
        select(func.count())
        .select_from(Ticket)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(
            Ticket.event_id == event_id,
            Ticket.status == TicketStatus.VALID,
            col(Order.complimentary).is_(True),
        )
    ).one()
    return Dashboard(
        event=event,
        types=types,
        room=room,
        revenue=_revenue(session, event),
        days=sales_by_day(session, event_id=event_id, zone=zone),
        promos=_promos(session, event_id),
        checked_in=int(checked_in),
        valid_tickets=room.sold,
        complimentary=int(complimentary),
        mismatched=list(
            session.exec(
                select(Order)
                .where(Order.event_id == event_id, Order.status_reason == MISMATCH)
                .order_by(col(Order.id).desc())
                .limit(50)
            ).all()
        ),
    )


# Attendee export -------------------------------------------------------------------------


@dataclass(frozen=True)
class Attendee:
    ticket_id: int
    name: str
    email: str
    ticket_type: str
    code: str
    order_reference: str
    status: str
    checked_in_at: datetime | None
    refunded: bool = False  # cancelled with a refund
    complimentary: bool = False  # from the guest list
    access_needs: str = ""  # the order's access needs as one line (access_needs.Needs.text)

    @property
    def state(self) -> str:
        """ "Valid", "Refunded" or "Cancelled", as the back office says it."""
        if self.status == TicketStatus.VALID:
            return "Valid"
        return "Refunded" if self.refunded else "Cancelled"


def attendees(
    session: Session,
    *,
    event_id: int,
    after: int = 0,
    limit: int = 500,
    statuses: tuple[TicketStatus, ...] = SOLD,
) -> list[Attendee]:
    """The event's issued tickets in `statuses` (valid and cancelled unless told) with ids
    above `after`, in id order: one page of the export, read with a keyset so each page
    costs the same."""
    admitted = and_(col(CheckIn.ticket_id) == Ticket.id, col(CheckIn.undone_at).is_(None))
    rows = session.exec(
        # sqlmodel types select() for at most four columns.
        select(  # type: ignore[call-overload]
            Ticket.id,
            Ticket.attendee_name,
            Order.buyer_email,
            TicketType.name,
            Ticket.code,
            Order.reference,
            Ticket.status,
            CheckIn.at,
            col(Ticket.refund_id).is_not(None),
            Order.complimentary,
            Order.access_needs,
            Order.access_note,
        )
        .join(Order, col(Order.id) == Ticket.order_id)
        .join(TicketType, col(TicketType.id) == Ticket.ticket_type_id)
        .outerjoin(CheckIn, admitted)
        .where(
            Ticket.event_id == event_id,
            col(Ticket.status).in_(statuses),
            col(Ticket.id) > after,
        )
        .order_by(col(Ticket.id))
        .limit(limit)
    ).all()
    return [
        Attendee(
            id_,
            name,
            email,
            type_,
            code,
            ref,
            status,
            at,
            bool(refunded),
            bool(comp),
            access_needs.stored(needs, note).text,
        )
        for id_, name, email, type_, code, ref, status, at, refunded, comp, needs, note in rows
    ]
