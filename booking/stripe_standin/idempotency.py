"""Idempotency-Key bookkeeping for POST requests."""

import threading
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

RETENTION_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Stored:
    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: bytes
    request_id: str
    created: int


class IdempotencyStore:
    """Maps (api key, Idempotency-Key) to the first response, like Stripe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stored: dict[tuple[str, str], Stored] = {}
        self._running: set[tuple[str, str]] = set()

    def begin(
        self, scope: tuple[str, str], method: str, path: str, params: dict[str, Any], now: int
    ) -> Stored | None:
        """Return a stored response to replay, or None after marking the key in use."""
        with self._lock:
            stored = self._stored.get(scope)
            if stored and now - stored.created > RETENTION_SECONDS:
                del self._stored[scope]
                stored = None
            if stored:
                if (stored.method, stored.path, stored.params) != (method, path, params):
                    raise ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with. Try using a key other than "
                        f"'{scope[1]}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                return stored
            if scope in self._running:
                raise ApiError(
                    409,
                    "There is currently another in-progress request using this Idempotent "
                    f"Key (that probably means you submitted twice, and the other request is "
                    f"still going through): {scope[1]}. Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                )
            self._running.add(scope)
            return None

    def finish(self, scope: tuple[str, str], stored: Stored | None) -> None:
        """Release the key; keep ``stored`` unless the request failed validation."""
        with self._lock:
            self._running.discard(scope)
            if stored is not None:
                self._stored[scope] = stored

    def clear(self) -> None:
        with self._lock:
            self._stored.clear()
            self._running.clear()
