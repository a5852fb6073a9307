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

from booking.domain import audit, outbox
from booking.domain.cancellation import FINISHED, KIND, REASON, open_orders, owed
from booking.domain.errors import NotFound
from booking.models import (
    BulkJob,
    MailKind,
    Order,
    OrderHistory,
    OrderStatus,
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
        taken = session.execute(
            update(BulkJob)
            .where(col(BulkJob.id) == job_id, _due(now))
            .values(status="running", claimed_until=token)
        )
        return Lease(job_id, token) if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def renew(
    session: Session, *, lease: Lease, now: datetime, length: timedelta = LEASE
) -> Lease | None:
    """Extend the lease before the next order; None if another runner has taken the job."""
    token = now + length
    with session.begin():
        result = session.execute(
            update(BulkJob)
            .where(
                col(BulkJob.id) == lease.job_id,
                col(BulkJob.status) == "running",
                col(BulkJob.claimed_until) == lease.token,
            )
            .values(claimed_until=token)
        )
        return Lease(lease.job_id, token) if result.rowcount == 1 else None  # type: ignore[attr-defined]


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
    """Cancel a paid order and its tickets (no-op if done before); the refund comes next."""
    with session.begin():
        found = job(session, job_id=lease.job_id)
        changed = session.execute(
            update(Order)
            .where(col(Order.id) == order_id, col(Order.status) == OrderStatus.PAID)
            .values(status=OrderStatus.CANCELLED, status_reason=REASON)
        )
        order = session.get(Order, order_id)
        assert order is not None
        if changed.rowcount == 1:  # type: ignore[attr-defined]
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
            audit.record(
                session,
                "order.cancelled",
                subject_type="order",
                subject_id=order_id,
                actor=str(found.options.get("actor", "system")),
                now=now,
                event_id=order.event_id,
                order_id=order_id,
                data={"reason": REASON},
            )
        session.refresh(order)
        return order


def refund_amount(session: Session, *, lease: Lease, order: Order) -> int:
    """What to send back through Stripe for this order now (0 for nothing)."""
    if not job(session, job_id=lease.job_id).options.get("refund"):
        return 0
    return owed(order)


def finish_order(
    session: Session,
    *,
    lease: Lease,
    order_id: int,
    now: datetime,
    refund_id: str | None = None,
    amount: int = 0,
) -> bool:
    """Record the refund (once per refund id), queue the email, count the order done, once.

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
        if refund_id is not None:
            _record_refund(session, order, refund_id, amount, now)
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


def _record_refund(
    session: Session, order: Order, refund_id: str, amount: int, now: datetime
) -> None:
    note = f"refund {refund_id}"
    seen = session.exec(
        select(OrderHistory.id).where(OrderHistory.order_id == order.id, OrderHistory.note == note)
    ).first()
    if seen is not None:
        return
    before = order.amount_refunded
    # The charge.refunded webhook may have recorded the same money first: cap at the total.
    order.amount_refunded = min(order.total, order.amount_refunded + amount)
    session.add(order)
    assert order.id is not None
    session.add(OrderHistory(order_id=order.id, status=order.status, note=note, at=now))
    audit.record(
        session,
        "order.refunded",
        subject_type="order",
        subject_id=order.id,
        actor="system",
        now=now,
        event_id=order.event_id,
        order_id=order.id,
        data={"amount_refunded": {"before": before, "after": order.amount_refunded}},
    )


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
