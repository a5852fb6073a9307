"""The job that queues reminders before events and thank-yous after them (see
booking.domain.reminders); the mail sender then delivers them."""

from __future__ import annotations

from booking.domain import reminders
from booking.runtime import Services


async def queue_due(svc: Services) -> int:
    """Queue whatever reminders and thank-yous are due now; returns how many."""
    now = svc.now()
    queued = 0
    for kind, event_id in await svc.read(reminders.due, now=now):
        queued += await svc.write(reminders.queue, kind=kind, event_id=event_id, now=now)
    return queued
