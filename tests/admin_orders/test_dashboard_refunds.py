"""Refunds made in Stripe's dashboard: a later refund never asks for more than the charge
has left yet still returns all that is owed, and a dashboard refund whose webhook arrives
before the payment is recorded is kept. Each Stripe refund is counted once."""

from __future__ import annotations

from typing import Any

import pytest
import stripe._http_client
from sqlmodel import col, select

from booking.models import AuditEntry, MailKind, MailOutbox, Order, OrderStatus, TicketStatus
from booking.narration import SENTENCES
from tests.admin_orders.conftest import (
    fresh,
    paid_order,
    refunds_of,
    stripe_refunds,
    tickets_of,
)
from tests.admin_orders.test_refunds import confirm, run_job
from tests.helpers import buy, session_id_of, ticket_types
from tests.web.test_webhooks import post_event

DASHBOARD = "Refunded in Stripe's dashboard"


def charge_of(standin, order: Order) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with standin.lock:
        pi = standin.find(order.stripe_payment_intent)
        return dict(standin.find(pi["latest_charge"]))


def rows(session, order: Order) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    return [(r.status, r.amount, r.reason) for r in refunds_of(session, order)]


def deliver_all(client, standin, *types: str) -> None:  # type: ignore[no-untyped-def]
    for evt in standin.events_of():
        if evt["type"] in types:
            assert post_event(client, evt).status_code == 200


def test_a_cancel_after_a_partial_dashboard_refund_returns_the_rest(
    admin, app, session, event, standin
):
    order = paid_order(admin, session, event, standin, n=2)
    # £3 of the £20 goes back in Stripe's dashboard; its webhooks have not arrived.
    standin.create_refund({"payment_intent": order.stripe_payment_intent, "amount": "300"})

    assert confirm(admin, order, [], 2000, whole=True).status_code == 303

    # Stripe refused £20 (only £17 was left): the charge and its refunds were read back, the
    # dashboard refund recorded, and the £17 that was left sent in the refused one's place.
    assert rows(session, order) == [
        ("failed", 2000, "Cannot come after all"),
        ("succeeded", 300, DASHBOARD),
        ("succeeded", 1700, "Cannot come after all"),
    ]
    assert charge_of(standin, order)["amount_refunded"] == 2000
    order = fresh(session, order)
    assert (order.status, order.amount_refunded, order.refund_due) == (
        OrderStatus.CANCELLED,
        2000,
        0,
    )
    replacement = refunds_of(session, order)[-1]
    assert {t.refund_id for t in tickets_of(session, order)} == {replacement.id}
    assert [r["params"]["amount"] for r in stripe_refunds(standin)] == ["2000", "1700"]

    # The webhooks, however late and however often, count nothing twice.
    deliver_all(admin, standin, "charge.refunded", "refund.created")
    deliver_all(admin, standin, "charge.refunded", "refund.created")
    assert len(refunds_of(session, order)) == 3
    assert fresh(session, order).amount_refunded == 2000
    assert run_job(admin, app) == 0
    actions = session.exec(
        select(AuditEntry.action).where(col(AuditEntry.action).startswith("refund."))
    ).all()
    assert sorted(actions) == [
        "refund.failed",
        "refund.recorded",
        "refund.replaced",
        "refund.succeeded",
    ]
    assert {"refund.recorded", "refund.replaced"} <= set(SENTENCES)


def test_a_ticket_refund_asking_more_than_is_left_gets_what_is_left(
    admin, app, session, event, standin
):
    order = paid_order(admin, session, event, standin, n=2)
    first, second = tickets_of(session, order)
    standin.create_refund({"payment_intent": order.stripe_payment_intent, "amount": "1500"})

    assert confirm(admin, order, [first.id], 1000).status_code == 303

    assert rows(session, order) == [
        ("failed", 1000, "Cannot come after all"),
        ("succeeded", 1500, DASHBOARD),
        ("succeeded", 500, "Cannot come after all"),
    ]
    assert fresh(session, order).amount_refunded == 2000
    assert charge_of(standin, order)["amount_refunded"] == 2000
    # Stripe reports the charge fully refunded: the order is refunded, its last ticket void.
    deliver_all(admin, standin, "charge.refunded")
    order = fresh(session, order)
    assert (order.status, order.amount_refunded) == (OrderStatus.REFUNDED, 2000)
    assert {t.status for t in tickets_of(session, order)} == {TicketStatus.CANCELLED}
    assert len(refunds_of(session, order)) == 3


