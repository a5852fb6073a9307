"""The background steps of cancelling an event (see booking.domain.cancellation), one
transaction each, for the runner in booking.bulk.

The job is leased through `claimed_until`: a claim (or renewal) sets a new lease that also
serves as the runner's token, and every later write is conditional on it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from booking.domain import audit, outbox, refunds
from booking.domain.cancellation import FINISHED, KIND, REASON, REFUND_REASON, open_orders
from booking.domain.errors import NotFound
from booking.models import (
    BulkJob,
    MailKind,
    Order,
    OrderHistory,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
)

LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Lease:
    job_id: int
    token: datetime  # the job's claimed_until while this runner holds it


def has_due(session: Session, *, now: datetime) -> bool:
    """Whether a job waits to be claimed: a cheap read, so an idle runner takes no lock."""
    return session.exec(select(BulkJob.id).where(_due(now)).limit(1)).first() is not None


def _due(now: datetime) -> Any:
    return and_(
        col(BulkJob.kind) == KIND,
        or_(
            col(BulkJob.status) == "queued",
            and_(col(BulkJob.status) == "running", col(BulkJob.claimed_until) < now),
        ),
    )


def claim(session: Session, *, now: datetime, lease: timedelta = LEASE) -> Lease | None:
    """Take the oldest due job (queued, or running with a lapsed lease) until now + lease."""
    with session.begin():
        job_id = session.exec(
            select(BulkJob.id).where(_due(now)).order_by(col(BulkJob.id)).limit(1)
        ).first()
        if job_id is None:
            return None
        token = now + lease
        taken = session.exec(
            update(BulkJob)
            .where(col(BulkJob.id) == job_id, _due(now))
            .values(status="running", claimed_until=token)
        )
        return Lease(job_id, token) if taken.rowcount == 1 else None


def renew(
    session: Session, *, lease: Lease, now: datetime, length: timedelta = LEASE
) -> Lease | None:
    """Extend the lease before the next order; None if another runner has taken the job."""
    token = now + length
    with session.begin():
        result = session.exec(
            update(BulkJob)
            .where(
                col(BulkJob.id) == lease.job_id,
                col(BulkJob.status) == "running",
                col(BulkJob.claimed_until) == lease.token,
            )
            .values(claimed_until=token)
        )
        return Lease(lease.job_id, token) if result.rowcount == 1 else None


def job(session: Session, *, job_id: int) -> BulkJob:
    found = session.get(BulkJob, job_id)
    if found is None:
        raise NotFound("No such job")
    return found


def next_order(session: Session, *, lease: Lease, skip: Collection[int] = ()) -> Order | None:
    found = job(session, job_id=lease.job_id)
    assert found.event_id is not None
    orders = open_orders(session, event_id=found.event_id, skip=skip)
    return orders[0] if orders else None


def cancel_order(session: Session, *, lease: Lease, order_id: int, now: datetime) -> Order:
    """Cancel a paid order and its tickets and, when the job refunds, open its refund in the
    refunds ledger for all that is still refundable (what an organiser's pending refund
    already owes is left to that refund). One transaction; a no-op for what was done before.
    The refund is sent next (booking.bulk), like every other refund."""
    with session.begin():
        found = job(session, job_id=lease.job_id)
        order = refunds.lock_order(session, order_id)
        assert order is not None
        changed = session.exec(
            update(Order)
            .where(col(Order.id) == order_id, col(Order.status) == OrderStatus.PAID)
            .values(status=OrderStatus.CANCELLED, status_reason=REASON)
        )
        session.refresh(order)
        if changed.rowcount == 1:
            session.execute(
                update(Ticket)
                .where(col(Ticket.order_id) == order_id, col(Ticket.status) == TicketStatus.VALID)
                .values(status=TicketStatus.CANCELLED)
            )
            session.add(
                OrderHistory(
                    order_id=order_id,
                    status=OrderStatus.CANCELLED,
                    note="the event was cancelled",
                    at=now,
                )
            )
        refund = None
        if found.options.get("refund") and _refund_still_to_open(session, order):
            refund = refunds.open_in(
                session,
                order=order,
                amount=refunds.refundable(session, order=order),
                reason=REFUND_REASON,
                now=now,
            )
            if refund is not None:
                session.execute(
                    update(Ticket)
                    .where(
                        col(Ticket.order_id) == order_id,
                        col(Ticket.status) == TicketStatus.CANCELLED,
                        col(Ticket.refund_id).is_(None),
                    )
                    .values(refund_id=refund.id)
                )
        if changed.rowcount == 1:
            audit.record(
                session,
                "order.cancelled",
                subject_type="order",
                subject_id=order_id,
                actor=str(found.options.get("actor", "system")),
                now=now,
                event_id=order.event_id,
                order_id=order_id,
                data={
                    "reason": REASON,
                    "refund": {"id": refund.id, "amount": refund.amount} if refund else None,
                },
            )
        session.refresh(order)
        return order


def _refund_still_to_open(session: Session, order: Order) -> bool:
    """Cancelled with the event, and its cancellation refund not opened yet (or refused by
    Stripe, in which case a run started again opens a new one for what is left)."""
    if order.status != OrderStatus.CANCELLED or order.status_reason != REASON:
        return False
    opened = session.exec(
        select(Refund.id).where(
            Refund.order_id == order.id,
            Refund.reason == REFUND_REASON,
            Refund.status != refunds.RefundStatus.FAILED,
        )
    ).first()
    return opened is None


def refund_problem(session: Session, *, order_id: int) -> str:
    """Why the order's money is not back yet after its refunds were sent ("" when it is, or
    when nothing was owed): one still waits for Stripe, or Stripe refused it."""
    order = session.get(Order, order_id)
    assert order is not None
    left = refunds.for_order(session, order_id=order_id)
    if any(r.status == refunds.RefundStatus.PENDING for r in left):
        return "the refund has not been confirmed by Stripe yet"
    refused = [r for r in left if r.reason == REFUND_REASON]
    all_refused = refused and all(r.status == refunds.RefundStatus.FAILED for r in refused)
    if all_refused and order.amount_refunded < order.total:
        return "Stripe refused the refund"
    return ""


def finish_order(session: Session, *, lease: Lease, order_id: int, now: datetime) -> bool:
    """Queue the email and count the order done, once (its refund is in the ledger).

    False, with nothing written, if the lease has passed to another runner.
    """
    with session.begin():
        found = session.exec(
            select(BulkJob).where(BulkJob.id == lease.job_id).with_for_update()
        ).one()
        if found.status != "running" or found.claimed_until != lease.token:
            return False
        order = session.get(Order, order_id)
        assert order is not None and order.id is not None
        done_before = session.exec(
            select(OrderHistory.id).where(
                OrderHistory.order_id == order_id, OrderHistory.note == FINISHED
            )
        ).first()
        if done_before is not None:
            return True
        session.add(OrderHistory(order_id=order_id, status=order.status, note=FINISHED, at=now))
        if found.options.get("email"):
            outbox.queue(
                session,
                kind=MailKind.EVENT_CANCELLED,
                recipient=order.buyer_email,
                dedupe_key=f"event_cancelled:{order.id}",
                now=now,
                order_id=order.id,
                data={"note": str(found.options.get("note", ""))},
            )
        found.done += 1
        found.total = max(found.total, found.done)
        session.add(found)
    return True


def fail(session: Session, *, lease: Lease, now: datetime, error: str) -> None:
    """End the run with some orders left (e.g. a refund Stripe refused); they stay open."""
    _end(session, lease, now, status="failed", error=error)


def complete(session: Session, *, lease: Lease, now: datetime) -> None:
    _end(session, lease, now, status="done", error="")


def _end(session: Session, lease: Lease, now: datetime, *, status: str, error: str) -> None:
    with session.begin():
        session.execute(
            update(BulkJob)
            .where(col(BulkJob.id) == lease.job_id, col(BulkJob.claimed_until) == lease.token)
            .values(status=status, error=error[:1000], finished_at=now, claimed_until=None)
        )
