"""Refunds and cancellations by organisers: exactly the refunded seats come back, and the
money goes back once, whatever is sent twice or answered late."""

from __future__ import annotations

import pytest
from sqlmodel import select

from booking import checkout
from booking.domain import order_refunds, refunds
from booking.models import AuditEntry, MailKind, MailOutbox, OrderStatus, TicketStatus
from tests.admin_orders.conftest import (
    add_order,
    error_summary,
    fresh,
    paid_order,
    refunds_of,
    room_left,
    stripe_refunds,
    tickets_of,
)
from tests.helpers import csrf_from, ticket_types
from tests.web.test_webhooks import post_event


def choose(client, order, ticket_ids, reason="Cannot come after all", *, whole=False):  # type: ignore[no-untyped-def]
    """Step one: pick tickets and give a reason; answers with the confirmation page."""
    path = f"/admin/orders/{order.id}/{'cancel' if whole else 'refund'}"
    data = {"csrf_token": csrf_from(client, path), "reason": reason}
    if not whole:
        data["ticket"] = [str(i) for i in ticket_ids]
    return client.post(path, data=data)


def confirm(client, order, ticket_ids, amount, reason="Cannot come after all", *, whole=False):  # type: ignore[no-untyped-def]
    """Step two: the confirmation form as the page sends it."""
    path = f"/admin/orders/{order.id}/{'cancel' if whole else 'refund'}"
    data = {
        "csrf_token": csrf_from(client, f"/admin/orders/{order.id}"),
        "reason": reason,
        "amount": str(amount),
        "confirm": "yes",
    }
    if not whole:
        data["ticket"] = [str(i) for i in ticket_ids]
    return client.post(path, data=data)


def run_job(client, app) -> int:  # type: ignore[no-untyped-def]
    return client.portal.call(checkout.settle_refunds, app.state.services)


def test_a_partial_refund_releases_exactly_its_seats_and_is_sent_once(
    admin, app, session, event, standin, clock
):
    order = paid_order(admin, session, event, standin, n=4)
    first, second, third, fourth = tickets_of(session, order)
    assert room_left(session, event, clock.now) == 1

    page = choose(admin, order, [first.id, third.id])
    assert page.status_code == 200 and page.context["step"] == "confirm"
    assert "Refund £20.00 for 2 tickets?" in page.text
    assert stripe_refunds(standin) == []  # nothing happens before the organiser confirms

    done = confirm(admin, order, [first.id, third.id], 2000)
    assert done.status_code == 303 and done.headers["location"] == f"/admin/orders/{order.id}"
    assert room_left(session, event, clock.now) == 3  # up by exactly the two refunded seats
    [refund] = refunds_of(session, order)
    assert (refund.status, refund.amount, refund.reason) == (
        "succeeded",
        2000,
        "Cannot come after all",
    )
    statuses = {t.id: (t.status, t.refund_id) for t in tickets_of(session, order)}
    assert statuses == {
        first.id: (TicketStatus.CANCELLED, refund.id),
        second.id: (TicketStatus.VALID, None),
        third.id: (TicketStatus.CANCELLED, refund.id),
        fourth.id: (TicketStatus.VALID, None),
    }
    order = fresh(session, order)
    assert order.status == OrderStatus.PAID
    assert (order.amount_refunded, order.refund_due) == (2000, 0)
    [sent] = stripe_refunds(standin)
    assert sent["params"]["payment_intent"] == order.stripe_payment_intent
    assert int(sent["params"]["amount"]) == 2000
    assert sent["idempotency_key"] == f"refund:{order.reference}:{refund.id}"
    assert refund.stripe_refund_id == standin.events_of("refund.created")[0]["data"]["object"]["id"]

    # The same confirmation sent again (a double click, the back button) refunds nothing more.
    again = confirm(admin, order, [first.id, third.id], 2000)
    assert again.status_code == 303
    assert "already been refunded" in admin.get(again.headers["location"]).text
    assert len(stripe_refunds(standin)) == 1 and len(refunds_of(session, order)) == 1
    assert room_left(session, event, clock.now) == 3
    assert run_job(admin, app) == 0  # nothing pending, nothing sent

    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "order.tickets_refunded")
    ).all()
    assert entry.actor == "organiser@example.com" and entry.order_id == order.id
    assert entry.data["refund"] == {"id": refund.id, "amount": 2000}
    assert entry.data["refund_due"] == {"before": 0, "after": 2000}  # owed, then sent:
    assert entry.data["valid_tickets"] == {"before": 4, "after": 2}
    assert entry.data["reason"] == "Cannot come after all"
    sent_entry = session.exec(
        select(AuditEntry).where(AuditEntry.action == "refund.succeeded")
    ).one()
    assert sent_entry.data["amount_refunded"] == {"before": 0, "after": 2000}
    assert sent_entry.data["refund_due"] == {"before": 2000, "after": 0}
    assert sent_entry.data["stripe_refund_id"] == refund.stripe_refund_id


