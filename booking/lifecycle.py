"""What runs beside the web app for its lifetime: the Stripe client and periodic jobs.

Jobs are safe to run in several processes at once: each step is a conditional update or
carries an idempotency key, so two sweepers never release, fulfil or refund anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from booking import bulk, checkout, mail, reminding
from booking.payments import Payments
from booking.runtime import Services
from booking.settings import Settings

log = logging.getLogger("booking.jobs")
SWEEP_SECONDS = 20.0
MAIL_SECONDS = 3.0  # a buyer expects the confirmation within seconds of paying
BULK_SECONDS = 5.0  # organisers watch a cancellation's progress on the event's page


def make_payments(settings: Settings) -> Payments:
    if settings.uses_stripe_standin:
        return Payments(
            secret_key="sk_test_standin",  # noqa: S106 (the stand-in accepts any test key)
            webhook_secret=settings.webhook_secret,
            api_base=f"http://127.0.0.1:{settings.stripe_standin_port}",
        )
    return Payments(
        secret_key=settings.stripe_secret_key, webhook_secret=settings.stripe_webhook_secret
    )


async def _every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        try:
            await job()
        except Exception:  # a failing job must not stop the others or the app
            log.exception("job %s failed", name)
        await asyncio.sleep(seconds)


def jobs(services: Services) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
    return [
        ("lapsed-holds", SWEEP_SECONDS, lambda: checkout.sweep_and_offer(services)),
        ("refunds", SWEEP_SECONDS, lambda: checkout.settle_refunds(services)),
        ("mail", MAIL_SECONDS, lambda: mail.deliver_pending(services)),
        ("bulk-jobs", BULK_SECONDS, lambda: bulk.run_pending(services)),
        ("reminders", SWEEP_SECONDS, lambda: reminding.queue_due(services)),
    ]


@asynccontextmanager
async def running(services: Services) -> AsyncIterator[None]:
    """Open the Stripe client; start the jobs unless RUN_JOBS is off."""
    payments = services.extras.get("payments") or make_payments(services.settings)
    services.extras["payments"] = payments
    tasks = []
    if services.settings.run_jobs:
        tasks = [
            asyncio.create_task(_every(period, job, name), name=name)
            for name, period, job in jobs(services)
        ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await payments.aclose()


async def run_worker(settings: Settings) -> int:
    """`booking worker`: the jobs alone, for deployments that run them apart from the web."""
    from booking.db import Database
    from booking.templating import make_templates

    db = Database(settings.database_url)
    services = Services(
        settings=settings.replace(run_jobs=True), db=db, templates=make_templates(settings.tz)
    )
    async with running(services):
        log.info("worker running; stop with Ctrl+C")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
    return 0
