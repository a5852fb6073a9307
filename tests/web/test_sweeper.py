"""The hold sweeper: one bad order never stalls it, and holds with no payment page behind
them are released soon after they were made."""

from datetime import timedelta

from sqlmodel import select

from booking import checkout
from booking.domain import orders
from booking.models import Order, OrderStatus
from tests.helpers import buy, session_id_of, ticket_types


def _sweep(client, app):  # type: ignore[no-untyped-def]
    return client.portal.call(checkout.sweep_lapsed, app.state.services)


def test_a_strange_answer_for_one_order_does_not_stall_the_others(
    client, app, session, event, standin, clock
):
    standard, _ = ticket_types(session, event)
    first = session_id_of(buy(client, event, {standard.id: 1}))
    clock.advance(minutes=1)
    second = session_id_of(buy(client, event, {standard.id: 1}, email="b@example.com"))
    clock.advance(minutes=31)
    # Stripe answers the first expiry with something that is not a session at all.
    standin.add_fault(path_prefix=f"/v1/checkout/sessions/{first}", status=200)
    assert _sweep(client, app) == 1
    later = session.exec(select(Order).where(Order.stripe_session_id == second)).one()
    assert later.status == OrderStatus.EXPIRED
    assert standin.session(second).obj["status"] == "expired"
    stuck = session.exec(select(Order).where(Order.stripe_session_id == first)).one()
    assert stuck.status == OrderStatus.PENDING  # left for the next sweep
    assert _sweep(client, app) == 1
    assert standin.session(first).obj["status"] == "expired"


def test_a_hold_with_no_payment_page_is_released_after_a_short_grace(
    client, app, session, event, clock
):
    standard, _ = ticket_types(session, event)
    svc = app.state.services

    def hold(email: str) -> Order:
        return client.portal.call(
            lambda: svc.write(
                orders.reserve,
                event_id=event.id,
                quantities={standard.id: 2},
                buyer=orders.Buyer("Ada", email),
                now=svc.now(),
                hold=timedelta(minutes=30),
            )
        )

    # The process died between holding the seats and making the Checkout Session.
    stranded = hold("a@example.com")
    clock.advance(seconds=orders.UNSTARTED_GRACE.total_seconds() - 30)
    fresh = hold("b@example.com")
    assert _sweep(client, app) == 0  # still within the grace: its page may be on its way
    clock.advance(seconds=31)
    assert _sweep(client, app) == 1
    assert session.get(Order, stranded.id).status == OrderStatus.EXPIRED
    assert session.get(Order, fresh.id).status == OrderStatus.PENDING
    # The seats are back on sale at once, not 30 minutes later.
    assert buy(client, event, {standard.id: 3}, email="c@example.com").status_code == 303
