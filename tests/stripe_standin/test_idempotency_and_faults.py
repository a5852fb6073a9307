"""Idempotency keys, injected faults, and how the library and adapter cope."""

import asyncio

import pytest
import stripe

from booking.payments import PaymentError, Payments


async def test_same_key_same_params_replays(client, make_params, standin, http):
    params = make_params()
    sessions = client.v1.checkout.sessions
    first = await sessions.create_async(params, {"idempotency_key": "order-42-a"})
    second = await sessions.create_async(params, {"idempotency_key": "order-42-a"})

    assert first.id == second.id and len(standin.sessions) == 1
    assert second.last_response.headers["idempotent-replayed"] == "true"
    assert second.last_response.headers["original-request"] == first.last_response.request_id
    log = (await http.get("/_test/requests")).json()["requests"]
    assert [r["replayed"] for r in log] == [False, True]


async def test_same_key_different_params_is_an_idempotency_error(client, make_params, standin):
    sessions = client.v1.checkout.sessions
    await sessions.create_async(make_params(), {"idempotency_key": "order-42-b"})
    with pytest.raises(stripe.IdempotencyError) as err:
        await sessions.create_async(
            make_params(client_reference_id="order_43"), {"idempotency_key": "order-42-b"}
        )
    assert err.value.http_status == 400
    assert err.value.json_body["error"]["type"] == "idempotency_error"
    assert len(standin.sessions) == 1


async def test_validation_failures_are_not_remembered(client, make_params, standin):
    sessions = client.v1.checkout.sessions
    with pytest.raises(stripe.InvalidRequestError):
        await sessions.create_async(make_params(mode=None), {"idempotency_key": "k-retry"})
    ok = await sessions.create_async(make_params(), {"idempotency_key": "k-retry"})
    assert ok.status == "open"


async def test_500_then_success_is_retried_with_the_same_key(client, make_params, http, standin):
    fault = {"path_prefix": "/v1/checkout/sessions", "method": "POST", "status": 500, "count": 1}
    assert (await http.post("/_test/faults", json=fault)).status_code == 200

    session = await client.v1.checkout.sessions.create_async(make_params())

    log = [r for r in (await http.get("/_test/requests")).json()["requests"]]
    assert [(r["status"], r["fault"]) for r in log] == [(500, "status:500"), (200, None)]
    assert log[0]["idempotency_key"] == log[1]["idempotency_key"]
    assert list(standin.sessions) == [session.id]


async def test_lost_response_is_replayed_on_retry(client, make_params, standin):
    standin.add_fault(path_prefix="/v1/checkout/sessions", when="after", action="reset")
    session = await client.v1.checkout.sessions.create_async(make_params())

    assert list(standin.sessions) == [session.id]  # created once, answer lost, then replayed
    log = standin.requests()
    assert [r["fault"] for r in log] == ["reset", None]
    assert log[1]["replayed"] is True


async def test_rate_limit_surfaces_as_retryable_payment_error(
    payments, standin, hold_until, checkout_args
):
    standin.add_fault(path_prefix="/v1/checkout/sessions", status=429, count=1)
    with pytest.raises(PaymentError) as err:
        await payments.create_checkout(**checkout_args(hold_until()))
    assert err.value.retryable and err.value.http_status == 429
    assert "try again" in str(err.value)


async def test_timeout_surfaces_as_payment_error(base_url, standin, hold_until, checkout_args):
    standin.add_fault(path_prefix="/v1/checkout/sessions", action="hang", delay=5)
    adapter = Payments(
        secret_key="sk_test_x",
        webhook_secret="whsec_x",
        api_base=base_url,
        timeout=0.3,
        max_network_retries=0,
    )
    try:
        with pytest.raises(PaymentError) as err:
            await adapter.create_checkout(**checkout_args(hold_until()))
    finally:
        await adapter.aclose()
    assert err.value.retryable
    assert "payment provider" in str(err.value) and "Stripe" not in str(err.value)
    assert isinstance(err.value.__cause__, stripe.APIConnectionError)


async def test_concurrent_creates_share_keys_correctly(client, make_params, standin):
    sessions = client.v1.checkout.sessions
    shared = [sessions.create_async(make_params(), {"idempotency_key": "same"}) for _ in range(5)]
    distinct = [
        sessions.create_async(make_params(), {"idempotency_key": f"key-{i}"}) for i in range(10)
    ]
    results = await asyncio.gather(*shared, *distinct)

    assert len({s.id for s in results[:5]}) == 1
    assert len({s.id for s in results[5:]}) == 10
    assert len(standin.sessions) == 11
