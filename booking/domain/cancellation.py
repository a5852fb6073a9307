"""Cancelling an event: stop sales at once, then cancel, refund and tell each buyer in the
background, order by order, in a BulkJob that can be resumed after an interruption.

Each order goes through three steps (booking.domain.cancellation_job, run by booking.bulk).
The order and its tickets are cancelled and its refund opened in the refunds ledger (one
transaction), for all that is still refundable: an organiser's refund still pending on the
same order keeps its share, so the two add up to what was paid. The order's pending refunds
are then sent through Stripe, each under its own key, as every refund is. Last, the email
is queued and the order counted done (one transaction), leaving a "finished" note in its
history. An order without that note is still to do, so a run that stops anywhere picks it up
again, and the refund's key keeps it to one refund.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from booking.db import lock
from booking.domain import audit
from booking.domain.errors import Conflict, NotFound
from booking.models import (
    BulkJob,
    Event,
    EventStatus,
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
REFUND_REASON = "Event cancelled"  # the reason on the refund the cancellation opens
ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class Impact:
    """What cancelling would touch: paid orders, buyers, tickets and money to return."""

    orders: int
    buyers: int
    tickets: int
    to_refund: int
    currency: str


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
        to_refund=sum(owed(o) for o in paid),
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


def owed(order: Order) -> int:
    return max(0, order.total - order.amount_refunded) if order.stripe_payment_intent else 0


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    return event
