"""Test controls under ``/_test/`` (not part of Stripe's API). JSON in, JSON out."""

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import ApiError
from .state import StandIn

Control = Callable[[StandIn, Request, dict[str, Any]], Awaitable[Any]]


def routes(store: StandIn) -> list[Route]:
    def r(path: str, fn: Control, method: str = "POST") -> Route:
        return Route(f"/_test{path}", _wrap(store, fn), methods=[method])

    return [
        r("/clock", _clock, "GET"),
        r("/clock/advance", _advance),
        r("/checkout/{id}/pay", _pay),
        r("/checkout/{id}/async_succeed", _async_succeed),
        r("/checkout/{id}/async_fail", _async_fail),
        r("/refunds/status", _refund_status),
        r("/refunds/{id}/succeed", _refund_succeed),
        r("/refunds/{id}/fail", _refund_fail),
        r("/webhooks/mode", _webhook_mode),
        r("/webhooks/endpoint", _webhook_endpoint),
        r("/webhooks/flush", _flush),
        r("/webhooks/wait", _wait),
        r("/events/{id}/redeliver", _redeliver),
        r("/faults", _add_fault),
        r("/faults", _list_faults, "GET"),
        r("/faults", _clear_faults, "DELETE"),
        r("/requests", _requests, "GET"),
        r("/deliveries", _deliveries, "GET"),
        r("/events", _events, "GET"),
        r("/reset", _reset),
        r("/account", _account),
    ]


def _wrap(store: StandIn, fn: Control) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            result = await fn(store, request, body)
        except ApiError as exc:
            return JSONResponse(exc.body(), exc.status)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": {"type": "invalid_request", "message": str(exc)}}, 400)
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    return endpoint


async def _account(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Set the account's public business name, as Stripe's dashboard does."""
    name = body.get("display_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValueError("display_name must be 1 to 100 characters")
    store.account_name = " ".join(name.split())
    return {"display_name": store.account_name}


async def _clock(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"now": store.now(), "offset": store.clock.offset}


async def _advance(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    expired_before = len(store.events_of("checkout.session.expired"))
    now = store.advance_clock(float(body.get("seconds", 0)))
    expired = len(store.events_of("checkout.session.expired")) - expired_before
    return {"now": now, "offset": store.clock.offset, "expired_sessions": expired}


async def _pay(store: StandIn, request: Request, body: dict[str, Any]) -> Response:
    result = store.pay(
        request.path_params["id"],
        card=str(body.get("card") or body.get("payment_method") or "4242424242424242"),
        email=body.get("email"),
        name=body.get("name"),
        expiry=str(body.get("expiry", "")),
        cvc=str(body.get("cvc", "")),
        delayed=bool(body.get("delayed", False)),
    )
    status = 200 if result.ok else 402 if result.decline_code else 400
    return JSONResponse(asdict(result), status)


async def _async_succeed(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return store.async_succeed(request.path_params["id"])


async def _async_fail(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return store.async_fail(request.path_params["id"])


async def _refund_status(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    status = body.get("status", "succeeded")
    if status not in ("succeeded", "pending"):
        raise ValueError("status must be 'succeeded' or 'pending'")
    store.refund_status = status
    return {"status": status}


async def _refund_succeed(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return store.finish_refund(request.path_params["id"], succeeded=True)


async def _refund_fail(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return store.finish_refund(request.path_params["id"], succeeded=False)


async def _webhook_mode(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    mode = str(body.get("mode", "normal"))
    store.set_webhook_mode(mode, int(body.get("times", 2)))
    return {"mode": mode}


async def _webhook_endpoint(
    store: StandIn, request: Request, body: dict[str, Any]
) -> dict[str, Any]:
    store.configure_webhook(body.get("url"), body.get("secret"))
    return {"url": store.dispatcher.url}


async def _flush(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    sent = store.flush_webhooks(bool(body.get("reverse", False)))
    if body.get("wait"):
        await anyio.to_thread.run_sync(store.wait_for_deliveries, float(body.get("timeout", 10)))
    return {"flushed": sent}


async def _wait(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    timeout = float(body.get("timeout", 10))
    idle = await anyio.to_thread.run_sync(store.wait_for_deliveries, timeout)
    return {"idle": idle}


async def _redeliver(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    times = int(body.get("times", 1))
    store.redeliver(request.path_params["id"], times, bool(body.get("concurrent", True)))
    if body.get("wait"):
        await anyio.to_thread.run_sync(store.wait_for_deliveries, float(body.get("timeout", 10)))
    return {"event": request.path_params["id"], "times": times}


async def _add_fault(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return asdict(store.add_fault(**body))


async def _list_faults(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"faults": store.faults.pending()}


async def _clear_faults(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    store.faults.clear()
    return {"faults": []}


async def _requests(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"requests": store.requests()}


async def _deliveries(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"deliveries": store.deliveries(), "held": store.dispatcher.held()}


async def _events(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"events": store.events_of(request.query_params.get("type"))}


async def _reset(store: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    store.reset()
    return {"reset": True}