def test_a_refund_whose_answers_are_lost_is_made_once_by_the_job(
    admin, app, session, event, standin, clock
):
    order = paid_order(admin, session, event, standin, n=2)
    first, _ = tickets_of(session, order)
    # Stripe makes the refund, but every answer (the library tries three times) is lost.
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    done = confirm(admin, order, [first.id], 1000)
    assert done.status_code == 303
    assert "not been confirmed by Stripe yet" in admin.get(done.headers["location"]).text
    [refund] = refunds_of(session, order)
    assert refund.status == "pending" and fresh(session, order).refund_due == 1000
    assert room_left(session, event, clock.now) == 4  # the seat is free whatever Stripe says

    assert run_job(admin, app) == 1
    assert run_job(admin, app) == 0
    [refund] = refunds_of(session, order)
    assert refund.status == "succeeded"
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (1000, 0)
    made = standin.events_of("refund.created")
    assert len(made) == 1 and made[0]["data"]["object"]["amount"] == 1000
    keys = {r["idempotency_key"] for r in stripe_refunds(standin)}
    assert keys == {f"refund:{order.reference}:{refund.id}"}
    assert len(stripe_refunds(standin)) == 4  # three lost answers and the job's retry


def test_cancelling_the_whole_order_refunds_everything_and_tells_the_buyer(
    admin, session, event, standin, clock
):
    order = paid_order(admin, session, event, standin, n=3)
    page = choose(admin, order, [], reason="Duplicate booking", whole=True)
    assert "Cancel this order and refund £30.00?" in page.text
    done = confirm(admin, order, [], 3000, reason="Duplicate booking", whole=True)
    assert done.status_code == 303
    order = fresh(session, order)
    assert (order.status, order.status_reason) == (OrderStatus.CANCELLED, "organiser_cancelled")
    assert (order.amount_refunded, order.refund_due) == (3000, 0)
    [refund] = refunds_of(session, order)
    assert {(t.status, t.refund_id) for t in tickets_of(session, order)} == {
        (TicketStatus.CANCELLED, refund.id)
    }
    assert room_left(session, event, clock.now) == 5
    [sent] = stripe_refunds(standin)
    assert int(sent["params"]["amount"]) == 3000
    kinds = [m.kind for m in session.exec(select(MailOutbox).order_by(MailOutbox.id))]
    assert kinds == [MailKind.CONFIRMATION, MailKind.REFUNDED]
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "order.cancelled")).all()
    assert entry.data["status"] == {"before": "paid", "after": "cancelled"}
    assert entry.data["refund_due"] == {"before": 0, "after": 3000}
    shown = admin.get(f"/admin/orders/{order.id}").text
    assert "Cancelled" in shown and "Duplicate booking" in shown
    # Cancelling again changes nothing and sends nothing.
    again = confirm(admin, order, [], 3000, reason="Duplicate booking", whole=True)
    assert again.status_code == 303 and len(stripe_refunds(standin)) == 1


def test_refunding_every_ticket_one_by_one_cancels_the_order(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=2)
    first, second = tickets_of(session, order)
    confirm(admin, order, [first.id], 1000)
    assert fresh(session, order).status == OrderStatus.PAID
    page = choose(admin, order, [second.id])
    assert "The order is cancelled" in page.text
    confirm(admin, order, [second.id], 1000)
    order = fresh(session, order)
    assert order.status == OrderStatus.CANCELLED and order.amount_refunded == 2000
    assert [r.amount for r in refunds_of(session, order)] == [1000, 1000]


