"""Refunds as Stripe lists them for an order's charge, brought into the refunds ledger.

Stripe may hold refunds this app never sent: made in Stripe's dashboard. When the app reads
a charge's refunds back (a charge.refunded webhook, or a refund Stripe refused as larger
than what the charge has left), each one gets a succeeded Refund row of its own, keyed by
its Stripe refund id, so it is counted once however often it is read. A refund whose
metadata names one of this app's rows is that row (its answer was lost): it is marked
succeeded, never recorded a second time.

A refund Stripe refused because the charge has less left than it asks for is marked failed
and replaced by one for what is left (under a key of its own: Stripe keeps the refusal
under the old one), taking over its tickets, so the buyer still gets back all they are
owed and never more than the charge.
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
    session: Session, *, order: Order, made: Sequence[StripeRefund], now: datetime
) -> int:
    """Bring the charge's refunds into the ledger, in the caller's transaction with the
    order locked: a row of ours whose answer was lost is marked succeeded, and each refund
    Stripe made that no row knows of gets a succeeded row. Returns how many rows changed."""
    assert order.id is not None
    known = set(
        session.exec(
            select(Refund.stripe_refund_id).where(
                col(Refund.stripe_refund_id).in_([r.id for r in made])
            )
        ).all()
    )
    changed = 0
    for r in made:
        if r.status in GONE or r.id in known:
            continue
        ours = _named(order, r)
        if ours is not None:
            changed += refunds.succeeded_in(
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
        changed += 1
    return changed


def record(
    session: Session,
    *,
    payment_intent: str,
    made: Sequence[StripeRefund],
    reported: int,
    now: datetime,
) -> Order | None:
    """Stripe says the charge of `payment_intent` has had `reported` back in all, by these
    refunds: record them (see `record_in`) and what they add up to. None when no order has
    this payment recorded."""
    with session.begin():
        found = orders.by_payment_intent(session, payment_intent=payment_intent)
        order = refunds.lock_order(session, found.id) if found and found.id else None
        if order is None:
            return None
        record_in(session, order=order, made=made, now=now)
        return orders.reported_in(
            session, order=order, amount_refunded=max(reported, returned(made)), now=now
        )


def replace_refused(
    session: Session,
    *,
    refund_id: int,
    error: str,
    made: Sequence[StripeRefund],
    left: int,
    now: datetime,
) -> refunds.Outgoing | None:
    """Stripe refused this pending refund as more than its charge has left (`left`, as
    Stripe reports it now, after the refunds `made`): record those refunds, mark this one
    failed and open one for what is left of it in its place. Returns the replacement to
    send; None when nothing is left to send (or the refund was settled meanwhile)."""
    with session.begin():
        refund = session.get(Refund, refund_id, populate_existing=True)
        if refund is None or refund.status != refunds.RefundStatus.PENDING:
            return None
        order = refunds.lock_order(session, refund.order_id)
        assert order is not None and order.id is not None
        record_in(session, order=order, made=made, now=now)
        if not refunds.failed_in(session, refund_id=refund_id, error=error, now=now):
            return None  # it was made after all: `made` named it
        amount = min(refund.amount, left)
        replacement = None
        if amount > 0 and order.stripe_payment_intent:
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
                update(Ticket)
                .where(col(Ticket.refund_id) == refund_id)
                .values(refund_id=replacement.id)
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
                data={"amount": amount, "replaces": refund_id, "asked": refund.amount},
            )
        orders.reported_in(session, order=order, amount_refunded=returned(made), now=now)
        if replacement is None:
            return None
        assert replacement.id is not None
        return refunds.Outgoing(
            refund_id=replacement.id,
            order_id=order.id,
            order_reference=order.reference,
            payment_intent=order.stripe_payment_intent or "",
            amount=replacement.amount,
            idempotency_key=replacement.idempotency_key,
            reason=replacement.reason,
            created_at=replacement.created_at,
        )