def test_when_stripe_cannot_be_asked_what_is_left_the_job_asks_again(
    admin, app, session, event, standin, monkeypatch
):
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda s, n: 0.0)
    order = paid_order(admin, session, event, standin, n=2)
    standin.create_refund({"payment_intent": order.stripe_payment_intent, "amount": "300"})
    # The refusal comes back, then listing the charge's refunds fails (and its 2 retries).
    standin.add_fault(path_prefix="/v1/refunds", method="GET", status=500, count=3)

    confirm(admin, order, [], 2000, whole=True)
    assert rows(session, order) == [("pending", 2000, "Cannot come after all")]
    assert fresh(session, order).refund_due == 2000

    assert run_job(admin, app) == 1  # refused again; now read back and replaced
    assert [status for status, _, _ in rows(session, order)] == [
        "failed",
        "succeeded",
        "succeeded",
    ]
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (2000, 0)
    assert charge_of(standin, order)["amount_refunded"] == 2000


def _paid_unrecorded(client, session, event, standin) -> Order:  # type: ignore[no-untyped-def]
    """A buyer pays on Stripe's page and never comes back; no webhook has arrived yet."""
    standard = ticket_types(session, event)[0]
    cs_id = session_id_of(buy(client, event, {standard.id: 2}))
    assert standin.pay(cs_id, "4242424242424242").ok
    order = session.exec(select(Order).where(Order.stripe_session_id == cs_id)).one()
    assert order.status == OrderStatus.PENDING and order.stripe_payment_intent is None
    return order


def _end_state(session, order: Order) -> tuple[Any, ...]:  # type: ignore[no-untyped-def]
    order = fresh(session, order)
    mails = session.exec(
        select(MailOutbox.kind).where(MailOutbox.order_id == order.id).order_by(col(MailOutbox.id))
    ).all()
    return (
        order.status,
        order.status_reason,
        order.amount_refunded,
        order.refund_due,
        sorted(t.status for t in tickets_of(session, order)),
        sorted((s, a, r) for s, a, r in rows(session, order)),
        sorted(mails),
    )


@pytest.mark.parametrize("share", [None, 300])
@pytest.mark.parametrize("first", ["charge.refunded", "refund.created"])
def test_a_dashboard_refund_reported_before_the_payment_ends_as_if_it_came_after(
    client, session, event, standin, share, first
):
    ends = []
    for refund_first in (False, True):
        order = _paid_unrecorded(client, session, event, standin)
        params = {"payment_intent": standin.sessions[order.stripe_session_id].payment_intent}
        if share:
            params["amount"] = str(share)
        standin.create_refund(params)
        completed = [
            e
            for e in standin.events_of("checkout.session.completed")
            if e["data"]["object"]["id"] == order.stripe_session_id
        ]
        refunded = [
            e
            for e in standin.events_of(first)
            if e["data"]["object"]["payment_intent"] == params["payment_intent"]
        ]
        for evt in refunded + completed if refund_first else completed + refunded:
            assert post_event(client, evt).status_code == 200
        ends.append(_end_state(session, order))
    in_order, refund_first = ends
    assert refund_first == in_order
    status, reason, refunded_amount, due, tickets, ledger, mails = refund_first
    if share is None:
        assert (status, reason, refunded_amount) == ("refunded", "refunded_in_stripe", 2000)
        assert tickets == ["cancelled", "cancelled"]
        assert mails == sorted([MailKind.CONFIRMATION, MailKind.REFUNDED])
    else:
        assert (status, refunded_amount) == ("paid", 300) and tickets == ["valid", "valid"]
    assert ledger == [("succeeded", share or 2000, DASHBOARD)] and due == 0


def test_refunds_waiting_for_stripe_are_cut_to_what_a_dashboard_refund_left(
    admin, app, session, event, standin
):
    order = paid_order(admin, session, event, standin, n=2)
    first, second = tickets_of(session, order)
    standin.add_fault(path_prefix="/v1/refunds", method="POST", status=500, count=99)
    confirm(admin, order, [first.id], 1000)
    confirm(admin, order, [second.id], 1000)
    assert rows(session, order) == [("pending", 1000, "Cannot come after all")] * 2
    standin.faults.clear()
    standin.create_refund({"payment_intent": order.stripe_payment_intent, "amount": "1500"})

    deliver_all(admin, standin, "charge.refunded")

    # £5 is left on the charge: the first refund is cut to it, the second cannot be made.
    assert rows(session, order) == [
        ("failed", 1000, "Cannot come after all"),
        ("failed", 1000, "Cannot come after all"),
        ("succeeded", 1500, DASHBOARD),
        ("pending", 500, "Cannot come after all"),
    ]
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (1500, 500)
    replacement = refunds_of(session, order)[-1]
    assert {t.refund_id for t in tickets_of(session, order)} == {
        replacement.id,
        refunds_of(session, order)[1].id,
    }
    assert run_job(admin, app) == 1
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (2000, 0)
    assert charge_of(standin, order)["amount_refunded"] == 2000