@pytest.mark.parametrize("webhook_first", [True, False])
def test_refunds_never_count_more_than_was_paid(admin, app, session, event, standin, webhook_first):
    order = paid_order(admin, session, event, standin, n=2)
    first, second = tickets_of(session, order)
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    confirm(admin, order, [first.id], 1000)  # made in Stripe, not yet known here
    charge_refunded = standin.events_of("charge.refunded")[-1]
    refund_created = standin.events_of("refund.created")[-1]
    if webhook_first:
        assert post_event(admin, charge_refunded).status_code == 200
        assert fresh(session, order).amount_refunded == 1000
        # The charge's refunds were read back: ours, named in its metadata, is marked made.
        assert post_event(admin, refund_created).json()["outcome"] == "unchanged"
        assert run_job(admin, app) == 0  # the webhook already marked it: nothing to send
    else:
        assert run_job(admin, app) == 1
        assert post_event(admin, charge_refunded).status_code == 200
        assert post_event(admin, refund_created).json()["outcome"] == "unchanged"
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (1000, 0)
    assert [r.status for r in refunds_of(session, order)] == ["succeeded"]

    confirm(admin, order, [second.id], 1000)
    post_event(admin, standin.events_of("charge.refunded")[-1])
    post_event(admin, charge_refunded)  # an old event, redelivered late
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (2000, 0)
    assert order.status == OrderStatus.CANCELLED
    assert len(standin.events_of("refund.created")) == 2


def test_a_refund_stripe_refuses_for_good_is_not_sent_again(admin, app, session, event, standin):
    order = paid_order(admin, session, event, standin, n=2)
    first, _ = tickets_of(session, order)
    # Someone refunded the whole charge in Stripe's dashboard; its webhook has not come.
    standin.create_refund({"payment_intent": order.stripe_payment_intent})
    confirm(admin, order, [first.id], 1000)
    refund, dashboard = refunds_of(session, order)
    assert refund.status == "failed"
    # The charge was read back on the refusal: the dashboard refund is in the ledger, once.
    assert (dashboard.status, dashboard.amount, dashboard.reason) == (
        "succeeded",
        2000,
        "Refunded in Stripe's dashboard",
    )
    assert run_job(admin, app) == 0
    assert len(stripe_refunds(standin)) == 1  # the refused one only (create_refund is direct)
    post_event(admin, standin.events_of("charge.refunded")[-1])
    assert len(refunds_of(session, order)) == 2
    order = fresh(session, order)
    assert (order.amount_refunded, order.refund_due) == (2000, 0)
    assert (order.status, order.status_reason) == (OrderStatus.REFUNDED, "refunded_in_stripe")
    assert "Refused by Stripe" in admin.get(f"/admin/orders/{order.id}").text
    failed = session.exec(select(AuditEntry).where(AuditEntry.action == "refund.failed")).one()
    assert "charge_already_refunded" in failed.data["error"]


def test_the_confirmed_amount_must_still_be_right(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=2)
    first, _ = tickets_of(session, order)
    assert "Refund £10.00 for 1 ticket?" in choose(admin, order, [first.id]).text
    # Meanwhile £15 of the £20 is refunded in Stripe's dashboard.
    standin.create_refund({"payment_intent": order.stripe_payment_intent, "amount": "1500"})
    post_event(admin, standin.events_of("charge.refunded")[-1])
    stale = confirm(admin, order, [first.id], 1000)
    assert stale.status_code == 409
    assert "The amount to refund has changed since you checked it" in error_summary(stale.text)
    assert "Refund £5.00 for 1 ticket?" in stale.text
    [dashboard] = refunds_of(session, order)  # the charge.refunded, read back from Stripe
    assert (dashboard.amount, dashboard.reason) == (1500, "Refunded in Stripe's dashboard")
    assert len(stripe_refunds(standin)) == 0
    assert confirm(admin, order, [first.id], 500).status_code == 303
    # The dashboard refund has its row, so the ledger adds both up, each once.
    assert fresh(session, order).amount_refunded == 2000
    post_event(admin, standin.events_of("charge.refunded")[-1])
    order = fresh(session, order)
    assert order.amount_refunded == 2000 and order.status == OrderStatus.REFUNDED


