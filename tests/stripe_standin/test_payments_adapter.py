"""booking.payments against the stand-in: dataclasses out, buyer-safe errors."""

import dataclasses
import json
import time
from datetime import UTC, datetime

import pytest
import stripe

from booking.payments import (
    CheckoutSession,
    InvalidWebhook,
    LineItem,
    PaymentError,
    Payments,
    Refund,
    WebhookEvent,
)

from .conftest import SECRET


def assert_plain(value) -> None:
    """No Stripe objects anywhere inside ``value``."""
    assert not isinstance(value, stripe.StripeObject)
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            assert_plain(getattr(value, f.name))
    elif isinstance(value, dict):
        assert type(value) is dict
        for v in value.values():
            assert_plain(v)
    elif isinstance(value, list | tuple):
        for v in value:
            assert_plain(v)


async def test_create_checkout_sends_booking_params(payments, standin, hold_until, checkout_args):
    expires_at = hold_until()
    args = checkout_args(expires_at) | {"description": "Order 7"}
    session = await payments.create_checkout(**args)

    assert isinstance(session, CheckoutSession) and session.id.startswith("cs_test_")
    assert (session.status, session.payment_status, session.payment_intent) == (
        "open",
        "unpaid",
        None,
    )
    assert (session.amount_total, session.currency) == (3000, "gbp")
    assert session.client_reference_id == "order_7"
    assert session.metadata == {"order_id": "7"}
    assert session.customer_email == "buyer@example.test"
    assert session.expires_at == expires_at.replace(microsecond=0)
    assert session.expires_at.tzinfo is not None
    assert session.url.endswith(f"/c/pay/{session.id}")
    assert session.lines == ()  # not asked for on create: the app needs only the id and url
    assert_plain(session)
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.status = "complete"

    (sent,) = standin.requests()
    params = sent["params"]
    assert sent["idempotency_key"] == "checkout:order_7:1"
    assert params["mode"] == "payment"
    assert params["line_items"] == [
        {
            "quantity": "2",
            "price_data": {
                "currency": "gbp",
                "unit_amount": "1500",
                "product_data": {"name": "Debate night"},
            },
        }
    ]
    assert params["payment_intent_data"] == {
        "metadata": {"order_id": "7"},
        "description": "Order 7",
    }
    assert (params["submit_type"], params["locale"]) == ("book", "en-GB")
    assert params["expires_at"] == str(int(expires_at.timestamp()))
    assert params["success_url"].endswith("{CHECKOUT_SESSION_ID}")
    assert params["cancel_url"] == "http://shop.test/cancel"
    assert sent["stripe_version"] == stripe.api_version


async def test_create_checkout_is_idempotent_per_key(payments, standin, hold_until, checkout_args):
    first = await payments.create_checkout(**checkout_args(hold_until()))
    second = await payments.create_checkout(**checkout_args(hold_until()))
    assert first.id == second.id and len(standin.sessions) == 1


async def test_naive_expiry_is_refused(payments, checkout_args):
    with pytest.raises(ValueError):
        await payments.create_checkout(**checkout_args(datetime.now()))


async def test_bad_params_become_buyer_safe_errors(payments, hold_until, checkout_args):
    with pytest.raises(PaymentError) as err:
        await payments.create_checkout(**checkout_args(hold_until(5)))  # < 30 minutes
    assert not err.value.retryable
    assert err.value.code == "parameter_invalid_integer"
    assert "expires_at" not in str(err.value)


async def test_retrieve_after_payment(payments, http, hold_until, checkout_args):
    created = await payments.create_checkout(**checkout_args(hold_until()))
    await http.post(
        f"/_test/checkout/{created.id}/pay", json={"email": "x@y.test", "card": "4242424242424242"}
    )
    session = await payments.retrieve_checkout(created.id)
    assert (session.status, session.payment_status, session.url) == ("complete", "paid", None)
    assert session.payment_intent.startswith("pi_")
    assert session.lines == (LineItem("Debate night", 1500, 2, "gbp"),)
    assert_plain(session)


