"""The runner for long organiser tasks (BulkJob rows): cancelling an event's orders.

It claims a job under a lease, then works order by order: cancel and open the refund in the
refunds ledger (one transaction), send it through Stripe (no transaction open), email and
count it done (one transaction). Any number of
runners may be started; a runner that stops half way leaves its lease to lapse, and the next
one carries on where it stopped (see booking.domain.cancellation_job).
"""

from __future__ import annotations

import logging

from booking import checkout
from booking.domain import cancellation_job
from booking.domain.cancellation_job import Lease
from booking.runtime import Services

log = logging.getLogger("booking.bulk")


async def run_pending(svc: Services, *, max_orders: int | None = None) -> int:
    """Work through every due job; returns how many orders were finished.

    `max_orders` stops after that many orders with the job still leased (as a crash would).
    """
    finished = 0
    while await svc.read(cancellation_job.has_due, now=svc.now()):
        lease = await svc.write(cancellation_job.claim, now=svc.now())
        if lease is None:
            break
        budget = None if max_orders is None else max_orders - finished
        count, stopped = await run_job(svc, lease, max_orders=budget)
        finished += count
        if stopped:
            break
    return finished


async def run_job(
    svc: Services, lease: Lease, *, max_orders: int | None = None
) -> tuple[int, bool]:
    """Process one claimed job's orders; returns (orders finished, stopped early)."""
    finished = 0
    failed: dict[int, str] = {}
    while True:
        if max_orders is not None and finished >= max_orders:
            return finished, True
        renewed = await svc.write(cancellation_job.renew, lease=lease, now=svc.now())
        if renewed is None:
            log.warning("bulk job %s was taken over by another runner", lease.job_id)
            return finished, True
        lease = renewed
        order = await svc.read(cancellation_job.next_order, lease=lease, skip=failed.keys())
        if order is None:
            break
        assert order.id is not None
        error = await _one_order(svc, lease, order.id)
        if error:
            failed[order.id] = error
        else:
            finished += 1
    if failed:
        summary = "; ".join(f"order {oid}: {message}" for oid, message in failed.items())
        await svc.write(
            cancellation_job.fail,
            lease=lease,
            now=svc.now(),
            error=f"{len(failed)} refund(s) failed: {summary}",
        )
    else:
        await svc.write(cancellation_job.complete, lease=lease, now=svc.now())
    return finished, False


async def _one_order(svc: Services, lease: Lease, order_id: int) -> str:
    """Cancel, refund and finish one order; returns an error message, or "" when done."""
    await svc.write(cancellation_job.cancel_order, lease=lease, order_id=order_id, now=svc.now())
    await send_refunds(svc, order_id)
    problem = await svc.read(cancellation_job.refund_problem, order_id=order_id)
    if problem:
        log.warning("refund for order %s: %s", order_id, problem)
        return problem  # the order stays open; the refunds job keeps sending a pending one
    finished = await svc.write(
        cancellation_job.finish_order, lease=lease, order_id=order_id, now=svc.now()
    )
    return "" if finished else "another runner took the job over"


async def send_refunds(svc: Services, order_id: int) -> int:
    """Send the order's pending refunds through Stripe, each under its own idempotency key
    (the event's own and any an organiser opened before). Returns how many Stripe made."""
    return await checkout.send_refunds_for(svc, order_id=order_id)
