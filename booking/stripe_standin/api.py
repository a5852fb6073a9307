"""The ``/v1`` routes: auth, idempotency and Stripe-shaped JSON around the state."""

import base64
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import ApiError
from .forms import parse_form
from .idempotency import Stored
from .ids import new_id
from .listing import filter_events, filter_refunds, paginate
from .objects import API_VERSION
from .params import as_expand, reject_unknown
from .state import StandIn

log = logging.getLogger(__name__)
Handler = Callable[[StandIn, dict[str, Any], dict[str, str], dict[str, Any]], dict[str, Any]]
EXPAND = ("expand",)
LIST = ("ending_before", "expand", "limit", "starting_after")
SESSION_LIST = (*LIST, "created", "customer", "customer_details", "payment_intent", "status")
EVENT_LIST = (*LIST, "created", "delivery_success", "type", "types")
REFUND_LIST = (*LIST, "charge", "created", "payment_intent")
_KEY = re.compile(r"^sk_test_[A-Za-z0-9_]+$")


def routes(store: StandIn) -> list[Route]:
    def r(path: str, handler: Handler, method: str, allowed: tuple[str, ...] = EXPAND) -> Route:
        return Route(path, _endpoint(store, handler, allowed), methods=[method])

    return [
        r("/v1/checkout/sessions", _create_session, "POST", ()),
        r("/v1/checkout/sessions", _list_sessions, "GET", SESSION_LIST),
        r("/v1/checkout/sessions/{id}", _get_session, "GET"),
        r("/v1/checkout/sessions/{id}/line_items", _line_items, "GET", LIST),
        r("/v1/checkout/sessions/{id}/expire", _expire_session, "POST"),
        r("/v1/payment_intents/{id}", _getter("payment_intent", "intent"), "GET"),
        r("/v1/charges/{id}", _getter("charge", "charge"), "GET"),
        r("/v1/refunds", _create_refund, "POST", ()),
        r("/v1/refunds", _list_refunds, "GET", REFUND_LIST),
        r("/v1/refunds/{id}", _getter("refund", "refund"), "GET"),
        r("/v1/events", _list_events, "GET", EVENT_LIST),
        r("/v1/events/{id}", _getter("event", "id"), "GET"),
        Route("/v1/{rest:path}", _unknown_url, methods=["GET", "POST", "DELETE", "PUT"]),
    ]


# -- handlers -----------------------------------------------------------------------------
def _create_session(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    return store.create_session(params, req)


def _list_sessions(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    with store.lock:
        sessions = [r.obj for r in reversed(store.sessions.values())]
        for key in ("payment_intent", "status"):
            if params.get(key):
                sessions = [s for s in sessions if s[key] == params[key]]
        email = (params.get("customer_details") or {}).get("email")
        if email:
            sessions = [s for s in sessions if (s["customer_details"] or {}).get("email") == email]
        page = paginate(sessions, params, "/v1/checkout/sessions")
        return _expand_list(store, page, params)


def _get_session(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    return store.render(store.session(path["id"]).obj, as_expand(params))


def _line_items(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    record = store.session(path["id"])
    url = f"/v1/checkout/sessions/{path['id']}/line_items"
    return _expand_list(store, paginate(record.line_items, params, url), params)


def _expire_session(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    reject_unknown(params, EXPAND)
    store.expire_session(path["id"], req)
    return store.render(store.session(path["id"]).obj, as_expand(params))


def _create_refund(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    return store.create_refund(params, req)


def _list_refunds(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    with store.lock:
        made = [o for o in store.objects.values() if o.get("object") == "refund"]
        refunds = filter_refunds(made, params)
        return _expand_list(store, paginate(refunds, params, "/v1/refunds"), params)


def _list_events(
    store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
) -> dict[str, Any]:
    with store.lock:
        events = filter_events(store.events, params, store.delivered_ids())
        return _expand_list(store, paginate(events, params, "/v1/events"), params)


def _getter(kind: str, param: str) -> Handler:
    def handler(
        store: StandIn, params: dict[str, Any], path: dict[str, Any], req: dict[str, Any]
    ) -> dict[str, Any]:
        return store.render(store.get(kind, path["id"], param), as_expand(params))

    return handler


def _expand_list(store: StandIn, page: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    return store.render(page, as_expand(params))


async def _unknown_url(request: Request) -> Response:
    err = ApiError(
        404,
        f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
    )
    return _json(err.body(), 404, new_id("req_", 14))


# -- plumbing -----------------------------------------------------------------------------
def _endpoint(store: StandIn, handler: Handler, allowed: tuple[str, ...]) -> Any:
    async def endpoint(request: Request) -> Response:
        request_id = new_id("req_", 14)
        try:
            api_key = _authenticate(request.headers.get("authorization", ""))
            raw = request.url.query if request.method == "GET" else await request.body()
            params = parse_form(raw)
            if allowed and request.method == "GET":
                reject_unknown(params, allowed)
            store.sweep()
        except ApiError as exc:
            return _json(exc.body(), exc.status, request_id, exc.headers)
        key = request.headers.get("idempotency-key") if request.method == "POST" else None
        ctx = {"id": request_id, "idempotency_key": key}
        path_params = dict(request.path_params)
        if not key:
            return _json(*_invoke(store, handler, params, path_params, ctx), request_id)
        scope = (api_key, key)
        try:
            if len(key) > 255:
                raise ApiError(400, "Idempotency keys must be at most 255 characters long.")
            stored = store.idempotency.begin(
                scope, request.method, request.url.path, params, store.now()
            )
        except ApiError as exc:
            return _json(exc.body(), exc.status, request_id, exc.headers)
        if stored is not None:
            extra = {"Idempotent-Replayed": "true", "Original-Request": stored.request_id}
            return _raw(stored.body, stored.status, request_id, extra | {"Idempotency-Key": key})
        try:
            body, status = _invoke(store, handler, params, path_params, ctx)
        except BaseException:
            store.idempotency.finish(scope, None)
            raise
        encoded = _encode(body)
        keep = None
        if status < 400 or status >= 500:  # Stripe keeps no result for rejected params
            keep = Stored(
                request.method, request.url.path, params, status, encoded, request_id, store.now()
            )
        store.idempotency.finish(scope, keep)
        return _raw(encoded, status, request_id, {"Idempotency-Key": key})

    return endpoint


def _invoke(
    store: StandIn,
    handler: Handler,
    params: dict[str, Any],
    path: dict[str, Any],
    ctx: dict[str, Any],
) -> tuple[dict[str, Any], int]:
    try:
        return handler(store, params, path, ctx), 200
    except ApiError as exc:
        return exc.body(), exc.status
    except Exception:
        log.exception("stand-in handler failed")
        body = {
            "error": {
                "type": "api_error",
                "code": None,
                "param": None,
                "message": "An unknown error occurred.",
            }
        }
        return body, 500


def _authenticate(header: str) -> str:
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        raise ApiError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details.",
        )
    if not _KEY.match(key):
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key
        raise ApiError(401, f"Invalid API Key provided: {masked}")
    return key


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2).encode()


def _json(
    body: dict[str, Any], status: int, request_id: str, extra: dict[str, str] | None = None
) -> Response:
    return _raw(_encode(body), status, request_id, extra)


def _raw(body: bytes, status: int, request_id: str, extra: dict[str, str] | None) -> Response:
    headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION, **(extra or {})}
    return Response(body, status, headers=headers, media_type="application/json")
