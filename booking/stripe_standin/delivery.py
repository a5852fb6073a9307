"""Webhook delivery: signed POSTs from a background thread, with retries and test modes."""

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

SCHEDULE = (0.0, 0.2, 0.5, 1.0, 2.0)
MODES = ("normal", "hold", "duplicate", "drop")
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
LOG_LIMIT = 5000  # delivery attempts kept (oldest dropped first)


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for ``payload`` at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class Dispatcher:
    """Delivers events to one endpoint; owns a thread running its own event loop."""

    def __init__(
        self,
        url: str | None,
        secret: str,
        *,
        schedule: tuple[float, ...] = SCHEDULE,
        timeout: float = 3.0,
        on_delivered: Callable[[str], None] | None = None,
        tick: Callable[[], Any] | None = None,
        tick_interval: float = 1.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self._initial = (url, secret)
        self.schedule = tuple(schedule)
        self.timeout = timeout
        self._on_delivered = on_delivered
        self._tick = tick
        self._tick_interval = tick_interval
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._mode = "normal"
        self._copies = 2
        self._held: list[dict[str, Any]] = []
        self._log: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            ready = threading.Event()
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name="stripe-standin-webhooks", daemon=True
            )
            self._thread.start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._client = httpx.AsyncClient(timeout=self.timeout)
        if self._tick is not None:
            loop.call_later(self._tick_interval, self._run_tick)
        loop.call_soon(ready.set)
        loop.run_forever()
        loop.run_until_complete(self._client.aclose())
        loop.close()

    def _run_tick(self) -> None:
        try:
            if self._tick is not None:
                self._tick()
        finally:
            if self._loop is not None and not self._closed:
                self._loop.call_later(self._tick_interval, self._run_tick)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._cancel_all(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)

    async def _cancel_all(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- configuration ----------------------------------------------------------------
    def configure(self, url: str | None, secret: str | None = None) -> None:
        with self._lock:
            self.url = url
            if secret is not None:
                self.secret = secret

    def set_mode(self, mode: str, copies: int = 2) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self._lock:
            self._mode, self._copies = mode, max(1, copies)

    @property
    def mode(self) -> str:
        return self._mode

    # -- sending ----------------------------------------------------------------------
    def submit(self, event: dict[str, Any]) -> None:
        """Queue ``event`` according to the current mode."""
        with self._lock:
            if not self.url:
                return
            mode, copies = self._mode, self._copies
            if mode == "drop":
                self._log.append(_entry(event, 0, "dropped"))
                return
            if mode == "hold":
                self._held.append(event)
                return
        for _ in range(copies if mode == "duplicate" else 1):
            self._spawn(self._deliver(event))

    def flush(self, reverse: bool = False) -> int:
        """Send held events one after another (optionally newest first)."""
        with self._lock:
            held, self._held = self._held, []
        if reverse:
            held.reverse()
        if held:
            self._spawn(self._deliver_in_turn(held))
        return len(held)

    def redeliver(self, event: dict[str, Any], times: int = 1, concurrent: bool = True) -> None:
        if concurrent:
            for _ in range(times):
                self._spawn(self._deliver(event))
        else:
            self._spawn(self._deliver_in_turn([event] * times))

    def held(self) -> list[str]:
        with self._lock:
            return [e["id"] for e in self._held]

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._log]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is being sent; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def reset(self) -> None:
        """Back to normal mode and the endpoint given at construction; forget the log."""
        with self._lock:
            self.url, self.secret = self._initial
            self._held.clear()
            self._log.clear()
            self._mode, self._copies = "normal", 2

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.start()
        with self._lock:
            if self._closed or self._loop is None:
                coro.close()
                return
            self._active += 1
        asyncio.run_coroutine_threadsafe(self._tracked(coro), self._loop)

    async def _tracked(self, coro: Coroutine[Any, Any, Any]) -> None:
        try:
            await coro
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    async def _deliver_in_turn(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            await self._deliver(event)

    async def _deliver(self, event: dict[str, Any]) -> bool:
        body = json.dumps(event, indent=2).encode()
        for attempt, delay in enumerate(self.schedule, start=1):
            if delay:
                await asyncio.sleep(delay)
            with self._lock:
                url, secret = self.url, self.secret
            if not url:
                return False
            if await self._attempt(event, body, attempt, url, secret):
                if self._on_delivered is not None:
                    self._on_delivered(event["id"])
                return True
        return False

    async def _attempt(
        self, event: dict[str, Any], body: bytes, attempt: int, url: str, secret: str
    ) -> bool:
        assert self._client is not None
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": sign(body, secret, stamp),
        }
        started = time.monotonic()
        status: int | str
        try:
            response = await self._client.post(url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        entry = _entry(event, attempt, status, stamp, time.monotonic() - started)
        with self._lock:
            self._log.append(entry)
            del self._log[:-LOG_LIMIT]
        return isinstance(status, int) and 200 <= status < 300


def _entry(
    event: dict[str, Any], attempt: int, status: int | str, stamp: int = 0, took: float = 0.0
) -> dict[str, Any]:
    ok = isinstance(status, int) and 200 <= status < 300
    return {
        "event_id": event["id"],
        "type": event["type"],
        "attempt": attempt,
        "status": status,
        "ok": ok,
        "signature_timestamp": stamp,
        "at": time.time(),
        "duration_ms": round(took * 1000, 1),
    }
