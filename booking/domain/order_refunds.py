"""Refunds an organiser makes: some tickets of an order, or the whole order cancelled with
all that is left of its payment. Every one is audited with its actor, before and after.

A refund is written first: the tickets are cancelled (freeing exactly their seats), tied to
a pending Refund row, and the order cancelled when no valid ticket is left, all in one
transaction; the money then goes through Stripe (booking.checkout.send_refunds_for), and
the refunds job sends it again with the same key if Stripe fails (booking.domain.refunds).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from booking.db import lock
from booking.domain import audit, order_changes, outbox, refunds
from booking.domain.errors import Conflict, InvalidInput
from booking.domain.order_changes import TicketLine, numbered_tickets
from booking.domain.order_detail import get_order
from booking.domain.tickets import reference
from booking.models import (
    MailKind,
    Order,
    OrderHistory,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
    User,
)

MAX_REASON = refunds.MAX_REASON


class NotRefundable(Conflict):
    code = "not_refundable"


class AmountChanged(Conflict):
    """The amount to refund is no longer the one the organiser confirmed."""

    code = "amount_changed"


class AlreadyRefunded(Conflict):
    """Asked again for what is already done (a form sent twice): nothing more to do."""

    code = "already_refunded"


@dataclass(frozen=True)
class Quote:
    """A refund as it would be made now: which tickets, how much, and whether the order ends."""

    order: Order
    tickets: list[TicketLine]
    amount: int
    cancels_order: bool
    refund: Refund | None = None  # set once made


def clean_reason(raw: str) -> tuple[str, dict[str, str]]:
    text = "".join(c for c in raw if unicodedata.category(c) != "Cc" or c.isspace())
    reason = " ".join(text.split())
    if not reason:
        return reason, {"reason": "Enter the reason for the refund"}
    if len(reason) > MAX_REASON:
        return reason, {"reason": f"Reason must be {MAX_REASON} characters or fewer"}
    return reason, {}


def _paid(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise AlreadyRefunded("This order has already been cancelled")
    if order.status != OrderStatus.PAID:
        raise NotRefundable("Only a paid order can be refunded")


def _refunded(ticket: Ticket) -> bool:
    """Cancelled, or released by its holder with its money on the way back."""
    return ticket.status == TicketStatus.CANCELLED or (
        ticket.status == TicketStatus.RETURNED and ticket.refund_id is not None
    )


def share(order: Order, lines: list[TicketLine], chosen: list[TicketLine]) -> int:
    """The chosen tickets' part of what the order cost, in proportion to their prices (so a
    discount on the order is shared out), counted cumulatively so that refunding every
    ticket, one at a time or together, adds up to the total exactly."""
    paid = [
        x
        for x in lines
        if x.ticket.status in (TicketStatus.VALID, TicketStatus.CANCELLED, TicketStatus.RETURNED)
    ]
    prices = sum(x.ticket.price for x in paid)
    if prices <= 0:
        return 0
    done = sum(x.ticket.price for x in paid if _refunded(x.ticket))
    now = sum(x.ticket.price for x in chosen)
    return order.total * (done + now) // prices - order.total * done // prices


def quote_tickets(session: Session, *, order_id: int, ticket_ids: set[int]) -> Quote:
    """Refunding these tickets of the order now. Raises NotFound, InvalidInput (none
    chosen, or not the order's), AlreadyRefunded or NotRefundable."""
    order = get_order(session, order_id=order_id)
    if not ticket_ids:
        raise InvalidInput({"tickets": "Select the tickets to refund"})
    lines = numbered_tickets(session, order_id=order_id)
    chosen = [x for x in lines if x.ticket.id in ticket_ids]
    if len(chosen) != len(ticket_ids):
        raise InvalidInput({"tickets": "Select tickets from the list"})
    if all(x.ticket.status == TicketStatus.CANCELLED for x in chosen):
        raise AlreadyRefunded("These tickets have already been refunded")
    _paid(order)
    if any(not x.valid for x in chosen):
        raise NotRefundable("Only valid tickets can be refunded")
    amount = min(share(order, lines, chosen), refunds.refundable(session, order=order))
    remaining = [x for x in lines if x.valid and x.ticket.id not in ticket_ids]
    return Quote(order, chosen, amount, cancels_order=not remaining)


def quote_cancel(session: Session, *, order_id: int) -> Quote:
    """Cancelling the whole order now, refunding all that is left. Raises NotFound,
    AlreadyRefunded or NotRefundable."""
    order = get_order(session, order_id=order_id)
    _paid(order)
    valid = [x for x in numbered_tickets(session, order_id=order_id) if x.valid]
    return Quote(order, valid, refunds.refundable(session, order=order), cancels_order=True)


def _state(order: Order, valid: int) -> dict[str, object]:
    return {
        "status": str(order.status),
        "amount_refunded": order.amount_refunded,
        "refund_due": order.refund_due,
        "valid_tickets": valid,
    }


def _make(
    session: Session, *, quote: Quote, reason: str, actor: User, now: datetime, action: str
) -> Quote:
    """Apply a quote made under the locks: open the refund, cancel its tickets (and the
    order when none is left), record history and audit, queue the email."""
    order = quote.order
    assert order.id is not None
    valid_before = len([x for x in numbered_tickets(session, order_id=order.id) if x.valid])
    before = _state(order, valid_before)
    refund = refunds.open_in(
        session, order=order, amount=quote.amount, reason=reason, now=now, created_by=actor.id
    )
    note = f"{len(quote.tickets)} ticket(s) refunded by {actor.email}: {reason}"[:500]
    if quote.cancels_order:
        done = order_changes.cancel_in(
            session,
            order=order,
            reason_code="organiser_cancelled",
            note=note,
            refund=refund,
            now=now,
        )
        if not done:
            raise AlreadyRefunded("This order has already been cancelled")
        outbox.queue_for_order(session, order=order, kind=MailKind.REFUNDED, now=now)
    else:
        ids = [x.ticket.id for x in quote.tickets]
        changed = session.exec(
            update(Ticket)
            .where(col(Ticket.id).in_(ids), col(Ticket.status) == TicketStatus.VALID)
            .values(status=TicketStatus.CANCELLED, refund_id=refund.id if refund else None)
        )
        if changed.rowcount != len(ids):
            raise AlreadyRefunded("These tickets have already been refunded")
        session.add(OrderHistory(order_id=order.id, status=order.status, note=note, at=now))
    session.flush()
    session.refresh(order)
    after = _state(order, valid_before - len(quote.tickets))
    audit.record(
        session,
        action,
        subject_type="order",
        subject_id=order.id,
        actor=actor,
        now=now,
        event_id=order.event_id,
        order_id=order.id,
        data={
            "reason": reason,
            "tickets": [reference(x.ticket.code or "") for x in quote.tickets],
            "refund": {"id": refund.id, "amount": refund.amount} if refund else None,
            **audit.changes(before, after),
        },
    )
    return Quote(order, quote.tickets, refund.amount if refund else 0, quote.cancels_order, refund)


def _locked(session: Session, order_id: int) -> None:
    order = get_order(session, order_id=order_id)
    lock(session, order.event_id)
    refunds.lock_order(session, order_id)


def _confirmed(quote: Quote, expected_amount: int | None) -> Quote:
    if expected_amount is not None and quote.amount != expected_amount:
        raise AmountChanged("The amount to refund has changed since you checked it")
    return quote


def refund_tickets(
    session: Session,
    *,
    order_id: int,
    ticket_ids: set[int],
    reason: str,
    actor: User,
    now: datetime,
    expected_amount: int | None = None,
) -> Quote:
    """Refund some tickets of a paid order: they stop working, their seats go back on sale
    and their share of the total is refunded; the order is cancelled once no valid ticket
    is left. Raises InvalidInput, NotFound, AlreadyRefunded, NotRefundable, or
    AmountChanged when `expected_amount` (what the organiser confirmed) is no longer right."""
    cleaned, errors = clean_reason(reason)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        return _refund_tickets_in(
            session, order_id, ticket_ids, cleaned, actor, now, expected_amount
        )


def refund_tickets_and_tell_buyer(
    session: Session,
    *,
    order_id: int,
    ticket_ids: set[int],
    reason: str,
    actor: User,
    now: datetime,
    expected_amount: int | None = None,
) -> Quote:
    """`refund_tickets`, and in the same transaction an email to the buyer saying which
    tickets were refunded and how much (a whole cancellation is always emailed)."""
    cleaned, errors = clean_reason(reason)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        made = _refund_tickets_in(
            session, order_id, ticket_ids, cleaned, actor, now, expected_amount
        )
        if not made.cancels_order and made.order.id is not None:
            outbox.queue(
                session,
                kind=MailKind.PARTLY_REFUNDED,
                recipient=made.order.buyer_email,
                # A ticket is refunded once, so the first of them names this refund.
                dedupe_key=f"partly_refunded:{made.order.id}:{made.tickets[0].ticket.id}",
                now=now,
                order_id=made.order.id,
                data={
                    "amount": made.amount,
                    "tickets": [reference(x.ticket.code or "") for x in made.tickets],
                },
            )
        return made


def _refund_tickets_in(
    session: Session,
    order_id: int,
    ticket_ids: set[int],
    reason: str,
    actor: User,
    now: datetime,
    expected_amount: int | None,
) -> Quote:
    _locked(session, order_id)
    quote = _confirmed(
        quote_tickets(session, order_id=order_id, ticket_ids=ticket_ids), expected_amount
    )
    action = "order.cancelled" if quote.cancels_order else "order.tickets_refunded"
    return _make(session, quote=quote, reason=reason, actor=actor, now=now, action=action)


def cancel_order(
    session: Session,
    *,
    order_id: int,
    reason: str,
    actor: User,
    now: datetime,
    expected_amount: int | None = None,
) -> Quote:
    """Cancel a paid order and refund all that is left of what was paid. Raises
    InvalidInput, NotFound, AlreadyRefunded, NotRefundable or AmountChanged."""
    cleaned, errors = clean_reason(reason)
    if errors:
        raise InvalidInput(errors)
    with session.begin():
        _locked(session, order_id)
        quote = _confirmed(quote_cancel(session, order_id=order_id), expected_amount)
        return _make(
            session, quote=quote, reason=cleaned, actor=actor, now=now, action="order.cancelled"
        )
