""" "Can't come? Release my seat": a holder gives tickets back, and the seats go on.

A released ticket becomes RETURNED: it stops working at once (the door says "released") and
its seat is free at once, offered to the waiting list in the same transaction. What
happens to the money depends on the order:

- free: nothing to refund;
- refund: the buyer may cancel (the event's refund rules), so the tickets' share of what
  was paid is refunded now, through the refunds ledger;
- resale: the buyer may not cancel, so the money is refunded only if someone from the
  waiting list takes the seat: when an offer is paid (`offer_taken_in`), the oldest
  released tickets of its ticket type not yet refunded are refunded, one per seat taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, order_changes, order_refunds, orders, outbox, refunds
from booking.domain.errors import Conflict, InvalidInput
from booking.domain.order_changes import TicketLine, numbered_tickets
from booking.domain.tickets import reference
from booking.domain.waitlist_offers import offer_free_seats_in
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)

FREE, REFUND, RESALE = "free", "refund", "resale"


class NotReleasable(Conflict):
    code = "not_releasable"


@dataclass(frozen=True)
class Terms:
    """Whether the order's tickets can be released now, and what happens to the money."""

    allowed: bool
    kind: str  # FREE, REFUND or RESALE
    reason: str = ""  # why not, for people


def terms(order: Order, event: Event, *, now: datetime) -> Terms:
    if order.total == 0:
        kind = FREE
    elif order_changes.cancel_policy(order, event, now=now).allowed:
        kind = REFUND
    else:
        kind = RESALE
    if order.status != OrderStatus.PAID:
        return Terms(False, kind, "Only the tickets of a paid order can be released")
    if event.status == EventStatus.CANCELLED:
        return Terms(False, kind, "The event has been cancelled, so every order is refunded")
    if event.starts_at <= now:
        return Terms(False, kind, "The event has started, so tickets can no longer be released")
    return Terms(True, kind)


@dataclass(frozen=True)
class Quote:
    terms: Terms
    tickets: list[TicketLine]
    amount: int  # refunded now (REFUND) or if the seats are taken (RESALE)


def quote(
    session: Session, *, order: Order, event: Event, numbers: set[int] | None, now: datetime
) -> Quote:
    """Releasing these tickets (by number on the order; None: all that work) now. Raises
    InvalidInput (none chosen, or not working tickets) or NotReleasable."""
    assert order.id is not None
    found = terms(order, event, now=now)
    if not found.allowed:
        raise NotReleasable(found.reason)
    lines = numbered_tickets(session, order_id=order.id)
    valid = [x for x in lines if x.valid]
    chosen = valid if numbers is None else [x for x in valid if x.number in numbers]
    if not chosen or (numbers is not None and len(chosen) != len(numbers)):
        raise InvalidInput({"tickets": "Select the tickets you want to release"})
    amount = 0
    if found.kind != FREE:
        amount = min(
            order_refunds.share(order, lines, chosen), refunds.refundable(session, order=order)
        )
    return Quote(found, chosen, amount)


def quote_for(session: Session, *, token: str, numbers: set[int] | None, now: datetime) -> Quote:
    """`quote` for the order at this token. Raises NotFound, InvalidInput or NotReleasable."""
    order = orders.by_token(session, token=token)
    event = session.get(Event, order.event_id)
    assert event is not None
    return quote(session, order=order, event=event, numbers=numbers, now=now)


def release(session: Session, *, token: str, numbers: set[int] | None, now: datetime) -> Quote:
    """Release tickets of an order at its buyer's request (see the module's notes), then
    offer the seats to the waiting list, in one transaction. Raises NotFound, InvalidInput
    or NotReleasable."""
    with session.begin():
        found = orders.by_token(session, token=token)
        assert found.id is not None
        lock(session, found.event_id)
        order = refunds.lock_order(session, found.id)
        event = session.get(Event, found.event_id, populate_existing=True)
        assert order is not None and event is not None
        order_id = found.id
        q = quote(session, order=order, event=event, numbers=numbers, now=now)
        refund = None
        if q.terms.kind == REFUND:
            refund = refunds.open_in(
                session, order=order, amount=q.amount, reason="Released by the buyer", now=now
            )
        _return_tickets(session, [x.ticket for x in q.tickets], refund)
        left = [x for x in numbered_tickets(session, order_id=order_id) if x.valid]
        refs = [reference(x.ticket.code or "") for x in q.tickets]
        note = f"{len(q.tickets)} ticket(s) released by the buyer"
        if not left and q.terms.kind != RESALE:
            order_changes.cancel_in(
                session, order=order, reason_code="released", note=note, refund=refund, now=now
            )
        else:
            session.add(OrderHistory(order_id=order_id, status=order.status, note=note, at=now))
        if refund is not None:
            _tell_refunded(session, order, q.tickets[0].ticket, refs, refund.amount, now)
        audit.record(
            session,
            "order.seats_released",
            subject_type="order",
            subject_id=order.id,
            actor="buyer",
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={
                "tickets": refs,
                "terms": q.terms.kind,
                "refund": {"id": refund.id, "amount": refund.amount} if refund else None,
            },
        )
        offer_free_seats_in(session, event_id=order.event_id, now=now)
        return q


