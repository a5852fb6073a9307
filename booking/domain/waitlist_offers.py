"""Offers to the waiting list: free seats held for the next people in line.

An offer IS a hold: a pending order for the entry (`Order.waitlist_entry_id`), expiring
after the event's offer hours, made under the event's lock with the one capacity check
(`inventory.refusal` on the capacity without the queue). So an offered seat counts against
capacity like any hold, and nobody else can buy it. Its email links to the offer page,
which opens Stripe Checkout for that order when its person takes it up.

Offering runs in the sweeper (every event with people waiting) and right after seats come
free here. Two processes offering at once queue on the event's lock; the second reads what
the first wrote, so a seat is offered once. People are served in order of position; one
whose request does not fit what is free is passed over until it does (a smaller request
further down may be served meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, inventory, orders, outbox
from booking.domain.errors import Conflict, NotFound, SoldOut
from booking.domain.inventory import Availability, availability
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderLine,
    OrderStatus,
    TicketType,
    User,
    WaitlistEntry,
    WaitlistStatus,
)

# A Checkout Session must expire between 30 minutes and 24 hours after it is made: an offer
# taken up has at least PAY_AT_LEAST left to pay, and its hold never runs past PAY_AT_MOST.
PAY_AT_LEAST = timedelta(minutes=31)
PAY_AT_MOST = timedelta(hours=23, minutes=55)
MAX_OFFER_HOURS = 24


class OfferClosed(Conflict):
    code = "offer_closed"


def _types(session: Session, event_id: int) -> dict[int, TicketType]:
    rows = session.exec(
        select(TicketType)
        .where(TicketType.event_id == event_id)
        .execution_options(populate_existing=True)
    ).all()
    return {t.id: t for t in rows if t.id is not None}


def request_for(
    entry: WaitlistEntry,
    *,
    event: Event,
    types: dict[int, TicketType],
    avail: Availability,
    now: datetime,
) -> dict[int, int] | None:
    """The seats to offer this entry now ({ticket type id: quantity}), or None when what it
    asks for is not free: its ticket type, or else the first visible type that fits."""
    if entry.ticket_type_id is not None:
        candidates = [types[entry.ticket_type_id]] if entry.ticket_type_id in types else []
    else:
        # Anyone may be offered an ordinary seat; wheelchair spaces go to those who asked.
        candidates = sorted(
            (t for t in types.values() if t.visible and not t.access_place),
            key=lambda t: (t.position, t.id or 0),
        )
    for tt in candidates:
        assert tt.id is not None
        wanted = {tt.id: entry.quantity}
        taken = inventory.places(types, wanted)  # a wheelchair space brings its companion's seat
        if inventory.refusal(avail, event=event, types=types, quantities=taken, now=now) is None:
            return wanted
    return None


def close_lapsed_in(session: Session, *, event_id: int, now: datetime) -> int:
    """Close the event's offers whose hold has ended: taken if paid, else expired (their
    seats already count as free). Call under the event's lock; returns how many closed."""
    rows = session.exec(
        select(WaitlistEntry, Order)
        .join(Order, col(Order.id) == WaitlistEntry.offer_order_id)
        .where(
            WaitlistEntry.event_id == event_id,
            WaitlistEntry.status == WaitlistStatus.OFFERED,
        )
    ).all()
    closed = 0
    for entry, order in rows:
        if order.status == OrderStatus.PAID:
            entry.status = WaitlistStatus.TAKEN
        elif order.status != OrderStatus.PENDING or order.expires_at <= now:
            entry.status = WaitlistStatus.EXPIRED
            audit.record(
                session,
                "waitlist.offer_lapsed",
                subject_type="waitlist_entry",
                subject_id=entry.id,
                actor="system",
                now=now,
                event_id=event_id,
                order_id=order.id,
                data={"email": entry.email, "quantity": entry.quantity},
            )
        else:
            continue
        entry.closed_at = now
        session.add(entry)
        closed += 1
    return closed


def waiting_in_order(session: Session, *, event_id: int) -> list[WaitlistEntry]:
    return list(
        session.exec(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.event_id == event_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
            .order_by(col(WaitlistEntry.position), col(WaitlistEntry.id))
            .execution_options(populate_existing=True)
        ).all()
    )


def _offer_in(
    session: Session,
    *,
    entry: WaitlistEntry,
    event: Event,
    types: dict[int, TicketType],
    quantities: dict[int, int],
    now: datetime,
    actor: User | str,
) -> Order:
    """Hold the seats for the entry and email them the link. Under the event's lock."""
    assert entry.id is not None
    hours = min(max(1, event.waitlist_offer_hours), MAX_OFFER_HOURS)
    order = orders.hold_in(
        session,
        event=event,
        types=types,
        quantities=quantities,
        buyer=orders.Buyer(entry.name, entry.email),
        now=now,
        expires_at=now + timedelta(hours=hours),
        attribution=orders.Attribution(source="waiting list"),
        waitlist_entry_id=entry.id,
    ).order
    assert order.id is not None
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    entry.offer_order_id = order.id
    entry.offers += 1
    session.add(entry)
    outbox.queue(
        session,
        kind=MailKind.WAITLIST_OFFER,
        recipient=order.buyer_email,
        dedupe_key=f"{MailKind.WAITLIST_OFFER}:{order.id}",
        now=now,
        order_id=order.id,
    )
    audit.record(
        session,
        "waitlist.offered",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        actor=actor,
        now=now,
        event_id=event.id,
        order_id=order.id,
        data={
            "email": entry.email,
            "quantity": sum(quantities.values()),
            "until": order.expires_at.isoformat(),
        },
    )
    return order


