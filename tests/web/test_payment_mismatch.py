"""A payment that does not match its order: refunded in full, and everyone is told."""

from sqlmodel import select

from booking import checkout
from booking.models import Order, OrderStatus
from tests.conftest import sign_in
from tests.helpers import buy, session_id_of, ticket_types
from tests.web.test_webhooks import post_event


def _mismatched_payment(client, session, event, standin):  # type: ignore[no-untyped-def]
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    # Stripe took another amount than the order's total (£20.00).
    standin.session(cs_id).obj["amount_total"] = 2500
    result = standin.pay(cs_id, "4242424242424242")
    return cs_id, result


def test_the_success_page_refunds_it_and_tells_the_buyer(client, app, session, event, standin):
    cs_id, result = _mismatched_payment(client, session, event, standin)
    response = client.get(result.redirect_url.replace("http://testserver", ""))
    assert response.status_code == 303
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.REFUNDED and order.status_reason == "payment_mismatch"
    page = client.get(response.headers["location"])
    assert "did not match" in page.text and "£25.00" in page.text
    # The refunds job sends what the buyer paid back through Stripe, once.
    assert client.portal.call(checkout.settle_refunds, app.state.services) == 1
    assert client.portal.call(checkout.settle_refunds, app.state.services) == 0
    made = standin.events_of("refund.created")
    assert [e["data"]["object"]["amount"] for e in made] == [2500]
    # The seats went back on sale.
    standard, _ = ticket_types(session, event)
    assert buy(client, event, {standard.id: 5}, email="b@example.com").status_code == 303


def test_the_webhook_refunds_it_and_answers_200(client, session, event, standin):
    _mismatched_payment(client, session, event, standin)
    completed = standin.events_of("checkout.session.completed")[-1]
    response = post_event(client, completed)
    assert response.status_code == 200
    assert response.json()["outcome"] == "payment_mismatch_refund"
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.REFUNDED and order.refund_due > 0


def test_the_organiser_sees_it_in_the_back_office(client, session, event, standin, organiser):
    _, result = _mismatched_payment(client, session, event, standin)
    client.get(result.redirect_url.replace("http://testserver", ""))
    order = session.exec(select(Order)).one()
    sign_in(client, organiser)
    dashboard = client.get(f"/admin/events/{event.id}/dashboard")
    assert dashboard.status_code == 200
    assert "did not match" in dashboard.text and order.reference in dashboard.text
    detail = client.get(f"/admin/orders/{order.id}")
    assert "did not match" in detail.text and "£25.00" in detail.text