def _return_tickets(session: Session, chosen: list[Ticket], refund: Refund | None) -> None:
    ids = [t.id for t in chosen]
    changed = session.execute(
        update(Ticket)
        .where(col(Ticket.id).in_(ids), col(Ticket.status) == TicketStatus.VALID)
        .values(status=TicketStatus.RETURNED, refund_id=refund.id if refund else None)
    )
    if changed.rowcount != len(ids):  # type: ignore[attr-defined]
        raise NotReleasable("These tickets have already been released")
    for t in chosen:
        session.refresh(t)


def _tell_refunded(
    session: Session, order: Order, first: Ticket, refs: list[str], amount: int, now: datetime
) -> None:
    assert order.id is not None
    outbox.queue(
        session,
        kind=MailKind.PARTLY_REFUNDED,
        recipient=order.buyer_email,
        dedupe_key=f"partly_refunded:{order.id}:{first.id}",
        now=now,
        order_id=order.id,
        data={"amount": amount, "tickets": refs},
    )


def offer_taken_in(session: Session, *, order: Order, now: datetime) -> int:
    """A waiting-list offer has been paid (under the event's lock, in fulfilment's
    transaction): its entry is taken, and for each seat taken the oldest released ticket of
    the same type still waiting for a buyer is refunded. Returns how many were refunded."""
    assert order.id is not None
    entry = session.get(WaitlistEntry, order.waitlist_entry_id)
    # An old offer paid late closes the entry only if it is still the entry's offer (not
    # once its person has joined again and been offered, or waits for, new seats).
    if (
        entry is not None
        and entry.offer_order_id == order.id
        and entry.status in (WaitlistStatus.OFFERED, WaitlistStatus.EXPIRED)
    ):
        entry.status = WaitlistStatus.TAKEN
        entry.closed_at = now
        session.add(entry)
    done = 0
    for line in session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all():
        waiting = session.exec(
            select(Ticket)
            .join(Order, col(Order.id) == Ticket.order_id)
            .where(
                Ticket.event_id == order.event_id,
                Ticket.ticket_type_id == line.ticket_type_id,
                Ticket.status == TicketStatus.RETURNED,
                col(Ticket.refund_id).is_(None),
                col(Ticket.price) > 0,
                Order.status == OrderStatus.PAID,
            )
            .order_by(col(Ticket.id))
            .limit(line.quantity)
        ).all()
        for ticket in waiting:
            done += _refund_resold(session, ticket, now)
    return done


def _refund_resold(session: Session, ticket: Ticket, now: datetime) -> int:
    seller = refunds.lock_order(session, ticket.order_id)
    assert seller is not None and seller.id is not None
    lines = numbered_tickets(session, order_id=seller.id)
    mine = [x for x in lines if x.ticket.id == ticket.id]
    amount = order_refunds.share(seller, lines, mine)
    refund = refunds.open_in(
        session,
        order=seller,
        amount=amount,
        reason="Released seat taken from the waiting list",
        now=now,
    )
    if refund is None:
        return 0
    ticket.refund_id = refund.id
    session.add(ticket)
    session.add(
        OrderHistory(
            order_id=seller.id,
            status=seller.status,
            note="a released seat was taken from the waiting list: refunding it",
            at=now,
        )
    )
    session.flush()
    refs = [reference(ticket.code or "")]
    _tell_refunded(session, seller, ticket, refs, refund.amount, now)
    rest = numbered_tickets(session, order_id=seller.id)
    if not any(x.valid or (x.ticket.refund_id is None and x.ticket.price > 0) for x in rest):
        order_changes.cancel_in(  # nothing left to use or to refund: the order is over
            session,
            order=seller,
            reason_code="released",
            note="every ticket released and refunded",
            refund=None,
            now=now,
        )
    audit.record(
        session,
        "order.released_seat_refunded",
        subject_type="order",
        subject_id=seller.id,
        actor="system",
        now=now,
        event_id=seller.event_id,
        order_id=seller.id,
        data={"tickets": refs, "refund": {"id": refund.id, "amount": refund.amount}},
    )
    return 1
