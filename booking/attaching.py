"""Remembering the Checkout Sessions made for held orders, several in one transaction.

On SQLite every write waits its turn for the one write lock, and in an on-sale rush the
short write that remembers a Checkout Session costs more in waiting and committing than in
work. So a process gathers the sessions made while its writer thread is busy and writes
them together, in one transaction, as soon as the thread is free; each buyer's redirect
still waits until the write that holds its session has committed. On PostgreSQL, whose
writers do not wait for one another here, each is written on its own.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

from sqlmodel import Session

from booking.domain import orders
from booking.runtime import Services

KEY = "checkout_sessions_to_attach"


@dataclass
class Batch:
    sessions: dict[int, str] = field(default_factory=dict)  # order id -> Checkout Session id
    done: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class _Gathering:
    lock: threading.Lock = field(default_factory=threading.Lock)
    open: Batch | None = None  # the batch new sessions join, until its write takes it


async def attach(svc: Services, *, order_id: int, checkout_session_id: str) -> None:
    """Remember the Checkout Session made for this held order; returns once committed."""
    if not svc.db.is_sqlite:
        await svc.write(
            orders.attach_checkout, order_id=order_id, checkout_session_id=checkout_session_id
        )
        return
    gathering: _Gathering = svc.extras.setdefault(KEY, _Gathering())
    with gathering.lock:
        batch = gathering.open
        if batch is None:
            batch = gathering.open = Batch(done=asyncio.get_running_loop().create_future())
            # Its own task: a buyer who goes away must not cancel the others' write.
            batch.task = asyncio.create_task(_write(svc, gathering, batch))
        batch.sessions[order_id] = checkout_session_id
    assert batch.done is not None
    await asyncio.shield(batch.done)


async def _write(svc: Services, gathering: _Gathering, batch: Batch) -> None:
    assert batch.done is not None

    def write_all(session: Session) -> None:
        with gathering.lock:  # from here on, new sessions start the next batch
            if gathering.open is batch:
                gathering.open = None
            sessions = dict(batch.sessions)
        with session.begin():
            orders.attach_checkouts_in(session, sessions)

    try:
        await svc.write(write_all)
    except BaseException as exc:  # noqa: BLE001 (every buyer waiting is told)
        with gathering.lock:  # if the write never ran, the next sessions start anew
            if gathering.open is batch:
                gathering.open = None
        batch.done.set_exception(exc)
        if not isinstance(exc, Exception):
            raise
    else:
        batch.done.set_result(None)
