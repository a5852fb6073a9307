"""Holds that lapse, payments that arrive late, and refunds owed: the background jobs."""

import asyncio

from sqlmodel import select

from booking import checkout
from booking.models import Order, OrderStatus
from tests.helpers import buy, session_id_of, ticket_types


def run(coro):
    return asyncio.run(coro)


def services(app):
    return app.state.services


def test_sweep_releases_lapsed_holds_and_expires_their_sessions(
    client, app, session, event, standin, clock
):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 5}))
    assert "Sold out" in client.get(f"/events/{event.slug}").text  # every seat is held
    clock.advance(minutes=31)
    # Seats are free again the moment the hold lapses, before any sweep.
    assert buy(client, event, {standard.id: 5}).status_code == 303
    swept = client.portal.call(checkout.sweep_lapsed, services(app))
    assert swept == 1
    first = session.exec(select(Order).where(Order.stripe_session_id == cs_id)).one()
    assert first.status == OrderStatus.EXPIRED
    assert standin.session(cs_id).obj["status"] == "expired"
    assert client.portal.call(checkout.sweep_lapsed, services(app)) == 0


def test_paid_after_lapse_with_seats_left_is_confirmed(client, app, session, event, standin, clock):
    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    clock.advance(minutes=31)
    result = standin.pay(cs_id, "4242424242424242")  # Stripe's session is still open
    client.get(result.redirect_url.replace("http://testserver", ""))
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.PAID


def test_paid_after_lapse_when_sold_out_is_refunded_through_stripe(
    client, app, session, event, standin, clock
):
    standard, _ = ticket_types(session, event)
    late_cs = session_id_of(buy(client, event, {standard.id: 5}))
    clock.advance(minutes=31)
    assert buy(client, event, {standard.id: 5}, email="b@example.com").status_code == 303
    result = standin.pay(late_cs, "4242424242424242")
    response = client.get(result.redirect_url.replace("http://testserver", ""))
    late = session.exec(select(Order).where(Order.stripe_session_id == late_cs)).one()
    assert late.status == OrderStatus.REFUNDED and late.status_reason == "sold_out"
    page = client.get(response.headers["location"])
    assert "sold out before your payment arrived" in page.text
    assert client.portal.call(checkout.settle_refunds, services(app)) == 1
    late = session.exec(select(Order).where(Order.id == late.id)).one()
    assert late.amount_refunded == late.total and late.refund_due == 0
    refunds = [r for r in standin.requests() if r["path"] == "/v1/refunds"]
    assert len(refunds) == 1
    assert refunds[0]["params"]["payment_intent"] == late.stripe_payment_intent
    # Nothing more is owed, so nothing more is sent.
    assert client.portal.call(checkout.settle_refunds, services(app)) == 0


def test_a_refund_retried_after_a_lost_answer_is_sent_once(
    client, app, session, event, standin, clock
):
    standard, _ = ticket_types(session, event)
    late_cs = session_id_of(buy(client, event, {standard.id: 5}))
    clock.advance(minutes=31)
    buy(client, event, {standard.id: 5}, email="b@example.com")
    client.get(
        standin.pay(late_cs, "4242424242424242").redirect_url.replace("http://testserver", "")
    )
    # Stripe makes the refund but the answer is lost, three times (every library retry).
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    assert client.portal.call(checkout.settle_refunds, services(app)) == 0
    assert client.portal.call(checkout.settle_refunds, services(app)) == 1
    refunds = {r["id"] for r in standin.events_of("refund.created")}
    assert len(refunds) == 1  # the idempotency key made the retries one refund


def test_a_refund_pending_for_more_than_a_day_is_adopted_not_made_twice(
    client, app, session, event, standin, clock, organiser
):
    """Stripe forgets an idempotency key after 24 hours: a refund whose answers were lost
    for longer is found among the charge's refunds (by its metadata), not sent again."""
    from booking.domain import order_refunds
    from booking.models import Refund, Ticket

    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    client.get(standin.pay(cs_id, "4242424242424242").redirect_url.replace("http://testserver", ""))
    order = session.exec(select(Order)).one()
    ticket = session.exec(select(Ticket).where(Ticket.order_id == order.id)).first()
    with app.state.services.db.write_session() as s:
        order_refunds.refund_tickets(
            s,
            order_id=order.id,
            ticket_ids={ticket.id},
            reason="Cannot come",
            actor=organiser,
            now=clock.now,
        )
    # Stripe makes the refund but every answer is lost.
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    assert client.portal.call(checkout.settle_refunds, services(app)) == 0
    # A long outage later, Stripe no longer knows the key.
    clock.advance(hours=25)
    standin.advance_clock(25 * 3600)
    assert client.portal.call(checkout.settle_refunds, services(app)) == 1
    made = standin.events_of("refund.created")
    assert len(made) == 1  # adopted, not made again
    refund = session.exec(select(Refund)).one()
    assert (
        refund.status == "succeeded" and refund.stripe_refund_id == made[0]["data"]["object"]["id"]
    )
    order = session.exec(select(Order)).one()
    assert order.amount_refunded == refund.amount and order.refund_due == 0
    assert client.portal.call(checkout.settle_refunds, services(app)) == 0
