"""POST /stripe/webhook: signatures, one action per event id, and the events booking handles."""

import json
import time

import pytest
from sqlmodel import select

from booking.models import Order, OrderStatus, StripeEvent, Ticket, TicketStatus
from booking.settings import STANDIN_WEBHOOK_SECRET
from booking.stripe_standin import sign
from tests.helpers import buy, session_id_of, ticket_types


def post_event(client, event_obj, *, secret=STANDIN_WEBHOOK_SECRET, timestamp=None, header=None):
    body = json.dumps(event_obj).encode()
    signature = header if header is not None else sign(body, secret, timestamp or int(time.time()))
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["Stripe-Signature"] = signature
    return client.post("/stripe/webhook", content=body, headers=headers)


def paid_order(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    standin.pay(cs_id, "4242424242424242")
    completed = standin.events_of("checkout.session.completed")[-1]
    return cs_id, completed


def test_a_signed_completed_event_fulfils_the_order(client, session, event, standin):
    cs_id, completed = paid_order(client, session, event, standin)
    response = post_event(client, completed)
    assert response.status_code == 200 and response.json()["outcome"] == "paid"
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.PAID
    again = post_event(client, completed)
    assert again.json()["outcome"] == "duplicate"
    assert len(session.exec(select(StripeEvent)).all()) == 1


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "missing", "too old", "tampered"],
)
def test_bad_signatures_get_400_and_change_nothing(client, session, event, standin, how):
    cs_id, completed = paid_order(client, session, event, standin)
    if how == "wrong secret":
        response = post_event(client, completed, secret="whsec_forged")
    elif how == "missing":
        response = post_event(client, completed, header="")
    elif how == "too old":
        response = post_event(client, completed, timestamp=int(time.time()) - 301)
    else:
        body = json.dumps(completed).encode()
        header = sign(body, STANDIN_WEBHOOK_SECRET, int(time.time()))
        completed["data"]["object"]["amount_total"] = 1
        response = post_event(client, completed, header=header)
    assert response.status_code == 400
    assert session.exec(select(Order)).one().status == OrderStatus.PENDING
    assert session.exec(select(StripeEvent)).all() == []


def test_event_bodies_are_not_trusted(client, session, event, standin):
    """A correctly signed event that lies about the session changes nothing: the session
    is read back from Stripe, where it is still unpaid."""
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 1}))
    fake = {
        "id": "evt_fake",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {
            "object": {
                "id": cs_id,
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                "amount_total": 1000,
            }
        },
    }
    response = post_event(client, fake)
    assert response.json()["outcome"] == "awaiting_payment"
    assert session.exec(select(Order)).one().status == OrderStatus.PENDING


def test_expired_event_releases_the_hold(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 5}))
    standin.expire_session(cs_id)
    expired = standin.events_of("checkout.session.expired")[-1]
    assert post_event(client, expired).json()["outcome"] == "released"
    assert session.exec(select(Order)).one().status == OrderStatus.EXPIRED


def test_charge_refunded_marks_the_order_refunded(client, session, event, standin):
    cs_id, completed = paid_order(client, session, event, standin)
    post_event(client, completed)
    order = session.exec(select(Order)).one()
    standin.create_refund({"payment_intent": order.stripe_payment_intent})
    refunded = standin.events_of("charge.refunded")[-1]
    assert post_event(client, refunded).status_code == 200
    session.expire_all()
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.REFUNDED and order.amount_refunded == order.total
    assert {t.status for t in session.exec(select(Ticket)).all()} == {TicketStatus.CANCELLED}


def test_unknown_events_are_acknowledged_and_ignored(client, standin):
    response = post_event(
        client,
        {
            "id": "evt_x",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": "cus_1", "object": "customer"}},
        },
    )
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"


def _lying_charge_refunded(order, amount_refunded):  # type: ignore[no-untyped-def]
    return {
        "id": "evt_lie",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {
            "object": {
                "id": "ch_unknown",
                "object": "charge",
                "payment_intent": order.stripe_payment_intent,
                "amount_refunded": amount_refunded,
            }
        },
    }


def test_a_charge_refunded_body_is_not_trusted(client, session, event, standin):
    """A signed charge.refunded whose body claims a refund Stripe never made changes
    nothing: the charge is read back from Stripe."""
    cs_id, completed = paid_order(client, session, event, standin)
    post_event(client, completed)
    order = session.exec(select(Order)).one()
    charge = standin.get("payment_intent", order.stripe_payment_intent)["latest_charge"]
    lie = _lying_charge_refunded(order, order.total)
    lie["data"]["object"]["id"] = charge
    response = post_event(client, lie)
    assert response.status_code == 200
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.PAID and order.amount_refunded == 0
    assert {t.status for t in session.exec(select(Ticket)).all()} == {TicketStatus.VALID}


def test_a_charge_refunded_for_a_charge_stripe_does_not_know_is_acknowledged(
    client, session, event, standin, caplog
):
    cs_id, completed = paid_order(client, session, event, standin)
    post_event(client, completed)
    order = session.exec(select(Order)).one()
    with caplog.at_level("WARNING", logger="booking.webhooks"):
        response = post_event(client, _lying_charge_refunded(order, order.total))
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_charge"
    assert "ch_unknown" in caplog.text
    assert session.exec(select(Order)).one().amount_refunded == 0


def test_a_session_stripe_does_not_know_is_acknowledged_and_logged(client, standin, caplog):
    """Answering 5xx would make Stripe retry it for three days."""
    with caplog.at_level("WARNING", logger="booking.webhooks"):
        response = post_event(
            client,
            {
                "id": "evt_ghost",
                "object": "event",
                "type": "checkout.session.completed",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": {"id": "cs_test_ghost", "object": "checkout.session"}},
            },
        )
    assert response.status_code == 200 and response.json()["outcome"] == "unknown_session"
    assert "cs_test_ghost" in caplog.text


def test_stripe_unreachable_while_reading_a_session_back_asks_for_a_retry(
    client, session, event, standin
):
    cs_id, completed = paid_order(client, session, event, standin)
    standin.add_fault(path_prefix=f"/v1/checkout/sessions/{cs_id}", status=500, count=10)
    assert post_event(client, completed).status_code == 503
    assert session.exec(select(Order)).one().status == OrderStatus.PENDING
