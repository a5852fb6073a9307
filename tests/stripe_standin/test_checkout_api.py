"""Checkout Session endpoints through the real stripe library."""

import time

import pytest
import stripe


async def test_create_returns_an_open_session(create_session, base_url, standin):
    session = await create_session()

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert session.mode == "payment" and session.ui_mode == "hosted_page"
    assert session.amount_total == session.amount_subtotal == 2 * 1250 + 500
    assert session.currency == "gbp"
    assert session.url == f"{base_url}/c/pay/{session.id}"
    assert session.payment_intent is None
    assert session.customer_email == "buyer@example.test"
    assert session.client_reference_id == "order_42"
    assert session.metadata.to_dict() == {"order_id": "42"}
    assert (session.submit_type, session.locale) == ("book", "en-GB")
    assert session.success_url.endswith("{CHECKOUT_SESSION_ID}")
    assert session.last_response.request_id.startswith("req_")
    assert standin.session(session.id).intent_data["metadata"] == {"order_id": "42"}


async def test_retrieve_with_expand_and_line_items(client, create_session):
    session = await create_session()
    sessions = client.v1.checkout.sessions

    plain = await sessions.retrieve_async(session.id)
    assert "line_items" not in plain
    full = await sessions.retrieve_async(session.id, {"expand": ["line_items", "payment_intent"]})
    items = full.line_items.data
    assert [(i.description, i.quantity, i.amount_total) for i in items] == [
        ("Debate night: standard", 2, 2500),
        ("Debate night: concession", 1, 500),
    ]
    assert items[0].id.startswith("li_") and items[0].object == "item"
    assert items[0].price.id.startswith("price_") and items[0].price.unit_amount == 1250
    assert items[0].price.product.startswith("prod_")

    listed = await sessions.line_items.list_async(session.id, {"limit": 1})
    assert listed.has_more and listed.url == f"/v1/checkout/sessions/{session.id}/line_items"
    every = [item.id async for item in listed.auto_paging_iter()]
    assert every == [i.id for i in items]

    deep = await sessions.retrieve_async(session.id, {"expand": ["line_items.data.price.product"]})
    assert deep.line_items.data[0].price.product.name == "Debate night: standard"


async def test_expire_only_while_open(client, create_session, standin):
    session = await create_session()
    expired = await client.v1.checkout.sessions.expire_async(session.id)
    assert (expired.status, expired.url) == ("expired", None)
    assert [e["type"] for e in standin.events_of()] == ["checkout.session.expired"]

    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.checkout.sessions.expire_async(session.id)
    assert err.value.http_status == 400
    assert "status of `expired`" in err.value.user_message


@pytest.mark.parametrize(
    ("overrides", "param", "code"),
    [
        ({"line_items": None}, "line_items", "parameter_missing"),
        ({"mode": None}, "mode", "parameter_missing"),
        ({"success_url": None}, "success_url", "parameter_missing"),
        (
            {"line_items": [{"price_data": {"currency": "gbp", "unit_amount": 100}}]},
            "line_items[0][quantity]",
            "parameter_missing",
        ),
        (
            {
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": "gbp", "unit_amount": 100}}
                ]
            },
            "line_items[0][price_data][product_data]",
            "parameter_missing",
        ),
        (
            {
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {"currency": "gbp", "product_data": {"name": "x"}},
                    }
                ]
            },
            "line_items[0][price_data][unit_amount]",
            "parameter_missing",
        ),
        (
            {"line_items": [{"quantity": 1, "price_data": {"unit_amount": 100}}]},
            "line_items[0][price_data][currency]",
            "parameter_missing",
        ),
        (
            {
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "gbp",
                            "unit_amount": 100,
                            "product_data": {"description": "no name"},
                        },
                    }
                ]
            },
            "line_items[0][price_data][product_data][name]",
            "parameter_missing",
        ),
        ({"expires_at": int(time.time()) + 60}, "expires_at", "parameter_invalid_integer"),
        ({"expires_at": int(time.time()) + 25 * 3600}, "expires_at", "parameter_invalid_integer"),
        ({"customer_email": "not-an-email"}, "customer_email", "email_invalid"),
        ({"locale": "en-XX"}, "locale", "parameter_invalid_string"),
        ({"ui_mode": "hosted"}, "ui_mode", "parameter_invalid_string"),
        ({"sucess_url": "http://typo.test"}, "sucess_url", "parameter_unknown"),
    ],
)
async def test_validation_errors_carry_the_param(create_session, standin, overrides, param, code):
    with pytest.raises(stripe.InvalidRequestError) as err:
        await create_session(**overrides)
    assert err.value.http_status == 400
    assert err.value.param == param
    assert err.value.code == code
    assert err.value.json_body["error"]["type"] == "invalid_request_error"
    assert standin.sessions == {}


