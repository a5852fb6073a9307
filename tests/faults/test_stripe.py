"""Stripe failing on every call the app makes (500, 429, a timeout, or an answer lost after
Stripe acted): buyers get a clear message and never a 500, nothing is left half-written, and
once Stripe is back the jobs bring every order, refund and email to where it belongs."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from booking import checkout, mail
from booking.app import create_app
from booking.models import Order, OrderStatus, Ticket, TicketStatus
from booking.payments import Payments
from booking.settings import STANDIN_WEBHOOK_SECRET
from tests.factories import make_event, make_ticket_type
from tests.faults import invariants
from tests.helpers import buy, csrf_from, session_id_of
from tests.mail.flows import pay
from tests.web.test_webhooks import post_event

pytestmark = pytest.mark.slow
OUTAGES = {
    "500": {"action": "status", "status": 500},
    "429": {"action": "status", "status": 429},
    "timeout": {"action": "hang", "delay": 5.0},
    "answer-lost": {"action": "status", "status": 500, "when": "after"},
}
UNREACHABLE = "We could not reach our payment provider"


def _order(session, email: str) -> Order:  # type: ignore[no-untyped-def]
    order = session.exec(select(Order).where(Order.buyer_email == email)).one()
    session.commit()
    return order


def _tickets(session, order: Order) -> set[str]:  # type: ignore[no-untyped-def]
    return {t.status for t in session.exec(select(Ticket).where(Ticket.order_id == order.id))}


@pytest.mark.parametrize("outage", list(OUTAGES))
def test_stripe_failing_on_every_call(outage, db, settings, session, standin, smtp, clock, figures):
    event = make_event(session, capacity=6, buyer_cancel_allowed=True, buyer_cancel_cutoff_hours=1)
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    app = create_app(smtp.settings_for(settings), db=db, clock=clock)
    svc = app.state.services
    svc.extras["payments"] = Payments(  # a short timeout, so a hanging Stripe is quick to see
        secret_key="sk_test_standin",  # noqa: S106
        webhook_secret=STANDIN_WEBHOOK_SECRET,
        api_base=f"http://127.0.0.1:{settings.stripe_standin_port}",
        timeout=0.5,
    )
    answers: Counter[int] = Counter()

    def seen(response):  # type: ignore[no-untyped-def]
        answers[response.status_code] += 1
        assert response.status_code != 500, response.text
        return response

    with TestClient(app, follow_redirects=False) as client:
        # Before the outage: an order to cancel, a buyer who paid but has not come back yet
        # (nor has the webhook), and a buyer on Stripe's page who will press Back.
        to_cancel = pay(client, session, event, standin, {standard.id: 1}, email="c@example.com")
        paid_cs = session_id_of(buy(client, event, {standard.id: 2}, email="p@example.com"))
        assert standin.pay(paid_cs, "4242424242424242").ok
        completed = standin.events_of("checkout.session.completed")[-1]
        backing_cs = session_id_of(buy(client, event, {standard.id: 1}, email="b@example.com"))
        backing = _order(session, "b@example.com")
        before = len(standin.requests())

        standin.add_fault(path_prefix="/v1/", count=10**6, **OUTAGES[outage])

        # A new buyer: a clear message, the seats released, nothing charged.
        refused = seen(buy(client, event, {standard.id: 1}, email="n@example.com"))
        assert refused.status_code == 503 and UNREACHABLE in refused.text
        newcomer = _order(session, "n@example.com")
        assert newcomer.status == OrderStatus.EXPIRED and newcomer.stripe_session_id is None
        assert _tickets(session, newcomer) == {TicketStatus.RELEASED}
        # The paid buyer comes back: the order page says it is being confirmed.
        back = seen(client.get(f"/checkout/success?session_id={paid_cs}"))
        assert back.status_code == 303
        assert seen(client.get(back.headers["location"])).status_code == 200
        assert _order(session, "p@example.com").status == OrderStatus.PENDING
        # Stripe's webhook for it is asked to come again (503), not failed.
        assert seen(post_event(client, completed)).status_code == 503
        # The buyer on Stripe's page presses Back: the seats come back at once.
        assert seen(client.get(f"/checkout/cancel/{backing.token}")).status_code == 303
        gone = _order(session, "b@example.com")
        assert gone.status == OrderStatus.EXPIRED or gone.expires_at <= clock.now
        # A buyer cancels: tickets cancelled, the refund owed and left for the job.
        token = csrf_from(client, f"/orders/{to_cancel.token}/cancel")
        form = {"csrf_token": token}
        cancelled = seen(client.post(f"/orders/{to_cancel.token}/cancel", data=form))
        assert cancelled.status_code == 303
        assert seen(client.get(cancelled.headers["location"])).status_code == 200
        order = _order(session, "c@example.com")
        assert order.status == OrderStatus.CANCELLED and order.refund_due == 1000
        assert _tickets(session, order) == {TicketStatus.CANCELLED}
        # A charge.refunded webhook for a refund made before the answer was lost.
        for refunded in standin.events_of("charge.refunded"):
            assert seen(post_event(client, refunded)).status_code == 503
        # The jobs run through the outage without stopping, and change nothing they cannot.
        clock.advance(minutes=32)  # every hold has lapsed
        client.portal.call(checkout.sweep_lapsed, svc)
        client.portal.call(checkout.settle_refunds, svc)
        clock.advance(hours=24)  # the pending refund is old enough to be looked for first
        client.portal.call(checkout.settle_refunds, svc)
        checks = invariants.seats(session, event, clock.now)
        checks += invariants.refunds_once(session, standin, settled=False)
        assert _order(session, "p@example.com").status == OrderStatus.PENDING
        faulted = [r for r in standin.requests()[before:] if r["fault"]]
        calls = Counter(f"{r['method']} {r['path'].split('/')[2]}" for r in faulted)
        every = {"POST checkout", "GET checkout", "POST refunds", "GET refunds"}
        assert every <= set(calls), calls

        # Stripe recovers: the jobs converge.
        standin.faults.clear()
        client.portal.call(checkout.sweep_lapsed, svc)
        client.portal.call(checkout.settle_refunds, svc)
        assert seen(post_event(client, completed)).status_code == 200
        client.portal.call(mail.deliver_pending, svc)

    paid = _order(session, "p@example.com")
    assert paid.status == OrderStatus.PAID and _tickets(session, paid) == {TicketStatus.VALID}
    order = _order(session, "c@example.com")
    assert order.refund_due == 0 and order.amount_refunded == 1000
    assert standin.session(backing_cs).obj["status"] == "expired"
    assert _order(session, "b@example.com").status == OrderStatus.EXPIRED
    checks += invariants.seats(session, event, clock.now)
    checks += invariants.no_paid_order_lost(session, standin)
    checks += invariants.refunds_once(session, standin, settled=True)
    checks += invariants.emails_once(session, smtp.messages)[0]
    figures.update(
        outage=outage,
        stripe_calls_faulted=len(faulted),
        faults=len(faulted),
        calls=dict(calls),
        answers=dict(sorted(answers.items())),
        operations=sum(answers.values()),
        invariant_checks=checks,
    )