def test_refund_forms_are_checked_on_the_server(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=2)
    other = paid_order(admin, session, event, standin, n=1, email="b@example.com")
    [foreign] = tickets_of(session, other)
    empty = choose(admin, order, [], reason="   ")
    assert empty.status_code == 400 and "<title>Error: " in empty.text
    assert error_summary(empty.text) == [
        "Select the tickets to refund",
        "Enter the reason for the refund",
    ]
    assert 'href="#tickets"' in empty.text and 'id="tickets"' in empty.text
    assert 'href="#reason"' in empty.text and 'id="reason"' in empty.text
    wrong = choose(admin, order, [foreign.id])
    assert error_summary(wrong.text) == ["Select tickets from the list"]
    path = f"/admin/orders/{order.id}/refund"
    token = csrf_from(admin, path)
    for junk in (["abc"], ["-1"], ["99999999999999999999"], ["1e3"], ["٣"]):
        response = admin.post(path, data={"csrf_token": token, "ticket": junk, "reason": "x"})
        assert response.status_code == 400, junk
    control = choose(admin, order, [tickets_of(session, order)[0].id], reason="\x1b\x07 ")
    assert error_summary(control.text) == ["Enter the reason for the refund"]
    nul = choose(admin, order, [tickets_of(session, order)[0].id], reason="\x00")
    assert nul.status_code == 400 and "cannot contain a NUL" in nul.text
    too_long = choose(admin, order, [tickets_of(session, order)[0].id], reason="x" * 501)
    assert error_summary(too_long.text) == ["Reason must be 500 characters or fewer"]
    assert admin.post(path, data={"reason": "x"}).status_code == 403  # no CSRF token
    assert admin.get("/admin/orders/999999/refund").status_code == 404
    assert admin.get("/admin/orders/99999999999999/cancel").status_code == 404
    assert stripe_refunds(standin) == [] and refunds_of(session, order) == []


def test_an_unpaid_order_cannot_be_refunded(admin, db, session, event, standin, organiser, clock):
    standard = ticket_types(session, event)[0]
    pending = add_order(session, event, [standard], status="pending")
    response = choose(admin, pending, [tickets_of(session, pending)[0].id])
    assert response.status_code == 409
    assert error_summary(response.text) == ["Only a paid order can be refunded"]
    with db.write_session() as s, pytest.raises(order_refunds.NotRefundable):
        order_refunds.cancel_order(
            s, order_id=pending.id, reason="x", actor=organiser, now=clock.now
        )


def test_a_discount_is_shared_out_and_adds_up_to_the_total(db, session, event, organiser, clock):
    standard = ticket_types(session, event)[0]
    order = add_order(session, event, [standard, standard, standard])
    order.total, order.discount_total = 2500, 500  # £30 of tickets for £25
    session.add(order)
    session.commit()
    one, two, three = tickets_of(session, order)
    amounts = []
    for ticket in (one, two, three):
        with db.write_session() as s:
            made = order_refunds.refund_tickets(
                s,
                order_id=order.id,
                ticket_ids={ticket.id},
                reason="Split the discount",
                actor=organiser,
                now=clock.now,
            )
        amounts.append(made.amount)
    assert amounts == [833, 833, 834] and sum(amounts) == 2500
    assert fresh(session, order).status == OrderStatus.CANCELLED
    assert refunds.refundable(session, order=fresh(session, order)) == 0


def test_two_organisers_refunding_the_same_ticket_at_once_make_one_refund(
    db, session, event, organiser, clock
):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    standard = ticket_types(session, event)[0]
    order = add_order(session, event, [standard, standard])
    first = tickets_of(session, order)[0]
    start = threading.Barrier(2)

    def refund(_: int) -> str:
        start.wait()
        with db.write_session() as s:
            try:
                made = order_refunds.refund_tickets(
                    s,
                    order_id=order.id,
                    ticket_ids={first.id},
                    reason="Both pressed the button",
                    actor=organiser,
                    now=clock.now,
                )
            except order_refunds.AlreadyRefunded:
                return "already refunded"
        return f"refunded {made.amount}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(refund, range(2)))
    assert outcomes == ["already refunded", "refunded 1000"]
    assert [r.amount for r in refunds_of(session, order)] == [1000]
    assert fresh(session, order).refund_due == 1000