def offer_free_seats_in(session: Session, *, event_id: int, now: datetime) -> list[Order]:
    """Offer the event's free seats to the people waiting, in order, in the caller's
    transaction: takes the event's lock first. Returns the offers made."""
    lock(session, event_id)
    event = session.get(Event, event_id, populate_existing=True)
    if event is None:
        return []
    close_lapsed_in(session, event_id=event_id, now=now)
    if event.waitlist_paused or event.status != EventStatus.PUBLISHED or event.starts_at <= now:
        return []
    waiting = waiting_in_order(session, event_id=event_id)
    if not waiting:
        return []
    types = _types(session, event_id)
    made: list[Order] = []
    avail = availability(session, event=event, now=now, queue=False)
    for entry in waiting:
        wanted = request_for(entry, event=event, types=types, avail=avail, now=now)
        if wanted is None:
            continue
        made.append(
            _offer_in(
                session,
                entry=entry,
                event=event,
                types=types,
                quantities=wanted,
                now=now,
                actor="system",
            )
        )
        session.flush()
        avail = availability(session, event=event, now=now, queue=False)
        if avail.room_remaining == 0:
            break
    return made


def offer_free_seats(session: Session, *, event_id: int, now: datetime) -> int:
    """`offer_free_seats_in` in its own transaction; returns how many offers were made."""
    with session.begin():
        return len(offer_free_seats_in(session, event_id=event_id, now=now))


def events_to_offer(session: Session, *, now: datetime) -> list[int]:
    """Events whose list has someone waiting or an offer open: the offering job's work."""
    rows = session.exec(
        select(WaitlistEntry.event_id)
        .join(Event, col(Event.id) == WaitlistEntry.event_id)
        .where(
            col(WaitlistEntry.status).in_([WaitlistStatus.WAITING, WaitlistStatus.OFFERED]),
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
        )
        .distinct()
    ).all()
    return sorted(rows)


def offer_now(session: Session, *, entry_id: int, actor: User, now: datetime) -> Order:
    """An organiser offers seats to this person now, ahead of their turn and whether or not
    the automation is paused. Raises NotFound, OfferClosed (not waiting) or SoldOut."""
    with session.begin():
        entry = session.get(WaitlistEntry, entry_id)
        if entry is None:
            raise NotFound("No one on the waiting list with this number")
        lock(session, entry.event_id)
        session.refresh(entry)
        event = session.get(Event, entry.event_id, populate_existing=True)
        assert event is not None
        close_lapsed_in(session, event_id=event.id or 0, now=now)
        if entry.status != WaitlistStatus.WAITING:
            raise OfferClosed(f"{entry.name} is not waiting now ({entry.status})")
        if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
            raise OfferClosed("Tickets for this event are not on sale")
        types = _types(session, entry.event_id)
        avail = availability(session, event=event, now=now, queue=False)
        wanted = request_for(entry, event=event, types=types, avail=avail, now=now)
        if wanted is None:
            raise SoldOut(f"There are not {entry.quantity} free seats to offer {entry.name} now")
        return _offer_in(
            session,
            entry=entry,
            event=event,
            types=types,
            quantities=wanted,
            now=now,
            actor=actor,
        )


# The offer link ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferView:
    order: Order
    event: Event
    lines: list[OrderLine]
    state: str  # "open", "taken" (paid), "lapsed"


def _offer_order(session: Session, token: str) -> Order:
    order = orders.by_token(session, token=token)
    if order.waitlist_entry_id is None:
        raise NotFound("No offer at this address")
    return order


def view(session: Session, *, token: str, now: datetime) -> OfferView:
    """What the offer page shows. Raises NotFound."""
    order = _offer_order(session, token)
    event = session.get(Event, order.event_id)
    assert event is not None
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all())
    if order.status == OrderStatus.PAID:
        state = "taken"
    elif order.status == OrderStatus.PENDING and order.expires_at > now:
        state = "open"
    else:
        state = "lapsed"
    return OfferView(order, event, lines, state)


def take_up(session: Session, *, token: str, now: datetime) -> Order:
    """Its person takes up the offer: the hold is set to end when the Checkout Session made
    next will (between PAY_AT_LEAST and PAY_AT_MOST from now, as Stripe requires). Raises
    NotFound or OfferClosed (taken, or lapsed)."""
    with session.begin():
        found = _offer_order(session, token)
        lock(session, found.event_id)
        order = session.get(Order, found.id, populate_existing=True)
        assert order is not None
        if order.status == OrderStatus.PAID:
            raise OfferClosed("You have already taken up this offer")
        if order.status != OrderStatus.PENDING or order.expires_at <= now:
            raise OfferClosed("This offer has lapsed, so the seats have gone to the next person")
        if order.stripe_session_id is None:
            until = min(max(order.expires_at, now + PAY_AT_LEAST), now + PAY_AT_MOST)
            session.execute(update(Order).where(col(Order.id) == order.id).values(expires_at=until))
            session.refresh(order)
        return order


def decline_in(session: Session, *, entry: WaitlistEntry, now: datetime, note: str) -> bool:
    """End an entry's open offer (its hold is released) in the caller's transaction, under
    the event's lock. True if there was one."""
    if entry.status != WaitlistStatus.OFFERED or entry.offer_order_id is None:
        return False
    order = session.get(Order, entry.offer_order_id)
    if order is None or order.status != OrderStatus.PENDING or order.stripe_session_id:
        return False  # paying now (or done): the hold runs its course
    return orders.release_in(session, order=order, status=OrderStatus.EXPIRED, note=note, now=now)
