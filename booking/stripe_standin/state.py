"""The stand-in's in-memory Stripe account: objects, events, clock and test switches."""

import copy
import threading
from typing import Any

from . import checkout, paying, refunds
from .clock import Clock
from .delivery import SCHEDULE, Dispatcher
from .errors import ApiError, not_found
from .expand import expand
from .faults import Fault, FaultBook
from .idempotency import IdempotencyStore
from .objects import event as event_object
from .objects import list_object
from .records import SessionRecord

DEFAULT_WEBHOOK_SECRET = "whsec_standin"  # noqa: S105 (a fixed test-mode secret)
NO_REQUEST: dict[str, Any] = {"id": None, "idempotency_key": None}
LOG_LIMIT = 5000  # request-log entries kept (oldest dropped first)


class StandIn:
    """Plays one Stripe test-mode account. Safe to use from several threads."""

    def __init__(
        self,
        *,
        base_url: str,
        webhook_url: str | None = None,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        enabled_events: list[str] | None = None,
        delivery_schedule: tuple[float, ...] = SCHEDULE,
        delivery_timeout: float = 3.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = Clock()
        self.lock = threading.RLock()
        self.enabled_events = set(enabled_events) if enabled_events else None
        self.faults = FaultBook()
        self.idempotency = IdempotencyStore()
        self.dispatcher = Dispatcher(
            webhook_url,
            webhook_secret,
            schedule=delivery_schedule,
            timeout=delivery_timeout,
            on_delivered=self._delivered,
            tick=self.sweep,
        )
        self.stopping = threading.Event()
        self.refund_status = "succeeded"
        # The name Checkout shows at the top of its page: the account's public business name.
        self.account_name = "Test account"
        self._clear()

    def _clear(self) -> None:
        self.sessions: dict[str, SessionRecord] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.request_log: list[dict[str, Any]] = []
        self._delivered_ids: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self.dispatcher.start()

    def close(self) -> None:
        self.stopping.set()
        self.dispatcher.close()

    def reset(self) -> None:
        """Forget every object, event, key, fault and log; rewind the clock."""
        with self.lock:
            self._clear()
            self.clock.reset()
            self.faults.clear()
            self.idempotency.clear()
            self.dispatcher.reset()
            self.refund_status = "succeeded"

    # -- storage -------------------------------------------------------------------------
    def now(self) -> int:
        return self.clock.now()

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
        return obj

    def find(self, object_id: str) -> dict[str, Any] | None:
        with self.lock:
            if object_id in self.sessions:
                return self.sessions[object_id].obj
            return self.objects.get(object_id)

    def get(self, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.find(object_id)
        if obj is None or obj.get("object") != kind:
            raise not_found(kind, object_id, param)
        return obj

    def session(self, session_id: str, param: str = "session") -> SessionRecord:
        with self.lock:
            record = self.sessions.get(session_id)
        if record is None:
            raise not_found("checkout.session", session_id, param)
        return record

    def render(self, obj: dict[str, Any], paths: list[str] | None = None) -> dict[str, Any]:
        """A deep copy of ``obj`` with ``expand[]`` paths applied."""
        with self.lock:
            return expand(obj, paths or [], self.find, self._include)

    def _include(self, node: dict[str, Any], name: str) -> dict[str, Any] | None:
        if node.get("object") == "checkout.session" and name == "line_items":
            items = self.sessions[node["id"]].line_items
            url = f"/v1/checkout/sessions/{node['id']}/line_items"
            return list_object(url, copy.deepcopy(items))
        return None

    # -- events --------------------------------------------------------------------------
    def emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        request: dict[str, Any] | None = None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record an event with a snapshot of ``obj`` and hand it to the dispatcher."""
        with self.lock:
            wanted = self.enabled_events is None or event_type in self.enabled_events
            pending = 1 if self.dispatcher.url and wanted else 0
            evt = event_object(
                event_type, copy.deepcopy(obj), self.now(), request or NO_REQUEST, pending, previous
            )
            self.events.append(evt)
            self.objects[evt["id"]] = evt
            if pending:
                self.dispatcher.submit(evt)
        return evt

    def _delivered(self, event_id: str) -> None:
        with self.lock:
            self._delivered_ids.add(event_id)
            evt = self.objects.get(event_id)
            if evt is not None:
                evt["pending_webhooks"] = 0

    def delivered(self, event_id: str) -> bool:
        with self.lock:
            return event_id in self._delivered_ids

    def delivered_ids(self) -> set[str]:
        """Events that at least one delivery attempt got a 2xx for."""
        with self.lock:
            return set(self._delivered_ids)

    def events_of(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(e) for e in self.events if event_type in (None, e["type"])]

    # -- time ----------------------------------------------------------------------------
    def sweep(self) -> int:
        """Expire open sessions whose ``expires_at`` has passed; return how many."""
        with self.lock:
            now = self.now()
            due = [
                r
                for r in self.sessions.values()
                if r.obj["status"] == "open" and r.obj["expires_at"] <= now
            ]
            for record in due:
                checkout.expire(self, record, None)
        return len(due)

    def advance_clock(self, seconds: float) -> int:
        now = self.clock.advance(seconds)
        self.sweep()
        return now

    # -- operations (also reachable over HTTP) -------------------------------------------
    def create_session(
        self, params: dict[str, Any], request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            return checkout.create(self, params, request or NO_REQUEST)

    def expire_session(
        self, session_id: str, request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            self.sweep()
            return checkout.expire_open(self, self.session(session_id), request or NO_REQUEST)

    def pay(self, session_id: str, card: str = "4242424242424242", **kw: Any) -> paying.PayResult:
        """Pay as the buyer would on the hosted page; see ``paying.pay``."""
        with self.lock:
            self.sweep()
            return paying.pay(self, self.session(session_id), card, **kw)

    def async_succeed(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return paying.settle(self, self.session(session_id), succeeded=True)

    def async_fail(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            return paying.settle(self, self.session(session_id), succeeded=False)

    def create_refund(
        self, params: dict[str, Any], request: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with self.lock:
            return refunds.create(self, params, request or NO_REQUEST)

    def finish_refund(self, refund_id: str, succeeded: bool) -> dict[str, Any]:
        with self.lock:
            return refunds.finish(self, self.get("refund", refund_id), succeeded)

    # -- test switches -------------------------------------------------------------------
    def add_fault(self, **kw: Any) -> Fault:
        return self.faults.add(Fault(**kw))

    def set_webhook_mode(self, mode: str, copies: int = 2) -> None:
        self.dispatcher.set_mode(mode, copies)

    def configure_webhook(self, url: str | None, secret: str | None = None) -> None:
        self.dispatcher.configure(url, secret)

    def flush_webhooks(self, reverse: bool = False) -> int:
        return self.dispatcher.flush(reverse)

    def redeliver(self, event_id: str, times: int = 1, concurrent: bool = True) -> None:
        evt = self.get("event", event_id)
        if not self.dispatcher.url:
            raise ApiError(400, "No webhook endpoint is configured.")
        self.dispatcher.redeliver(copy.deepcopy(evt), times, concurrent)

    def wait_for_deliveries(self, timeout: float = 5.0) -> bool:
        return self.dispatcher.wait_idle(timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.dispatcher.deliveries()

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.request_log]

    def log_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            entry["n"] = (self.request_log[-1]["n"] + 1) if self.request_log else 1
            self.request_log.append(entry)
            del self.request_log[:-LOG_LIMIT]
        return entry
