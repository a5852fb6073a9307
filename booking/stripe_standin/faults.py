"""Fault injection and the request log, as an ASGI middleware in front of ``/v1``."""

import asyncio
import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .forms import parse_form
from .ids import new_id

if TYPE_CHECKING:
    from .state import StandIn

ACTIONS = ("status", "hang", "reset")


@dataclass
class Fault:
    """Make the next ``count`` matching requests fail.

    ``action``: ``status`` answers ``status``; ``hang`` holds the request for ``delay``
    seconds (longer than the client's timeout); ``reset`` breaks the connection mid-answer.
    ``when="after"`` lets the request take effect first, so only the answer is lost.
    """

    path_prefix: str = "/v1/"
    method: str | None = None
    status: int = 500
    count: int = 1
    action: str = "status"
    when: str = "before"
    delay: float = 30.0
    should_retry: bool | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        self.method = self.method.upper() if self.method else None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and self.method in (None, method)


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class ApiGate:
    """Logs every ``/v1`` request and applies any matching fault."""

    def __init__(self, app: Any, standin: "StandIn") -> None:
        self.app = app
        self.standin = standin

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        entry = self.standin.log_request(
            {
                "at": time.time(),
                "method": method,
                "path": path,
                "params": _params(scope["query_string"] if method == "GET" else body),
                "idempotency_key": headers.get("idempotency-key"),
                "stripe_version": headers.get("stripe-version"),
                "status": None,
                "request_id": None,
                "replayed": False,
                "fault": None,
            }
        )
        replay = _replaying(body, receive)
        fault = self.standin.faults.take(method, path)

        async def logged_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                got = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
                entry["status"] = message["status"]
                entry["request_id"] = got.get("request-id")
                entry["replayed"] = got.get("idempotent-replayed") == "true"
            await send(message)

        if fault is None:
            await self.app(scope, replay, logged_send)
            return
        entry["fault"] = (
            f"{fault.action}:{fault.status}" if fault.action == "status" else fault.action
        )
        if fault.when == "after":
            await self.app(scope, replay, _discard)
        await self._inject(fault, receive, logged_send)

    async def _inject(self, fault: Fault, receive: Any, send: Any) -> None:
        if fault.action == "hang":
            await self._hang(receive, fault.delay)
        elif fault.action == "reset":
            head = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": b'{"id": ', "more_body": True})
            return
        status = fault.status if fault.action == "status" else 500
        error: dict[str, Any] = {
            "type": "api_error",
            "message": "An unknown error occurred (injected fault).",
        }
        if status == 429:
            error = {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly. We recommend an "
                "exponential backoff of your requests.",
            }
        payload = json.dumps({"error": error}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"request-id", new_id("req_", 14).encode()),
        ]
        if fault.should_retry is not None:
            headers.append((b"stripe-should-retry", str(fault.should_retry).lower().encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _hang(self, receive: Any, delay: float) -> None:
        gone = asyncio.ensure_future(_wait_disconnect(receive))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        try:
            while not gone.done() and loop.time() < deadline:
                if self.standin.stopping.is_set():
                    break
                await asyncio.sleep(0.05)
        finally:
            gone.cancel()
            await asyncio.gather(gone, return_exceptions=True)


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    return replay


async def _discard(message: dict[str, Any]) -> None:
    return None


async def _wait_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _params(raw: bytes) -> Any:
    try:
        return parse_form(raw)
    except Exception:
        return raw.decode("utf-8", "replace")
