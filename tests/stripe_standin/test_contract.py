"""Contract: the stand-in's JSON and the adapter's reads must match the stripe library's types.

Every field the stand-in returns (nested objects included, where the library names a class
for them) and every attribute booking.payments reads must be declared in the annotations of
the stripe library's own classes, so neither side can drift away from real Stripe.
"""

from typing import Any

import pytest
import stripe
from stripe._object_classes import get_object_class

from booking import payments as adapter

AUTH = {"Authorization": "Bearer sk_test_contract"}


def declared(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names |= set(getattr(klass, "__annotations__", {}))
    return {n for n in names if not n.startswith("_")} | {"object"}


def class_for(value: dict[str, Any], parent: type | None, key: str | None) -> type | None:
    if "object" in value and isinstance(value["object"], str):
        return get_object_class("V1", value["object"])
    inner = getattr(parent, "_inner_class_types", {}) if parent else {}
    if key in inner and key not in getattr(parent, "_inner_class_dicts", []):
        return inner[key]
    return None  # a free-form hash such as metadata


def undeclared(value: Any, cls: type, path: str) -> list[str]:
    """Fields in ``value`` that ``cls`` (or the class of a nested object) does not declare."""
    problems = []
    allowed = declared(cls)
    for key, item in value.items():
        if key not in allowed:
            problems.append(f"{path}.{key} (not on {cls.__qualname__})")
            continue
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, dict):
                nested = class_for(element, cls, key)
                if nested is not None and nested is not stripe.StripeObject:
                    problems += undeclared(element, nested, f"{path}.{key}")
    return problems


@pytest.fixture
async def everything(create_session, http, client) -> dict[str, dict[str, Any]]:
    """Raw JSON of every object type booking touches, after a full buy-and-refund."""
    session = await create_session()
    await http.post(f"/_test/checkout/{session.id}/pay", json={"card": "4242424242424242"})
    declined = await create_session()
    await http.post(f"/_test/checkout/{declined.id}/pay", json={"card": "4000000000000002"})
    delayed = await create_session()
    await http.post(f"/_test/checkout/{delayed.id}/pay", json={"delayed": True})
    await http.post(f"/_test/checkout/{delayed.id}/async_fail")
    expired = await create_session()
    await client.v1.checkout.sessions.expire_async(expired.id)

    async def get(path: str) -> dict[str, Any]:
        response = await http.get(path, headers=AUTH)
        assert response.status_code == 200, response.text
        return response.json()

    full = await get(
        f"/v1/checkout/sessions/{session.id}?expand[]=line_items&expand[]=payment_intent"
    )
    intent = full["payment_intent"]
    refund = await client.v1.refunds.create_async({"payment_intent": intent["id"], "amount": 100})
    events = await get("/v1/events?limit=100")
    return {
        "checkout.session": full,
        "payment_intent": intent,
        "charge": await get(f"/v1/charges/{intent['latest_charge']}"),
        "refund": await get(f"/v1/refunds/{refund.id}"),
        "item": (await get(f"/v1/checkout/sessions/{session.id}/line_items"))["data"][0],
        "event": events["data"][0],
        "events": events,
    }


async def test_every_field_the_stand_in_returns_is_declared_by_the_library(everything):
    problems = []
    for kind in ("checkout.session", "payment_intent", "charge", "refund", "item", "event"):
        obj = everything[kind]
        assert obj["object"] == kind
        problems += undeclared(obj, get_object_class("V1", kind), kind)
    for event in everything["events"]["data"]:
        problems += undeclared(event, stripe.Event, f"event<{event['type']}>")
    assert problems == []


async def test_every_event_snapshot_is_a_typed_object(everything):
    types = {e["type"] for e in everything["events"]["data"]}
    assert {
        "checkout.session.completed",
        "checkout.session.expired",
        "checkout.session.async_payment_failed",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "refund.created",
    } <= types
    for event in everything["events"]["data"]:
        cls = get_object_class("V1", event["data"]["object"]["object"])
        assert cls is not stripe.StripeObject, event["type"]


class Recorder:
    """Wraps a Stripe object and notes every field read through it."""

    __slots__ = ("_obj", "_reads")

    def __init__(self, obj: stripe.StripeObject, reads: list[tuple[type, str]]) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_reads", reads)

    def __getattr__(self, name: str) -> Any:
        if not hasattr(stripe.StripeObject, name):
            self._reads.append((type(self._obj), name))
        return wrap(getattr(self._obj, name), self._reads)

    def __contains__(self, key: str) -> bool:
        self._reads.append((type(self._obj), key))
        return key in self._obj

    def __getitem__(self, key: str) -> Any:
        self._reads.append((type(self._obj), key))
        return wrap(self._obj[key], self._reads)


def wrap(value: Any, reads: list[tuple[type, str]]) -> Any:
    if isinstance(value, stripe.StripeObject):
        return Recorder(value, reads)
    if isinstance(value, list):
        return [wrap(v, reads) for v in value]
    return value


async def test_every_field_the_adapter_reads_is_declared(client, everything, receiver):
    session = await client.v1.checkout.sessions.retrieve_async(
        everything["checkout.session"]["id"], {"expand": ["line_items", "payment_intent"]}
    )
    refund = await client.v1.refunds.retrieve_async(everything["refund"]["id"])
    event = await client.v1.events.retrieve_async(everything["event"]["id"])

    reads: list[tuple[type, str]] = []
    converted = [
        adapter._to_session(wrap(session, reads)),
        adapter._to_refund(wrap(refund, reads)),
        adapter._to_event(wrap(event, reads)),
    ]
    assert converted[0] == adapter._to_session(session)  # the wrapper changes nothing
    read_names = {(cls.__qualname__, name) for cls, name in reads}
    assert {("Session", "payment_status"), ("LineItem", "quantity"), ("Refund", "status")} <= (
        read_names
    )
    missing = sorted(
        f"{cls.__qualname__}.{name}" for cls, name in reads if name not in declared(cls)
    )
    assert missing == []