async def test_expire_checkout(payments, http, hold_until, checkout_args):
    open_one = await payments.create_checkout(**checkout_args(hold_until()))
    expired = await payments.expire_checkout(open_one.id)
    assert (expired.status, expired.url) == ("expired", None)

    again = await payments.expire_checkout(open_one.id)  # already expired: no error
    assert again.status == "expired"

    args = checkout_args(hold_until()) | {"idempotency_key": "checkout:order_7:2"}
    paid = await payments.create_checkout(**args)
    await http.post(f"/_test/checkout/{paid.id}/pay", json={})
    raced = await payments.expire_checkout(paid.id)
    assert (raced.status, raced.payment_status) == ("complete", "paid")

    with pytest.raises(PaymentError) as err:
        await payments.expire_checkout("cs_test_unknown")
    assert err.value.code == "resource_missing" and err.value.http_status == 404


async def test_refunds(payments, http, standin, hold_until, checkout_args):
    session = await payments.create_checkout(**checkout_args(hold_until()))
    await http.post(f"/_test/checkout/{session.id}/pay", json={})
    intent = standin.session(session.id).payment_intent

    part = await payments.refund(
        payment_intent=intent, amount=1000, idempotency_key="refund:7:1", metadata={"why": "x"}
    )
    assert isinstance(part, Refund)
    assert (part.status, part.amount, part.currency, part.payment_intent) == (
        "succeeded",
        1000,
        "gbp",
        intent,
    )
    replay = await payments.refund(
        payment_intent=intent, amount=1000, idempotency_key="refund:7:1", metadata={"why": "x"}
    )
    assert replay == part  # same key, same params -> same refund
    with pytest.raises(PaymentError) as err:
        await payments.refund(payment_intent=intent, amount=999, idempotency_key="refund:7:1")
    assert err.value.code is None and not err.value.retryable  # idempotency_error
    with pytest.raises(PaymentError) as err:
        await payments.refund(
            payment_intent=intent, amount=1000, idempotency_key="refund:7:1b", reason="duplicate"
        ) if False else None or await payments.refund(
            payment_intent=intent, amount=5000, idempotency_key="refund:7:2"
        )
    assert err.value.code == "amount_too_large" and not err.value.retryable
    rest = await payments.refund(payment_intent=intent, amount=None, idempotency_key="refund:7:3")
    assert rest.amount == 2000
    assert_plain(rest)


async def test_auth_failure_is_not_retryable(base_url, hold_until, checkout_args):
    async with Payments(secret_key="rk_wrong", webhook_secret=SECRET, api_base=base_url) as bad:
        with pytest.raises(PaymentError) as err:
            await bad.create_checkout(**checkout_args(hold_until()))
    assert err.value.http_status == 401 and not err.value.retryable


async def test_parse_webhook_accepts_a_real_delivery(
    payments, http, receiver, hold_until, checkout_args
):
    session = await payments.create_checkout(**checkout_args(hold_until()))
    await http.post(f"/_test/checkout/{session.id}/pay", json={})
    (delivery,) = receiver.wait_for_type("checkout.session.completed")

    event = payments.parse_webhook(delivery["body"], delivery["signature"])
    assert isinstance(event, WebhookEvent)
    assert event.type == "checkout.session.completed" and event.id.startswith("evt_")
    assert event.object_id == session.id
    assert event.object["payment_status"] == "paid"
    assert event.object["metadata"] == {"order_id": "7"}
    assert event.created.tzinfo is not None
    assert_plain(event)


