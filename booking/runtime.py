"""What every job and handler works with: settings, database, templates, clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

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

    @cached_property
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
        # SQLite has one writer at a time: this process's writers queue for its one writer
        # thread, in order, and run back to back there (each then waits its turn among the
        # processes, Database.writer_turn) rather than in SQLite's busy-wait, which polls
        # and can time out under a rush. The event loop is not waited for between them.
        return await asyncio.get_running_loop().run_in_executor(self.writer, work)

    def close(self) -> None:
        """Let the writer thread go, once its queued writes are done."""
        writer = self.extras.pop("writer", None)
        if writer is not None:
            writer.shutdown(wait=True)

    @property
    def writer(self) -> ThreadPoolExecutor:
        """This process's one thread for SQLite writes."""
        found = self.extras.get("writer")
        if found is None:
            found = self.extras["writer"] = ThreadPoolExecutor(1, thread_name_prefix="writer")
        writer: ThreadPoolExecutor = found
        return writer

    async def call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run a domain function that manages its own transactions in the thread pool."""
        return await run_in_threadpool(fn, **kwargs)
