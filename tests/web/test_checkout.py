"""The buy flow through HTTP, against the Stripe stand-in on loopback."""

from urllib.parse import urlsplit

from sqlmodel import select

from booking import checkout
from booking.models import Order, OrderStatus, Ticket, TicketStatus
from tests.factories import make_event, make_ticket_type
from tests.helpers import buy, session_id_of, ticket_types


def test_checkout_creates_a_stripe_session_from_database_prices(client, session, event, standin):
    standard, concession = ticket_types(session, event)
    response = buy(client, event, {standard.id: 2, concession.id: 1})
    assert response.status_code == 303
    cs_id = session_id_of(response)
    assert cs_id.startswith("cs_test_")
    created = next(
        r
        for r in standin.requests()
        if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"
    )
    params = created["params"]
    order = session.exec(select(Order)).one()
    assert params["mode"] == "payment"
    assert params["customer_email"] == "ada@example.com"
    assert params["client_reference_id"] == order.reference
    assert params["metadata"]["order_reference"] == order.reference
    assert params["payment_intent_data"]["metadata"]["order_reference"] == order.reference
    amounts = (
        sorted(
            (int(li["price_data"]["unit_amount"]), int(li["quantity"]))
            for li in params["line_items"].values()
        )
        if isinstance(params["line_items"], dict)
        else sorted(
            (int(li["price_data"]["unit_amount"]), int(li["quantity"]))
            for li in params["line_items"]
        )
    )
    assert amounts == [(500, 1), (1000, 2)]
    assert int(params["expires_at"]) == int(order.expires_at.timestamp())
    assert "{CHECKOUT_SESSION_ID}" in params["success_url"]
    assert created["idempotency_key"] == f"checkout:{order.reference}"
    assert order.total == 2500 and order.stripe_session_id == cs_id


def test_paying_shows_the_tickets_before_any_webhook(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    result = standin.pay(cs_id, "4242424242424242")
    success = urlsplit(result.redirect_url)
    assert success.path == "/checkout/success"
    response = client.get(f"{success.path}?{success.query}")
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "You're booked" in page.text
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.PAID and order.stripe_payment_intent.startswith("pi_")
    tickets = session.exec(select(Ticket)).all()
    assert len(tickets) == 2 and all(t.status == TicketStatus.VALID for t in tickets)
    assert tickets[0].code[:4] in page.text


def test_form_errors_keep_what_was_typed_and_write_nothing(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    response = buy(client, event, {standard.id: 7}, name="", email="not-an-email")
    assert response.status_code == 400
    html = response.text
    assert "There is a problem" in html
    assert "Enter your full name" in html
    assert "Enter an email address in the correct format" in html
    assert "must be 6 or fewer" in html
    assert 'value="not-an-email"' in html and 'value="7"' in html
    assert html.startswith("<!doctype html>") and "<title>Error: " in html
    assert session.exec(select(Order)).all() == []
    assert standin.requests() == []


def test_nothing_chosen(client, session, event, standin):
    response = buy(client, event, {})
    assert response.status_code == 400
    assert "Select how many tickets you want" in response.text


def test_more_than_remain_says_how_many_are_left(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    assert buy(client, event, {standard.id: 4}).status_code == 303
    response = buy(client, event, {standard.id: 2})
    assert response.status_code == 409
    assert "Only 1 tickets are left" in response.text or "Only 1 Standard" in response.text


def test_free_orders_skip_stripe(client, session, standin):
    event = make_event(session)
    free = make_ticket_type(session, event, price=0, name="Free ticket")
    response = buy(client, event, {free.id: 2})
    assert response.status_code == 303 and response.headers["location"].startswith("/orders/")
    assert "You're booked" in client.get(response.headers["location"]).text
    assert standin.requests() == []


def test_a_stripe_failure_releases_the_hold(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    standin.add_fault(
        path_prefix="/v1/checkout/sessions", method="POST", status=500, count=3
    )  # every retry
    response = buy(client, event, {standard.id: 5})
    assert response.status_code == 503
    assert "nothing has been charged" in response.text
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.EXPIRED
    assert buy(client, event, {standard.id: 5}).status_code == 303  # seats are back


def test_cancel_expires_the_session_and_releases_the_seats(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 5}))
    order = session.exec(select(Order)).one()
    response = client.get(f"/checkout/cancel/{order.token}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/events/{event.slug}?cancelled=1"
    assert session.exec(select(Order)).one().status == OrderStatus.EXPIRED
    assert standin.session(cs_id).obj["status"] == "expired"
    assert buy(client, event, {standard.id: 5}).status_code == 303


def test_cancel_while_stripe_is_down_frees_the_seats_and_the_sweeper_expires_the_session(
    client, app, session, event, standin
):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 5}))
    order = session.exec(select(Order)).one()
    standin.add_fault(path_prefix=f"/v1/checkout/sessions/{cs_id}", status=500, count=3)
    response = client.get(f"/checkout/cancel/{order.token}")
    assert response.headers["location"] == f"/events/{event.slug}?cancelled=1"
    assert buy(client, event, {standard.id: 5}).status_code == 303  # the seats are free at once
    assert standin.session(cs_id).obj["status"] == "open"
    # Stripe is back: the next sweep expires the session nobody should pay any more.
    assert client.portal.call(checkout.sweep_lapsed, app.state.services) == 1
    assert standin.session(cs_id).obj["status"] == "expired"
    assert session.exec(select(Order).where(Order.id == order.id)).one().status == "expired"


def test_success_for_an_unknown_session_is_404(client, standin):
    assert client.get("/checkout/success?session_id=cs_test_nope").status_code == 404
    assert client.get("/checkout/success?session_id=https://evil.example").status_code == 404
    assert client.get("/orders/not-a-token").status_code == 404
    assert client.get("/checkout/success?session_id=cs_%00").status_code == 400  # NUL
    assert client.get("/checkout/cancel/%00%00").status_code == 404


def test_post_without_csrf_token_is_refused(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    client.get(f"/events/{event.slug}")
    response = client.post(
        f"/events/{event.slug}/checkout",
        data={"name": "A", "email": "a@example.com", f"qty-{standard.id}": "1"},
    )
    assert response.status_code == 403
    assert session.exec(select(Order)).all() == []