def signed(payload: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


@pytest.fixture
def payload() -> str:
    obj = {"id": "ch_1", "object": "charge", "amount": 100, "payment_intent": "pi_1"}
    event = {
        "id": "evt_1",
        "object": "event",
        "api_version": stripe.api_version,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "charge.refunded",
        "data": {"object": obj},
    }
    return json.dumps(event)


def test_parse_webhook_valid(payments, payload):
    event = payments.parse_webhook(payload.encode(), signed(payload))
    assert (event.id, event.type, event.object_id) == ("evt_1", "charge.refunded", "ch_1")
    assert event.created == datetime.fromtimestamp(json.loads(payload)["created"], UTC)


@pytest.mark.parametrize(
    "case", ["forged", "wrong_secret", "missing", "empty", "too_old", "tampered", "not_json"]
)
def test_parse_webhook_rejects(payments, payload, case):
    body, header = payload, signed(payload)
    if case == "forged":
        header = f"t={int(time.time())},v1={'0' * 64}"
    elif case == "wrong_secret":
        header = signed(payload, secret="whsec_someone_else")
    elif case == "missing":
        header = None
    elif case == "empty":
        header = ""
    elif case == "too_old":
        header = signed(payload, timestamp=int(time.time()) - 301)
    elif case == "tampered":
        body = payload.replace('"amount": 100', '"amount": 1')
    elif case == "not_json":
        body = "not json"
        header = signed(body)
    with pytest.raises(InvalidWebhook):
        payments.parse_webhook(body.encode(), header)


async def test_list_refunds_of_a_payment_newest_first(
    payments, http, client, standin, hold_until, checkout_args
):
    """GET /v1/refunds filtered by payment_intent or charge, as Stripe lists them: newest
    first, with metadata, paged with starting_after."""
    mine = await payments.create_checkout(**checkout_args(hold_until()))
    await http.post(f"/_test/checkout/{mine.id}/pay", json={})
    other_args = checkout_args(hold_until()) | {"idempotency_key": "checkout:other"}
    other = await payments.create_checkout(**other_args)
    await http.post(f"/_test/checkout/{other.id}/pay", json={})
    intent = standin.session(mine.id).payment_intent
    other_intent = standin.session(other.id).payment_intent
    made = []
    for n in range(3):
        made.append(
            await payments.refund(
                payment_intent=intent,
                amount=100,
                idempotency_key=f"refund:list:{n}",
                metadata={"refund": str(n)},
            )
        )
    await payments.refund(payment_intent=other_intent, amount=100, idempotency_key="refund:o:1")
    listed = await payments.list_refunds(payment_intent=intent)
    assert [r.id for r in listed] == [r.id for r in reversed(made)]
    assert [r.metadata for r in listed] == [{"refund": "2"}, {"refund": "1"}, {"refund": "0"}]
    assert await payments.list_refunds(payment_intent="pi_unknown") == []

    charge = standin.get("payment_intent", intent)["latest_charge"]
    page = await client.v1.refunds.list_async({"charge": charge, "limit": 2})
    assert [r.id for r in page.data] == [made[2].id, made[1].id] and page.has_more
    rest = await client.v1.refunds.list_async({"charge": charge, "starting_after": made[1].id})
    assert [r.id for r in rest.data] == [made[0].id] and not rest.has_more
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.refunds.list_async({"amount": 100})  # not a filter Stripe offers


async def test_the_charge_of_a_payment_as_stripe_has_it_now(
    payments, http, standin, hold_until, checkout_args
):
    """What a refund Stripe refused as too large is bounded by: the PaymentIntent's latest
    charge, its refunds so far and the order reference it carries."""
    session = await payments.create_checkout(**checkout_args(hold_until()))
    intent = standin.session(session.id).payment_intent
    assert intent is None  # no PaymentIntent before the buyer pays
    await http.post(f"/_test/checkout/{session.id}/pay", json={})
    intent = standin.session(session.id).payment_intent
    standin.create_refund({"payment_intent": intent, "amount": "700"})  # in the dashboard

    charge = await payments.charge_of(intent)
    assert charge is not None and charge.payment_intent == intent
    assert (charge.amount, charge.amount_refunded, charge.left) == (3000, 700, 2300)
    assert charge.metadata == checkout_args(hold_until())["metadata"]
    assert await payments.retrieve_charge(charge.id) == charge
    with pytest.raises(PaymentError) as err:
        await payments.charge_of("pi_unknown")
    assert err.value.code == "resource_missing"
