"""Cancelling an event: stop sales at once, then cancel, refund and tell each buyer in the
background, order by order, in a BulkJob that can be resumed after an interruption.

Each order goes through three steps. `cancel_order` (one transaction) marks a paid order and
its tickets cancelled. The refund is then sent through Stripe by the runner (booking.bulk)
with the key "refund:{reference}:event-cancelled", so a retried refund is the same refund.
`finish_order` (one transaction) records the refund, queues the email and counts the order
done. An order is refunded while its amount refunded is below its total, so a run that stops
anywhere picks the order up again, and Stripe's idempotency keeps it to one refund.

The job is leased through `claimed_until`: a claim (or renewal) sets a new lease that also
serves as the runner's token, and every later write is conditional on it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, update
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit, outbox
from booking.domain.errors import Conflict, NotFound
from booking.models import (
    BulkJob,
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderHistory,
    OrderStatus,
    Ticket,
    TicketStatus,
    User,
)

KIND = "event_cancel"
REASON = "event_cancelled"
FINISHED = "event cancellation finished"
LEASE = timedelta(minutes=2)
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Impact:
    """What cancelling would touch: paid orders, buyers, tickets and money to return."""

    orders: int
    buyers: int
    tickets: int
    to_refund: int
    currency: str


@dataclass(frozen=True)
class Lease:
    job_id: int
    token: datetime  # the job's claimed_until while this runner holds it

    @property
    def expires_at(self) -> datetime:
        return self.token


def refund_key(order: Order) -> str:
    return f"refund:{order.reference}:event-cancelled"


def impact(session: Session, *, event_id: int) -> Impact:
    event = _event(session, event_id)
    paid = session.exec(
        select(Order).where(Order.event_id == event_id, Order.status == OrderStatus.PAID)
    ).all()
    tickets = session.exec(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.event_id == event_id, Ticket.status == TicketStatus.VALID)
    ).one()
    return Impact(
        orders=len(paid),
        buyers=len({o.buyer_email.lower() for o in paid}),
        tickets=tickets,
        to_refund=sum(_owed(o) for o in paid),
        currency=event.currency,
    )


def latest_job(session: Session, *, event_id: int) -> BulkJob | None:
    return session.exec(
        select(BulkJob)
        .where(BulkJob.event_id == event_id, BulkJob.kind == KIND)
        .order_by(col(BulkJob.id).desc())
    ).first()


def start(
    session: Session,
    *,
    event_id: int,
    refund: bool,
    email: bool,
    note: str,
    actor: User,
    now: datetime,
) -> BulkJob:
    """Cancel the event now (no more sales) and queue the job for its orders.

    Raises NotFound, or Conflict if the event is already cancelled.
    """
    with session.begin():
        event = _event(session, event_id)
        lock(session, event_id)
        if event.status == EventStatus.CANCELLED:
            raise Conflict("This event has already been cancelled")
        event.status = EventStatus.CANCELLED
        event.updated_at = now
        session.add(event)
        job = _new_job(
            session, event_id, {"refund": refund, "email": email, "note": note}, actor, now
        )
        audit.record(
            session,
            "event.cancelled",
            subject_type="event",
            subject_id=event_id,
            actor=actor,
            now=now,
            event_id=event_id,
            data={"paid_orders": job.total, "refund": refund, "email": email},
        )
    return job


def start_again(session: Session, *, event_id: int, actor: User, now: datetime) -> BulkJob:
    """Run the cancellation again for orders still open (paid late, or a refund that failed),
    with the options of the last run. Raises NotFound or Conflict (not cancelled, running)."""
    with session.begin():
        event = _event(session, event_id)
        last = latest_job(session, event_id=event_id)
        if event.status != EventStatus.CANCELLED or last is None:
            raise Conflict("This event has not been cancelled")
        if last.status in ACTIVE:
            raise Conflict("The cancellation is still running")
        job = _new_job(session, event_id, dict(last.options), actor, now)
        audit.record(
            session,
            "event.cancellation_restarted",
            subject_type="event",
            subject_id=event_id,
            actor=actor,
            now=now,
            event_id=event_id,
            data={"orders": job.total},
        )
    return job


def _new_job(
    session: Session, event_id: int, options: dict[str, Any], actor: User, now: datetime
) -> BulkJob:
    job = BulkJob(
        kind=KIND,
        event_id=event_id,
        total=len(open_orders(session, event_id=event_id)),
        options={**options, "actor": actor.email},
        created_by=actor.id,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


# The runner's steps ---------------------------------------------------------------------------
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


def open_orders(session: Session, *, event_id: int, skip: Collection[int] = ()) -> list[Order]:
    """Orders still to do: paid ones, and ones cancelled with the event but not finished
    (refund or email still to come)."""
    finished = exists().where(
        col(OrderHistory.order_id) == col(Order.id), col(OrderHistory.note) == FINISHED
    )
    todo = or_(
        col(Order.status) == OrderStatus.PAID,
        and_(
            col(Order.status) == OrderStatus.CANCELLED,
            col(Order.status_reason) == REASON,
            ~finished,
        ),
    )
    stmt = select(Order).where(Order.event_id == event_id, todo).order_by(col(Order.id))
    if skip:
        stmt = stmt.where(col(Order.id).not_in(list(skip)))
    return list(session.exec(stmt).all())


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
    return _owed(order)


def _owed(order: Order) -> int:
    return max(0, order.total - order.amount_refunded) if order.stripe_payment_intent else 0


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


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    return event
