"""The refunds ledger: every refund sent through Stripe is a Refund row, written first.

A refund is opened ("pending") in the same transaction as the change that owes the money,
with an idempotency key of its own, `refund:{order reference}:{refund id}`. It is then sent
to Stripe and marked "succeeded" with Stripe's refund id. A refund whose answer was lost
stays pending and is sent again with the same key, which Stripe answers with the refund it
already made, so the money goes back once. Stripe forgets a key after a day, so before a
refund older than that is sent again, the charge's refunds are listed and one whose metadata
names this refund is adopted instead (booking.checkout.send_refund). Refunds Stripe refuses
for good (the charge was refunded meanwhile, say) are marked "failed" and never sent again.

An order's `amount_refunded` is derived, never added to: the larger of what its succeeded
refunds add up to and what Stripe last reported for the charge (charge.refunded), capped at
the total. `refund_due` is what its pending refunds still owe.

Locking: whoever changes refunds locks the order's row first (`lock_order`), after the
event's capacity lock when it takes both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from booking.domain import audit
from booking.models import Order, Refund

MAX_REASON = 500
# Stripe error codes after which the same request can never succeed.
PERMANENT_ERRORS = frozenset(
    {"charge_already_refunded", "amount_too_large", "charge_not_refundable", "resource_missing"}
)


class RefundStatus(StrEnum):
    PENDING = "pending"  # written, not yet confirmed by Stripe: send (again) with its key
    SUCCEEDED = "succeeded"  # Stripe made the refund (stripe_refund_id)
    FAILED = "failed"  # Stripe refused it for good; nothing was returned


@dataclass(frozen=True)
class Outgoing:
    """What sending a pending refund to Stripe needs."""

    refund_id: int
    order_id: int
    order_reference: str
    payment_intent: str
    amount: int
    idempotency_key: str
    reason: str
    created_at: datetime


def idempotency_key(order: Order, refund_id: int) -> str:
    return f"refund:{order.reference}:{refund_id}"


def lock_order(session: Session, order_id: int) -> Order | None:
    """The order, re-read with its row locked (PostgreSQL; SQLite's write lock is global)."""
    return session.exec(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _sums(session: Session, order_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Refund.status, func.sum(Refund.amount))
        .where(Refund.order_id == order_id)
        .group_by(Refund.status)
    ).all()
    return {str(status): int(total or 0) for status, total in rows}


def sync_in(session: Session, *, order: Order, reported: int = 0) -> None:
    """Derive the order's amount refunded and refund due from its refunds (and from
    `reported`, what Stripe says the charge has had back in all), in the caller's transaction."""
    assert order.id is not None
    sums = _sums(session, order.id)
    succeeded = sums.get(RefundStatus.SUCCEEDED, 0)
    order.amount_refunded = min(order.total, max(order.amount_refunded, succeeded, reported))
    left = order.total - order.amount_refunded
    if sums:
        order.refund_due = max(0, min(sums.get(RefundStatus.PENDING, 0), left))
    else:  # owed before refunds had rows of their own: the refunds job opens one for it
        order.refund_due = max(0, min(order.refund_due, left))
    session.add(order)
    session.flush()


def refundable(session: Session, *, order: Order) -> int:
    """What may still be refunded: the total less what has gone back or is on its way."""
    assert order.id is not None
    sums = _sums(session, order.id)
    back = max(order.amount_refunded, sums.get(RefundStatus.SUCCEEDED, 0))
    return max(0, order.total - back - sums.get(RefundStatus.PENDING, 0))


def open_in(
    session: Session,
    *,
    order: Order,
    amount: int,
    reason: str,
    now: datetime,
    created_by: int | None = None,
) -> Refund | None:
    """Record money owed back, as a pending refund, in the caller's transaction.

    The amount is capped at what is still refundable; None when that leaves nothing, or
    when the order was never paid through Stripe.
    """
    amount = min(amount, refundable(session, order=order))
    if amount <= 0 or not order.stripe_payment_intent:
        return None
    refund = new_in(
        session,
        order,
        amount=amount,
        currency=order.currency,
        reason=reason,
        now=now,
        created_by=created_by,
    )
    sync_in(session, order=order)
    return refund


def open_payment_in(
    session: Session, *, order: Order, amount: int, currency: str, reason: str, now: datetime
) -> Refund | None:
    """Record that a payment which is not the order's (another amount or currency) goes back
    in full: the amount Stripe took, not capped at the order's total. Caller's transaction;
    None when nothing was taken."""
    if amount <= 0 or not order.stripe_payment_intent:
        return None
    refund = new_in(session, order, amount=amount, currency=currency, reason=reason, now=now)
    sync_in(session, order=order)
    return refund


def new_in(
    session: Session,
    order: Order,
    *,
    amount: int,
    currency: str,
    reason: str,
    now: datetime,
    created_by: int | None = None,
) -> Refund:
    """A pending refund row with its own idempotency key, uncapped (callers cap it)."""
    assert order.id is not None
    refund = Refund(
        order_id=order.id,
        amount=amount,
        currency=currency,
        reason=reason[:MAX_REASON],
        status=RefundStatus.PENDING,
        # A placeholder until the row has its id; the key is final before the commit.
        idempotency_key=f"refund:{order.reference}:new:{secrets.token_hex(8)}",
        created_by=created_by,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    assert refund.id is not None
    refund.idempotency_key = idempotency_key(order, refund.id)
    session.add(refund)
    return refund


def _finish(
    session: Session,
    *,
    refund_id: int,
    status: RefundStatus,
    values: dict[str, object],
    action: str,
    now: datetime,
    data: dict[str, object],
    amount: int | None = None,
    reference: str | None = None,
) -> bool:
    """Move a pending refund to `status`, re-derive its order's amounts, audit it, in the
    caller's transaction."""
    refund = session.get(Refund, refund_id, populate_existing=True)
    if refund is None or refund.status != RefundStatus.PENDING:
        return False
    if amount is not None and refund.amount != amount:
        return False
    order = lock_order(session, refund.order_id)
    assert order is not None
    if reference is not None and order.reference != reference:
        return False
    changed = session.execute(
        update(Refund)
        .where(col(Refund.id) == refund_id, col(Refund.status) == RefundStatus.PENDING)
        .values(status=status, **values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(refund)
    before = {"amount_refunded": order.amount_refunded, "refund_due": order.refund_due}
    sync_in(session, order=order)
    after = {"amount_refunded": order.amount_refunded, "refund_due": order.refund_due}
    audit.record(
        session,
        action,
        subject_type="refund",
        subject_id=refund_id,
        actor="system",
        now=now,
        event_id=order.event_id,
        order_id=order.id,
        data={"amount": refund.amount, **data, **audit.changes(before, after)},
    )
    return True


def succeeded_in(
    session: Session,
    *,
    refund_id: int,
    stripe_refund_id: str,
    amount: int,
    now: datetime,
    order_reference: str | None = None,
) -> bool:
    """`mark_succeeded` in the caller's transaction."""
    return _finish(
        session,
        refund_id=refund_id,
        status=RefundStatus.SUCCEEDED,
        values={"stripe_refund_id": stripe_refund_id},
        action="refund.succeeded",
        now=now,
        data={"stripe_refund_id": stripe_refund_id},
        amount=amount,
        reference=order_reference,
    )


def mark_succeeded(
    session: Session,
    *,
    refund_id: int,
    stripe_refund_id: str,
    amount: int,
    now: datetime,
    order_reference: str | None = None,
) -> bool:
    """Stripe made this refund: note its id. False if already noted, or if it is not this
    one (another amount, or another order's reference)."""
    with session.begin():
        return succeeded_in(
            session,
            refund_id=refund_id,
            stripe_refund_id=stripe_refund_id,
            amount=amount,
            now=now,
            order_reference=order_reference,
        )


def failed_in(session: Session, *, refund_id: int, error: str, now: datetime) -> bool:
    """`mark_failed` in the caller's transaction."""
    return _finish(
        session,
        refund_id=refund_id,
        status=RefundStatus.FAILED,
        values={},
        action="refund.failed",
        now=now,
        data={"error": error[:500]},
    )


def mark_failed(session: Session, *, refund_id: int, error: str, now: datetime) -> bool:
    """Stripe refused this refund for good: it will not be sent again."""
    with session.begin():
        return failed_in(session, refund_id=refund_id, error=error, now=now)


def outgoing(session: Session, *, order_id: int | None = None, limit: int = 50) -> list[Outgoing]:
    """Pending refunds to send, oldest first (all, or one order's)."""
    stmt = (
        select(Refund, Order.reference, Order.stripe_payment_intent)
        .join(Order, col(Order.id) == Refund.order_id)
        .where(
            Refund.status == RefundStatus.PENDING,
            col(Order.stripe_payment_intent).is_not(None),
        )
        .order_by(col(Refund.id))
        .limit(limit)
    )
    if order_id is not None:
        stmt = stmt.where(Refund.order_id == order_id)
    return [
        Outgoing(
            refund_id=refund.id,
            order_id=refund.order_id,
            order_reference=reference,
            payment_intent=intent,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            reason=refund.reason,
            created_at=refund.created_at,
        )
        for refund, reference, intent in session.exec(stmt).all()
        if refund.id is not None and intent is not None
    ]


def owed_without_refund(session: Session, *, limit: int = 50) -> list[int]:
    """Orders owing money (refund_due) from before refunds had rows: ids to open one for."""
    has_rows = select(Refund.id).where(Refund.order_id == Order.id).exists()
    return [
        order_id
        for order_id in session.exec(
            select(Order.id)
            .where(
                col(Order.refund_due) > 0,
                col(Order.stripe_payment_intent).is_not(None),
                ~has_rows,
            )
            .limit(limit)
        ).all()
        if order_id is not None
    ]


def open_owed(session: Session, *, order_id: int, now: datetime) -> Refund | None:
    """Turn an order's refund_due into a pending refund (once; None if already done)."""
    with session.begin():
        order = lock_order(session, order_id)
        if order is None or order.refund_due <= 0 or _sums(session, order_id):
            return None
        return open_in(
            session,
            order=order,
            amount=order.refund_due,
            reason=order.status_reason or "owed to the buyer",
            now=now,
        )


def for_order(session: Session, *, order_id: int) -> list[Refund]:
    return list(
        session.exec(select(Refund).where(Refund.order_id == order_id).order_by(col(Refund.id)))
    )
