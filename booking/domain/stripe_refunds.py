"""Refunds as Stripe lists them for an order's charge, brought into the refunds ledger.

Stripe may hold refunds this app never sent: made in Stripe's dashboard. When the app reads
a charge's refunds back (a charge.refunded webhook, or a refund Stripe refused as larger
than what the charge has left), each one gets a succeeded Refund row of its own, keyed by
its Stripe refund id, so it is counted once however often it is read. A refund whose
metadata names one of this app's rows is that row (its answer was lost): it is marked
succeeded, never recorded a second time.

Pending refunds are then fitted to what the charge has left, oldest first: one that no
longer fits could never be made, so it is marked failed and replaced by one for the part
that fits (under a key of its own: a key names one request), taking over its tickets. A
refund Stripe refused as too large is replaced the same way. So the buyer gets back all
they are owed and never more than the charge, and the ledger's succeeded and pending
refunds never add up to more than was paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import update
from sqlmodel import Session, col, select

from booking.domain import audit, orders, refunds
from booking.models import Order, Refund, Ticket

DASHBOARD_REASON = "Refunded in Stripe's dashboard"
GONE = frozenset({"failed", "canceled"})  # refunds that returned nothing
# What Stripe answers when a refund asks for more than the charge has left.
TOO_LARGE = frozenset({"amount_too_large", "charge_already_refunded"})


class StripeRefund(Protocol):
    """A refund as Stripe lists it (booking.payments.Refund)."""

    @property
    def id(self) -> str: ...
    @property
    def amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def metadata(self) -> Mapping[str, str]: ...


def returned(made: Sequence[StripeRefund]) -> int:
    """What these refunds gave back in all (failed and cancelled ones gave nothing)."""
    return sum(r.amount for r in made if r.status not in GONE)


def _named(order: Order, made: StripeRefund) -> int | None:
    """The id of this order's ledger row that the refund's metadata names, if any."""
    ours = made.metadata.get("refund", "")
    if made.metadata.get("order_reference") != order.reference:
        return None
    return int(ours) if ours.isdigit() and len(ours) < 10 else None


def record_in(
    session: Session,
    *,
    order: Order,
    made: Sequence[StripeRefund],
    charged: int,
    now: datetime,
) -> None:
    """Bring the charge's refunds into the ledger, in the caller's transaction with the
    order locked: a row of ours whose answer was lost is marked succeeded, each refund
    Stripe made that no row knows of gets a succeeded row, and pending refunds are cut to
    what the charge (of `charged`) has left (see `_fit`)."""
    _record_made(session, order=order, made=made, now=now)
    _fit(session, order=order, left=charged - returned(made), now=now)


def _record_made(
    session: Session, *, order: Order, made: Sequence[StripeRefund], now: datetime
) -> None:
    assert order.id is not None
    known = set(
        session.exec(
            select(Refund.stripe_refund_id).where(
                col(Refund.stripe_refund_id).in_([r.id for r in made])
            )
        ).all()
    )
    for r in made:
        if r.status in GONE or r.id in known:
            continue
        ours = _named(order, r)
        if ours is not None:
            refunds.succeeded_in(
                session,
                refund_id=ours,
                stripe_refund_id=r.id,
                amount=r.amount,
                now=now,
                order_reference=order.reference,
            )
            continue
        row = refunds.new_in(
            session,
            order,
            amount=r.amount,
            currency=r.currency.upper(),
            reason=DASHBOARD_REASON,
            now=now,
        )
        row.status = refunds.RefundStatus.SUCCEEDED
        row.stripe_refund_id = r.id
        session.add(row)
        session.flush()
        audit.record(
            session,
            "refund.recorded",
            subject_type="refund",
            subject_id=row.id,
            actor="stripe",
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={"amount": r.amount, "stripe_refund_id": r.id},
        )


def _fit(session: Session, *, order: Order, left: int, now: datetime) -> None:
    """Pending refunds, oldest first, within what the charge has `left`: one that no longer
    fits could never be made (refunds only ever take from what is left), so it is marked
    failed and replaced by one for the part that still fits, if any."""
    assert order.id is not None
    pending = [
        r
        for r in refunds.for_order(session, order_id=order.id)
        if r.status == refunds.RefundStatus.PENDING
    ]
    for refund in pending:
        if refund.amount <= left:
            left -= refund.amount
            continue
        assert refund.id is not None
        error = f"superseded: the charge had {max(left, 0)} left"
        replacement = _replace(session, order=order, refund=refund, left=left, error=error, now=now)
        left -= replacement.amount if replacement else 0


def _replace(
    session: Session, *, order: Order, refund: Refund, left: int, error: str, now: datetime
) -> Refund | None:
    """Mark a pending refund failed and open one for what is left of it (at most `left`)
    in its place, taking over its tickets. None when nothing is left to send."""
    assert refund.id is not None and order.id is not None
    if not refunds.failed_in(session, refund_id=refund.id, error=error, now=now):
        return None
    amount = min(refund.amount, left)
    if amount <= 0 or not order.stripe_payment_intent:
        return None
    replacement = refunds.new_in(
        session,
        order,
        amount=amount,
        currency=refund.currency,
        reason=refund.reason,
        now=now,
        created_by=refund.created_by,
    )
    session.execute(
        update(Ticket).where(col(Ticket.refund_id) == refund.id).values(refund_id=replacement.id)
    )
    audit.record(
        session,
        "refund.replaced",
        subject_type="refund",
        subject_id=replacement.id,
        actor="system",
        now=now,
        event_id=order.event_id,
        order_id=order.id,
        data={"amount": amount, "replaces": refund.id, "asked": refund.amount},
    )
    refunds.sync_in(session, order=order)
    return replacement


def record(
    session: Session,
    *,
    payment_intent: str,
    made: Sequence[StripeRefund],
    charged: int,
    reported: int,
    now: datetime,
) -> Order | None:
    """Stripe says the charge of `payment_intent` (of `charged`) has had `reported` back in
    all, by these refunds: record them (see `record_in`) and what they add up to. None when
    no order has this payment recorded."""
    with session.begin():
        found = orders.by_payment_intent(session, payment_intent=payment_intent)
        order = refunds.lock_order(session, found.id) if found and found.id else None
        if order is None:
            return None
        record_in(session, order=order, made=made, charged=charged, now=now)
        return orders.reported_in(
            session, order=order, amount_refunded=max(reported, returned(made)), now=now
        )


def replace_refused(
    session: Session,
    *,
    refund_id: int,
    error: str,
    made: Sequence[StripeRefund],
    charged: int,
    now: datetime,
) -> int | None:
    """Stripe refused this pending refund as more than its charge (of `charged`) has left
    after the refunds `made`: record those (see `record_in`), and replace this one by one
    for what is left of it, even if it seems to fit, as its key now holds the refusal.
    Returns the order's id, whose pending refunds are to be sent; None if the refund was
    settled meanwhile."""
    with session.begin():
        refund = session.get(Refund, refund_id, populate_existing=True)
        if refund is None or refund.status != refunds.RefundStatus.PENDING:
            return None
        order = refunds.lock_order(session, refund.order_id)
        assert order is not None and order.id is not None
        _record_made(session, order=order, made=made, now=now)
        session.refresh(refund)
        left = charged - returned(made)
        if refund.status == refunds.RefundStatus.PENDING:  # not made after all
            _replace(session, order=order, refund=refund, left=left, error=error, now=now)
        _fit(session, order=order, left=left, now=now)
        orders.reported_in(session, order=order, amount_refunded=returned(made), now=now)
        return order.id
