"""Webhook delivery: signatures, retries, expiry by clock, and the delivery switches."""

import json
import re

import stripe

from booking.stripe_standin.app import bind


async def test_events_arrive_signed_and_verifiable(create_session, http, receiver, standin):
    session = await create_session()
    await http.post(f"/_test/checkout/{session.id}/pay", json={"card": "4242424242424242"})

    (delivery,) = receiver.wait_for_type("checkout.session.completed")
    assert delivery["verified"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", delivery["signature"])
    assert delivery["content_type"] == "application/json; charset=utf-8"
    event = json.loads(delivery["body"])
    assert event["id"].startswith("evt_") and event["object"] == "event"
    assert event["api_version"] == stripe.api_version
    assert event["livemode"] is False and event["pending_webhooks"] == 1
    assert event["request"] == {"id": None, "idempotency_key": None}
    snapshot = event["data"]["object"]
    assert snapshot["id"] == session.id and snapshot["payment_status"] == "paid"
    assert snapshot["client_reference_id"] == "order_42"
    assert snapshot["metadata"] == {"order_id": "42"}
    assert "line_items" not in snapshot

    assert standin.wait_for_deliveries()
    stored = standin.get("event", event["id"])
    assert stored["pending_webhooks"] == 0  # acknowledged


async def test_failed_delivery_is_retried_with_a_fresh_signature(
    create_session, client, receiver, standin
):
    receiver.fail_next = 2
    session = await create_session()
    await client.v1.checkout.sessions.expire_async(session.id)

    (delivery,) = receiver.wait_for_type("checkout.session.expired")
    assert standin.wait_for_deliveries()
    attempts = [d for d in standin.deliveries() if d["type"] == "checkout.session.expired"]
    assert [(a["attempt"], a["status"]) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert all(d["verified"] for d in receiver.deliveries)
    assert len({d["id"] for d in receiver.deliveries}) == 1


async def test_unreachable_endpoint_gives_up_after_the_schedule(create_session, client, standin):
    dead = bind()
    port = dead.getsockname()[1]
    dead.close()
    standin.configure_webhook(f"http://127.0.0.1:{port}/webhook")
    schedule = standin.dispatcher.schedule
    standin.dispatcher.schedule = (0, 0.01, 0.01, 0.01, 0.01)
    try:
        session = await create_session()
        await client.v1.checkout.sessions.expire_async(session.id)
        assert standin.wait_for_deliveries(10)
    finally:
        standin.dispatcher.schedule = schedule
    attempts = standin.deliveries()
    assert len(attempts) == 5
    assert all(a["status"] == "ConnectError" and not a["ok"] for a in attempts)
    undelivered = await client.v1.events.list_async({"delivery_success": False})
    assert [e.type for e in undelivered.data] == ["checkout.session.expired"]


async def test_clock_advance_expires_sessions(create_session, http, client, receiver):
    session = await create_session()
    advanced = await http.post("/_test/clock/advance", json={"seconds": 31 * 60})
    assert advanced.json()["expired_sessions"] == 1

    (delivery,) = receiver.wait_for_type("checkout.session.expired")
    assert json.loads(delivery["body"])["data"]["object"]["status"] == "expired"
    expired = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    page = await http.get(f"/c/pay/{session.id}")
    assert "no longer available" in page.text


async def test_sessions_expire_lazily_on_read(create_session, client, standin):
    session = await create_session()
    standin.clock.advance(31 * 60)  # move time without sweeping
    assert standin.session(session.id).obj["status"] == "open"

    seen = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert seen.status == "expired"
    assert len(standin.events_of("checkout.session.expired")) == 1


async def test_hold_then_flush_in_reverse_order(create_session, http, receiver, standin):
    await http.post("/_test/webhooks/mode", json={"mode": "hold"})
    session = await create_session()
    await http.post(f"/_test/checkout/{session.id}/pay", json={})
    assert standin.wait_for_deliveries()
    assert receiver.deliveries == []

    flushed = await http.post("/_test/webhooks/flush", json={"reverse": True, "wait": True})
    assert flushed.json()["flushed"] == 4
    assert [d["type"] for d in receiver.accepted()] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]


async def test_duplicate_mode_sends_each_event_several_times(
    create_session, client, http, receiver
):
    await http.post("/_test/webhooks/mode", json={"mode": "duplicate", "times": 3})
    session = await create_session()
    await client.v1.checkout.sessions.expire_async(session.id)

    copies = receiver.wait_for_type("checkout.session.expired", count=3)
    assert len({c["id"] for c in copies}) == 1


async def test_drop_mode_and_redelivery(create_session, client, http, receiver, standin):
    await http.post("/_test/webhooks/mode", json={"mode": "drop"})
    session = await create_session()
    await client.v1.checkout.sessions.expire_async(session.id)
    assert standin.wait_for_deliveries()
    assert receiver.deliveries == []
    (event,) = standin.events_of("checkout.session.expired")
    fetched = await client.v1.events.retrieve_async(event["id"])
    assert fetched.data.object.id == session.id  # still retrievable for reconciliation

    await http.post("/_test/webhooks/mode", json={"mode": "normal"})
    sent = await http.post(
        f"/_test/events/{event['id']}/redeliver", json={"times": 3, "wait": True}
    )
    assert sent.status_code == 200
    assert [d["id"] for d in receiver.accepted()] == [event["id"]] * 3


async def test_delivery_log_endpoint(create_session, client, http, receiver):
    session = await create_session()
    await client.v1.checkout.sessions.expire_async(session.id)
    await http.post("/_test/webhooks/wait", json={"timeout": 5})
    log = (await http.get("/_test/deliveries")).json()
    assert [(d["type"], d["status"]) for d in log["deliveries"]] == [
        ("checkout.session.expired", 200)
    ]
    assert log["held"] == []
