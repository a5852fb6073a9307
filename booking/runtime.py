"""What every job and handler works with: settings, database, templates, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.templating import Jinja2Templates

from booking.db import Database
from booking.models import utcnow
from booking.settings import Settings

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    db: Database
    templates: Jinja2Templates
    clock: Callable[[], datetime] = utcnow
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ticket_key(self) -> bytes:
        from booking.domain.tickets import derive_key

        return derive_key(self.settings.secret_key, "tickets")

    @property
    def form_key(self) -> bytes:
        """Signs the tokens of forms on pages any cache may keep (booking.web.security)."""
        from booking.domain.tickets import derive_key

        return derive_key(self.settings.secret_key, "open-forms")

    def now(self) -> datetime:
        return self.clock()

    async def read(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `fn(session, **kwargs)` on a read session in the (capped) thread pool."""

        def work() -> T:
            with self.db.session() as session:
                return fn(session, **kwargs)

        return await run_in_threadpool(work)

    async def write(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `fn(session, **kwargs)` on a write session (it opens its own transaction)."""

        def work() -> T:
            with self.db.writer_turn(), self.db.write_session() as session:
                return fn(session, **kwargs)

        if not self.db.is_sqlite:
            return await run_in_threadpool(work)
        # SQLite has one writer at a time: queue this process's writers here, in order,
        # rather than in SQLite's busy-wait, which polls and can time out under a rush.
        async with self.write_lock:
            return await run_in_threadpool(work)

    @property
    def write_lock(self) -> anyio.Lock:
        lock = self.extras.get("write_lock")
        if lock is None:
            lock = self.extras["write_lock"] = anyio.Lock()
        return lock

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a domain function that manages its own transactions in the thread pool."""
        return await run_in_threadpool(fn, **kwargs)
