"""Refunds: full, partial, too much, and the events they raise."""

import pytest
import stripe


@pytest.fixture
async def paid_intent(create_session, http, standin) -> str:
    session = await create_session()
    paid = await http.post(f"/_test/checkout/{session.id}/pay", json={})
    assert paid.json()["ok"]
    return standin.session(session.id).payment_intent


async def test_full_refund(client, paid_intent, receiver, standin):
    refund = await client.v1.refunds.create_async(
        {"payment_intent": paid_intent, "reason": "requested_by_customer", "metadata": {"r": "1"}}
    )
    assert refund.id.startswith("re_") and refund.object == "refund"
    assert (refund.status, refund.amount, refund.currency) == ("succeeded", 3000, "gbp")
    assert refund.payment_intent == paid_intent
    assert refund.reason == "requested_by_customer"
    assert refund.metadata.to_dict() == {"r": "1"}

    charge = await client.v1.charges.retrieve_async(refund.charge)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    (delivery,) = receiver.wait_for_type("charge.refunded")
    assert receiver.wait_for_type("refund.created")
    refunded_event = standin.events_of("charge.refunded")[0]
    assert refunded_event["data"]["object"]["amount_refunded"] == 3000
    assert refunded_event["request"]["id"] == refund.last_response.request_id

    again = await client.v1.refunds.retrieve_async(refund.id)
    assert again.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": paid_intent})
    assert err.value.code == "charge_already_refunded"


async def test_partial_refunds_then_too_much(client, paid_intent):
    first = await client.v1.refunds.create_async({"payment_intent": paid_intent, "amount": 1000})
    assert first.amount == 1000
    charge = await client.v1.charges.retrieve_async(first.charge)
    assert (charge.amount_refunded, charge.refunded) == (1000, False)

    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": paid_intent, "amount": 2500})
    assert (err.value.code, err.value.param) == ("amount_too_large", "amount")
    assert err.value.http_status == 400 and err.value.error.type == "invalid_request_error"
    assert err.value.user_message == (
        "Refund amount (£25.00) is greater than unrefunded amount on charge (£20.00)"
    )
    charge = await client.v1.charges.retrieve_async(first.charge)
    assert charge.amount_refunded == 1000  # nothing was made

    rest = await client.v1.refunds.create_async({"charge": first.charge})
    assert rest.amount == 2000
    charge = await client.v1.charges.retrieve_async(first.charge)
    assert (charge.amount_refunded, charge.refunded) == (3000, True)


async def test_refund_validation(client, create_session, paid_intent):
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": "pi_missing"})
    assert err.value.http_status == 404 and err.value.param == "payment_intent"
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": paid_intent, "reason": "bored"})
    assert err.value.param == "reason"
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": paid_intent, "amount": 0})
    assert err.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.refunds.create_async({})


async def test_pending_refund_that_fails(client, http, paid_intent, standin):
    await http.post("/_test/refunds/status", json={"status": "pending"})
    refund = await client.v1.refunds.create_async({"payment_intent": paid_intent, "amount": 500})
    assert refund.status == "pending"

    failed = await http.post(f"/_test/refunds/{refund.id}/fail")
    assert failed.json()["status"] == "failed"
    charge = await client.v1.charges.retrieve_async(refund.charge)
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    updated = standin.events_of("refund.updated")[0]
    assert updated["data"]["previous_attributes"] == {"status": "pending"}
    assert standin.events_of("refund.failed")


async def test_a_first_refund_for_more_than_the_charge_names_the_charge_amount(client, paid_intent):
    with pytest.raises(stripe.InvalidRequestError) as err:
        await client.v1.refunds.create_async({"payment_intent": paid_intent, "amount": 3001})
    assert (err.value.code, err.value.param, err.value.http_status) == (
        "amount_too_large",
        "amount",
        400,
    )
    assert err.value.user_message == "Refund amount (£30.01) is greater than charge amount (£30.00)"
    assert err.value.error.doc_url == "https://stripe.com/docs/error-codes/amount-too-large"
