"""The waiting list of a sold-out event: joining, leaving, and what organisers do with it.

One entry per email address per event, in order of `position`. While anyone waits, the
seats they want are kept back from sale (`inventory.availability`), so new buyers never
jump the queue; offers are made by booking.domain.waitlist_offers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, catalogue, orders, outbox, tickets, waitlist_offers
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.inventory import SaleState
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderStatus,
    TicketType,
    User,
    WaitlistEntry,
    WaitlistStatus,
)

OPEN = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class NotOpen(Conflict):
    code = "waitlist_not_open"


@dataclass(frozen=True)
class Request:
    name: str
    email: str
    quantity: int
    ticket_type_id: int | None


def is_open(page: catalogue.EventPage) -> bool:
    """Whether the event page offers the waiting list: a ticket type (or the room) is
    sold out, and the event is on sale."""
    if page.is_cancelled or page.event.status != EventStatus.PUBLISHED:
        return False
    return any(o.state == SaleState.SOLD_OUT for o in page.offers)


def choices(page: catalogue.EventPage) -> list[TicketType]:
    """The ticket types one may wait for: the sold-out ones."""
    return [o.ticket_type for o in page.offers if o.state == SaleState.SOLD_OUT]


def max_quantity(page: catalogue.EventPage) -> int:
    return max((t.max_per_order for t in choices(page)), default=1)


def validate(page: catalogue.EventPage, form: dict[str, str]) -> tuple[Request, dict[str, str]]:
    """The form as typed: (request, errors by field)."""
    buyer, errors = orders.validate_buyer(form.get("name", ""), form.get("email", ""))
    sold_out = {t.id: t for t in choices(page)}
    type_text = form.get("ticket_type", "").strip()
    type_id: int | None = None
    if type_text:
        if not type_text.isascii() or not type_text.isdigit() or int(type_text) not in sold_out:
            errors["ticket_type"] = "Select a ticket type from the list"
        else:
            type_id = int(type_text)
    elif len(sold_out) < len(page.offers) and not all(
        o.state == SaleState.SOLD_OUT for o in page.offers if o.ticket_type.visible
    ):
        errors["ticket_type"] = "Select the sold-out ticket type you want to wait for"
    limit = sold_out[type_id].max_per_order if type_id in sold_out else max_quantity(page)
    text = form.get("quantity", "").strip()
    quantity = 0
    if not text:
        errors["quantity"] = "Enter how many tickets you want"
    elif not re.fullmatch(r"[0-9]{1,4}", text) or int(text) < 1:
        errors["quantity"] = "Enter the number of tickets as a whole number, like 2"
    elif int(text) > limit:
        errors["quantity"] = f"Number of tickets must be {limit} or fewer"
    else:
        quantity = int(text)
    return Request(buyer.name, buyer.email.lower(), quantity, type_id), errors


def join(session: Session, *, event_id: int, request: Request, now: datetime) -> WaitlistEntry:
    """Put someone at the end of the list and queue their confirmation email, then offer
    any free seats. One entry per address per event: someone who left, or whose offer
    lapsed, joins again at the end. Raises NotFound, NotOpen or InvalidInput (already on)."""
    with session.begin():
        lock(session, event_id)
        event = session.get(Event, event_id, populate_existing=True)
        if event is None or event.status == EventStatus.DRAFT:
            raise NotFound("No event at this address")
        if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
            raise NotOpen("Tickets for this event are not on sale")
        entry = session.exec(
            select(WaitlistEntry).where(
                WaitlistEntry.event_id == event_id, WaitlistEntry.email == request.email
            )
        ).first()
        if entry is not None and entry.status in OPEN:
            raise InvalidInput({"email": "This email address is already on the waiting list"})
        if entry is not None and _paying(session, entry, now):
            raise InvalidInput(
                {"email": "Seats offered to this email address are still held while it pays"}
            )
        last = session.exec(
            select(func.max(WaitlistEntry.position)).where(WaitlistEntry.event_id == event_id)
        ).one()
        entry = entry or WaitlistEntry(
            event_id=event_id, name=request.name, email=request.email, token=""
        )
        entry.name = request.name
        entry.quantity = request.quantity
        entry.ticket_type_id = request.ticket_type_id
        entry.position = (last or 0) + 1
        entry.status = WaitlistStatus.WAITING
        entry.token = tickets.new_token()
        entry.joined_at = now
        entry.offered_at = entry.offer_order_id = entry.closed_at = None
        session.add(entry)
        session.flush()
        outbox.queue(
            session,
            kind=MailKind.WAITLIST_JOINED,
            recipient=entry.email,
            dedupe_key=f"{MailKind.WAITLIST_JOINED}:{entry.token}",
            now=now,
            data={"entry_id": entry.id, "token": entry.token},
        )
        waitlist_offers.offer_free_seats_in(session, event_id=event_id, now=now)
        session.refresh(entry)
        return entry


def _paying(session: Session, entry: WaitlistEntry, now: datetime) -> bool:
    """Whether the entry's last offer still holds its seats (its person left the list while
    paying for it): one open offer per entry, so they cannot join again until it ends."""
    if entry.offer_order_id is None:
        return False
    order = session.get(Order, entry.offer_order_id, populate_existing=True)
    return order is not None and order.status == OrderStatus.PENDING and order.expires_at > now


def by_token(session: Session, *, token: str) -> WaitlistEntry:
    entry = session.exec(select(WaitlistEntry).where(WaitlistEntry.token == token)).first()
    if entry is None:
        raise NotFound("No place on a waiting list at this address")
    return entry


def leave(session: Session, *, token: str, now: datetime) -> WaitlistEntry:
    """Take someone off the list by their secret link; an open offer they have not started
    paying for is released and goes to the next person. Leaving twice changes nothing."""
    with session.begin():
        found = by_token(session, token=token)
        lock(session, found.event_id)
        entry = session.get(WaitlistEntry, found.id, populate_existing=True)
        assert entry is not None
        if entry.status not in OPEN:
            return entry
        waitlist_offers.decline_in(session, entry=entry, now=now, note="offer declined")
        entry.status = WaitlistStatus.LEFT
        entry.closed_at = now
        session.add(entry)
        audit.record(
            session,
            "waitlist.left",
            subject_type="waitlist_entry",
            subject_id=entry.id,
            actor="buyer",
            now=now,
            event_id=entry.event_id,
            data={"email": entry.email},
        )
        waitlist_offers.offer_free_seats_in(session, event_id=entry.event_id, now=now)
        return entry


@dataclass(frozen=True)
class Place:
    """What someone on the list sees from their link."""

    entry: WaitlistEntry
    event: Event
    place: int | None  # among those waiting, when waiting
    ticket_type: TicketType | None
    offer: Order | None  # the open offer, when offered


def place(session: Session, *, token: str) -> Place:
    """Raises NotFound."""
    entry = by_token(session, token=token)
    event = session.get(Event, entry.event_id)
    assert event is not None
    where = None
    if entry.status == WaitlistStatus.WAITING:
        line = waitlist_offers.waiting_in_order(session, event_id=entry.event_id)
        where = next((n for n, e in enumerate(line, 1) if e.id == entry.id), None)
    tt = session.get(TicketType, entry.ticket_type_id) if entry.ticket_type_id else None
    offer = None
    if entry.status == WaitlistStatus.OFFERED and entry.offer_order_id:
        offer = session.get(Order, entry.offer_order_id)
    return Place(entry, event, where, tt, offer)


# The organiser's view -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    place: int | None  # 1, 2, … among those waiting; None for the others
    entry: WaitlistEntry
    type_name: str
    offer: Order | None

    @property
    def offer_until(self) -> datetime | None:
        return self.offer.expires_at if self.offer else None


def rows(session: Session, *, event_id: int, now: datetime) -> list[Row]:
    """Everyone who joined the event's list: those waiting first, in order, then offers
    open, then the closed ones (taken, expired, left), newest first."""
    names = {
        t.id: t.name
        for t in session.exec(select(TicketType).where(TicketType.event_id == event_id)).all()
    }
    entries = session.exec(
        select(WaitlistEntry)
        .where(WaitlistEntry.event_id == event_id)
        .order_by(col(WaitlistEntry.position), col(WaitlistEntry.id))
    ).all()
    offer_ids = [e.offer_order_id for e in entries if e.offer_order_id]
    offers = {
        o.id: o for o in session.exec(select(Order).where(col(Order.id).in_(offer_ids))).all()
    }
    rank = {WaitlistStatus.WAITING: 0, WaitlistStatus.OFFERED: 1}
    ordered = sorted(
        entries,
        key=lambda e: (
            rank.get(e.status, 2),
            e.position if e.status in OPEN else -(e.closed_at or e.joined_at).timestamp(),
        ),
    )
    out: list[Row] = []
    place = 0
    for entry in ordered:
        waiting = entry.status == WaitlistStatus.WAITING
        place += waiting
        out.append(
            Row(
                place if waiting else None,
                entry,
                names.get(entry.ticket_type_id, "Any") if entry.ticket_type_id else "Any",
                offers.get(entry.offer_order_id) if entry.offer_order_id else None,
            )
        )
    return out


def move_up(session: Session, *, entry_id: int, actor: User, now: datetime) -> WaitlistEntry:
    """Swap someone waiting with the person waiting just ahead of them. Raises NotFound or
    Conflict (not waiting)."""
    with session.begin():
        entry = session.get(WaitlistEntry, entry_id)
        if entry is None:
            raise NotFound("No one on the waiting list with this number")
        lock(session, entry.event_id)
        session.refresh(entry)
        if entry.status != WaitlistStatus.WAITING:
            raise Conflict(f"{entry.name} is not waiting now")
        ahead = session.exec(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.event_id == entry.event_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
                col(WaitlistEntry.position) < entry.position,
            )
            .order_by(col(WaitlistEntry.position).desc())
        ).first()
        if ahead is None:
            return entry
        entry.position, ahead.position = ahead.position, entry.position
        session.add_all([entry, ahead])
        audit.record(
            session,
            "waitlist.moved_up",
            subject_type="waitlist_entry",
            subject_id=entry.id,
            actor=actor,
            now=now,
            event_id=entry.event_id,
            data={"email": entry.email, "passed": ahead.email},
        )
        return entry


def configure(
    session: Session, *, event_id: int, paused: bool, hours_text: str, actor: User, now: datetime
) -> Event:
    """Pause or resume the automatic offers and set how long an offer holds its seats.
    Raises NotFound or InvalidInput."""
    text = hours_text.strip()
    limit = waitlist_offers.MAX_OFFER_HOURS
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= limit:
        raise InvalidInput(
            {"offer_hours": f"Hours to take up an offer must be a whole number from 1 to {limit}"}
        )
    with session.begin():
        lock(session, event_id)
        event = session.get(Event, event_id, populate_existing=True)
        if event is None:
            raise NotFound("No event with this number")
        before = {"paused": event.waitlist_paused, "offer_hours": event.waitlist_offer_hours}
        event.waitlist_paused = paused
        event.waitlist_offer_hours = int(text)
        session.add(event)
        after = {"paused": paused, "offer_hours": int(text)}
        if before != after:
            audit.record(
                session,
                "waitlist.configured",
                subject_type="event",
                subject_id=event_id,
                actor=actor,
                now=now,
                event_id=event_id,
                data=audit.changes(before, after),
            )
        if not paused:
            waitlist_offers.offer_free_seats_in(session, event_id=event_id, now=now)
        return event


EXPORT_HEADER = [
    "Place",
    "Name",
    "Email",
    "Tickets",
    "Ticket type",
    "Status",
    "Joined",
    "Offered",
    "Offer until",
    "Offers made",
]


def export_rows(items: list[Row], *, zone: ZoneInfo) -> list[list[str]]:
    """The list as spreadsheet rows, header first, times in `zone`."""

    def local(when: datetime | None) -> str:
        return "" if when is None else when.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    out = [EXPORT_HEADER]
    for row in items:
        e = row.entry
        out.append(
            [
                str(row.place or ""),
                e.name,
                e.email,
                str(e.quantity),
                row.type_name,
                str(e.status),
                local(e.joined_at),
                local(e.offered_at),
                local(row.offer_until),
                str(e.offers),
            ]
        )
    return out