async def test_amount_below_minimum_is_rejected(create_session):
    line = {
        "quantity": 1,
        "price_data": {"currency": "gbp", "unit_amount": 10, "product_data": {"name": "x"}},
    }
    with pytest.raises(stripe.InvalidRequestError) as err:
        await create_session(line_items=[line])
    assert err.value.code == "amount_too_small"


async def test_unknown_ids_are_404_resource_missing(client):
    cases = [
        client.v1.checkout.sessions.retrieve_async("cs_test_nope"),
        client.v1.payment_intents.retrieve_async("pi_nope"),
        client.v1.charges.retrieve_async("ch_nope"),
        client.v1.refunds.retrieve_async("re_nope"),
        client.v1.events.retrieve_async("evt_nope"),
    ]
    for call in cases:
        with pytest.raises(stripe.InvalidRequestError) as err:
            await call
        assert err.value.http_status == 404
        assert err.value.code == "resource_missing"
        assert err.value.json_body["error"]["message"].startswith("No such ")


async def test_authentication(http, base_url):
    missing = await http.get("/v1/events")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    live = await http.get("/v1/events", headers={"Authorization": "Bearer sk_live_123456789012"})
    assert live.status_code == 401 and "sk_live_" in live.json()["error"]["message"]

    bad = stripe.HTTPXClient(timeout=5)
    wrong = stripe.StripeClient("pk_test_123", base_addresses={"api": base_url}, http_client=bad)
    with pytest.raises(stripe.AuthenticationError):
        await wrong.v1.events.list_async()
    await bad.close_async()


async def test_responses_carry_request_id_and_unknown_urls_404(http):
    auth = {"Authorization": "Bearer sk_test_x"}
    ok = await http.get("/v1/events", headers=auth)
    assert ok.status_code == 200 and ok.headers["request-id"].startswith("req_")
    assert ok.json() == {"object": "list", "data": [], "has_more": False, "url": "/v1/events"}
    nowhere = await http.get("/v1/customers", headers=auth)
    assert nowhere.status_code == 404
    assert "Unrecognized request URL" in nowhere.json()["error"]["message"]


async def test_events_list_filters(client, create_session):
    first = await create_session()
    second = await create_session()
    await client.v1.checkout.sessions.expire_async(first.id)
    await client.v1.checkout.sessions.expire_async(second.id)

    events = await client.v1.events.list_async({"type": "checkout.session.expired"})
    assert [e.data.object.id for e in events.data] == [second.id, first.id]  # newest first
    assert events.data[0].api_version == stripe.api_version
    assert events.data[0].request.id.startswith("req_")
    one = await client.v1.events.retrieve_async(events.data[0].id)
    assert one.type == "checkout.session.expired"
    wildcard = await client.v1.events.list_async({"type": "checkout.session.*", "limit": 1})
    assert len(wildcard.data) == 1 and wildcard.has_more


async def test_request_log_records_what_the_library_sent(create_session, http):
    await create_session()
    log = (await http.get("/_test/requests")).json()["requests"]
    assert len(log) == 1
    entry = log[0]
    assert (entry["method"], entry["path"], entry["status"]) == (
        "POST",
        "/v1/checkout/sessions",
        200,
    )
    assert entry["params"]["line_items"][0]["price_data"]["product_data"]["name"]
    assert entry["params"]["payment_intent_data"] == {"metadata": {"order_id": "42"}}
    assert entry["idempotency_key"]  # the library always sends one
    assert entry["stripe_version"] == stripe.api_version
