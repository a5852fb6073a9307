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
