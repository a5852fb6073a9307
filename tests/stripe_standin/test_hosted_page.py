"""The hosted payment page, driven over plain HTTP as a browser would."""

import html
import re

import pytest

EMAIL_LOCKED = re.compile(r'<input id="email"[^>]*\sreadonly')


def form(card: str, **extra: str) -> dict[str, str]:
    return {"email": "buyer@example.test", "card_number": card, **extra}


async def test_page_shows_items_total_email_and_back_link(create_session, http):
    session = await create_session()
    page = await http.get(session.url)

    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<html lang="en">' in text and "<title>" in text
    assert "Debate night: standard" in text and "Debate night: concession" in text
    assert "£30.00" in text  # 2 x £12.50 + £5.00
    assert 'value="buyer@example.test"' in text and EMAIL_LOCKED.search(text)
    assert '<label for="card_number">Card number</label>' in text
    assert ">Pay</button>" in text
    assert 'href="http://shop.test/checkout/cancelled"' in text and "Back</a>" in text


async def test_paying_with_4242_redirects_to_success_url(create_session, http, client, standin):
    session = await create_session()
    response = await http.post(session.url, data=form("4242 4242 4242 4242"))

    assert response.status_code == 303
    assert response.headers["location"] == (
        f"http://shop.test/checkout/done?session_id={session.id}"
    )
    paid = await client.v1.checkout.sessions.retrieve_async(
        session.id, {"expand": ["payment_intent.latest_charge"]}
    )
    assert (paid.status, paid.payment_status, paid.url) == ("complete", "paid", None)
    assert paid.customer_details.email == "buyer@example.test"
    intent = paid.payment_intent
    assert intent.id.startswith("pi_") and intent.status == "succeeded"
    assert intent.amount == intent.amount_received == 3000
    assert intent.metadata.to_dict() == {"order_id": "42"}
    assert intent.payment_method.startswith("pm_")
    charge = intent.latest_charge
    assert charge.id.startswith("ch_") and charge.paid and charge.status == "succeeded"
    assert charge.payment_method_details.card.last4 == "4242"
    types = [e["type"] for e in standin.events_of()]
    assert types == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]

    again = await http.get(session.url)
    assert "This checkout session is no longer available" in again.text


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("4000 0000 0000 0002", "Your card was declined."),
        ("4000000000009995", "Your card has insufficient funds."),
    ],
)
async def test_declined_cards_keep_the_session_open(create_session, http, client, card, message):
    session = await create_session()
    response = await http.post(session.url, data=form(card))

    assert response.status_code == 402
    assert message in html.unescape(response.text)
    assert 'role="alert"' in response.text
    still = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert (still.status, still.payment_status, still.payment_intent) == ("open", "unpaid", None)

    retry = await http.post(session.url, data=form("4242424242424242"))
    assert retry.status_code == 303


@pytest.mark.parametrize(
    ("card", "extra", "message"),
    [
        ("4242 4242 4242 4241", {}, "Your card number is invalid."),
        ("4242", {}, "Your card number is incomplete."),
        ("", {}, "Your card number is incomplete."),
        ("4111 1111 1111 1111", {}, "non test (live) card"),
        ("4242424242424242", {"card_expiry": "13/30"}, "expiration date is incomplete"),
        ("4242424242424242", {"card_expiry": "01/20"}, "expiration year is in the past"),
        ("4242424242424242", {"card_cvc": "12"}, "security code is incomplete"),
    ],
)
async def test_malformed_input_gets_a_clear_error(
    create_session, http, standin, card, extra, message
):
    session = await create_session()
    response = await http.post(session.url, data=form(card, **extra))

    assert response.status_code == 400
    assert message in html.unescape(response.text)
    assert standin.session(session.id).obj["status"] == "open"
    assert standin.events_of() == []  # nothing reached the card network


async def test_email_is_asked_for_when_not_prefilled(create_session, http):
    session = await create_session(customer_email=None)
    page = await http.get(session.url)
    assert not EMAIL_LOCKED.search(page.text)
    missing = await http.post(session.url, data={"card_number": "4242424242424242"})
    assert "Your email is incomplete." in missing.text
    ok = await http.post(session.url, data=form("4242424242424242", email="typed@example.test"))
    assert ok.status_code == 303


async def test_expired_and_unknown_sessions(create_session, http, client):
    session = await create_session()
    await client.v1.checkout.sessions.expire_async(session.id)
    gone = await http.get(f"/c/pay/{session.id}")
    assert "This checkout session is no longer available" in gone.text
    late = await http.post(f"/c/pay/{session.id}", data=form("4242424242424242"))
    assert "This checkout session is no longer available" in late.text
    assert (await http.get("/c/pay/cs_test_missing")).status_code == 404


async def test_delayed_payment_then_async_success(create_session, http, client, standin):
    session = await create_session()
    response = await http.post(session.url, data=form("", delayed="1"))
    assert response.status_code == 303

    pending = await client.v1.checkout.sessions.retrieve_async(session.id)
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert standin.events_of("checkout.session.completed")

    settled = await http.post(f"/_test/checkout/{session.id}/async_succeed")
    assert settled.json()["payment_status"] == "paid"
    assert standin.events_of("checkout.session.async_payment_succeeded")
    intent = await client.v1.payment_intents.retrieve_async(pending.payment_intent)
    assert intent.status == "succeeded"


async def test_delayed_payment_then_async_failure(create_session, http, standin):
    session = await create_session()
    paid = await http.post(f"/_test/checkout/{session.id}/pay", json={"delayed": True})
    assert paid.json()["ok"] is True

    failed = await http.post(f"/_test/checkout/{session.id}/async_fail")
    assert failed.json()["payment_status"] == "unpaid"
    assert standin.events_of("checkout.session.async_payment_failed")
    again = await http.post(f"/_test/checkout/{session.id}/async_fail")
    assert again.status_code == 400


async def test_programmatic_pay_control(create_session, http):
    session = await create_session()
    declined = await http.post(
        f"/_test/checkout/{session.id}/pay", json={"card": "4000000000000002"}
    )
    assert declined.status_code == 402
    assert declined.json()["decline_code"] == "generic_decline"
    ok = await http.post(f"/_test/checkout/{session.id}/pay", json={"card": "pm_card_visa"})
    assert ok.status_code == 200
    assert ok.json()["redirect_url"].endswith(f"session_id={session.id}")
    closed = await http.post(f"/_test/checkout/{session.id}/pay", json={})
    assert closed.status_code == 400
