"""List endpoints: pagination and the event filters."""

from typing import Any

from .errors import invalid
from .objects import list_object
from .params import as_bool, as_int, as_list, as_str


def paginate(items: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
    """Stripe's cursor pagination over ``items`` (already in display order)."""
    limit = as_int(params, "limit", "limit", minimum=1) or 10
    if limit > 100:
        raise invalid(
            "limit", "This value must be less than or equal to 100.", "parameter_invalid_integer"
        )
    after = as_str(params, "starting_after", "starting_after")
    before = as_str(params, "ending_before", "ending_before")
    ids = [item["id"] for item in items]
    if after:
        if after not in ids:
            raise invalid("starting_after", f"No such object: '{after}'", "resource_missing")
        window = items[ids.index(after) + 1 :]
        return list_object(url, window[:limit], len(window) > limit)
    if before:
        if before not in ids:
            raise invalid("ending_before", f"No such object: '{before}'", "resource_missing")
        window = items[: ids.index(before)]
        return list_object(url, window[-limit:], len(window) > limit)
    return list_object(url, items[:limit], len(items) > limit)


def filter_events(
    events: list[dict[str, Any]], params: dict[str, Any], delivered: set[str]
) -> list[dict[str, Any]]:
    """Newest first, filtered by ``type``/``types``/``created``/``delivery_success``."""
    wanted = [as_str(params, "type", "type")] if params.get("type") else []
    wanted += as_list(params, "types", "types") or []
    success = as_bool(params, "delivery_success", "delivery_success")
    created = _created(params)
    out = []
    for evt in reversed(events):
        if wanted and not any(_type_matches(evt["type"], w) for w in wanted if w):
            continue
        if success is not None and (evt["id"] in delivered) != success:
            continue
        if not all(_compare(evt["created"], op, value) for op, value in created):
            continue
        out.append(evt)
    return out


def filter_refunds(refunds: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Newest first, filtered by ``charge``/``payment_intent``/``created`` (``GET /v1/refunds``)."""
    charge = as_str(params, "charge", "charge")
    intent = as_str(params, "payment_intent", "payment_intent")
    created = _created(params)
    out = []
    for refund in reversed(refunds):
        if charge and refund["charge"] != charge:
            continue
        if intent and refund["payment_intent"] != intent:
            continue
        if not all(_compare(refund["created"], op, value) for op, value in created):
            continue
        out.append(refund)
    return out


def _type_matches(event_type: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def _created(params: dict[str, Any]) -> list[tuple[str, int]]:
    raw = params.get("created")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [("eq", as_int(params, "created", "created") or 0)]
    if not isinstance(raw, dict):
        raise invalid("created", "Invalid hash")
    out = []
    for op in raw:
        if op not in ("gt", "gte", "lt", "lte"):
            raise invalid(f"created[{op}]", f"Received unknown parameter: created[{op}]")
        out.append((op, as_int(raw, op, f"created[{op}]") or 0))
    return out


def _compare(value: int, op: str, bound: int) -> bool:
    return {
        "eq": value == bound,
        "gt": value > bound,
        "gte": value >= bound,
        "lt": value < bound,
        "lte": value <= bound,
    }[op]
