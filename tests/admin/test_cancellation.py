"""Cancelling an event: confirmation, then every order cancelled, refunded once through
Stripe and emailed, in a background job that survives being stopped half way."""

from collections import Counter
from functools import partial

import pytest
from sqlmodel import col, select

from booking import bulk
from booking.domain import cancellation_job
from booking.models import (
    BulkJob,
    Event,
    EventStatus,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
)
from tests.admin.conftest import fresh
from tests.factories import make_event, make_ticket_type
from tests.helpers import buy
from tests.mail.flows import deliver, pay, sender

BUYERS = ["ada", "bob", "cat", "dan", "eve"]


@pytest.fixture
def sold(forms, session, standin):  # type: ignore[no-untyped-def]
    """An event with five paid orders (ada has two tickets), a free one and an unpaid hold."""
    event = make_event(session, capacity=30, title="London and Brexit")
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    free = make_ticket_type(session, event, name="Guest", price=0, position=1)
    for name in BUYERS:
        pay(
            forms.client,
            session,
            event,
            standin,
            {standard.id: 2 if name == "ada" else 1},
            name=name.title(),
            email=f"{name}@example.com",
        )
    assert buy(forms.client, event, {free.id: 1}, email="guest@example.com").status_code == 303
    assert buy(forms.client, event, {standard.id: 1}, email="late@example.com").status_code == 303
    return event


def refund_requests(standin):  # type: ignore[no-untyped-def]
    return [r for r in standin.requests() if r["path"] == "/v1/refunds"]


def run(forms, app, **kw):  # type: ignore[no-untyped-def]
    return forms.client.portal.call(partial(bulk.run_pending, app.state.services, **kw))


def start(forms, event, **options):  # type: ignore[no-untyped-def]
    form = {"refund": "yes", "email": "yes", "note": "The hall has flooded.", **options}
    return forms.post(f"/admin/events/{event.id}/cancel", form)


def test_the_confirmation_page_says_what_will_happen(forms, sold):
    page = forms.client.get(f"/admin/events/{sold.id}/cancel")
    impact = page.context["impact"]
    assert (impact.orders, impact.buyers, impact.tickets, impact.to_refund) == (6, 6, 7, 6000)
    assert "£60.00" in page.text and "Cancel the event" in page.text


def test_interrupted_and_resumed_it_refunds_each_paid_order_exactly_once(
    db, forms, session, sold, standin, app, clock, settings
):
    response = start(forms, sold)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/events/{sold.id}#cancellation"
    assert fresh(session, Event, sold.id).status == EventStatus.CANCELLED
    job = session.exec(select(BulkJob)).one()
    assert (job.status, job.total, job.done) == ("queued", 6, 0)
    assert "Test payments" in forms.client.get(f"/events/{sold.slug}").text
    assert "This event has been cancelled" in forms.client.get(f"/events/{sold.slug}").text

    # A runner does two orders, then stops dead (its lease is left to run out).
    assert run(forms, app, max_orders=2) == 2
    job = fresh(session, BulkJob, job.id)
    assert (job.status, job.done) == ("running", 2)
    page = forms.client.get(f"/admin/events/{sold.id}")
    assert "Cancelling: 2 of 6 orders done" in page.text
    assert run(forms, app) == 0  # another runner waits for the lease

    # The next runner dies between Stripe's refund and recording it (the answer is lost).
    clock.advance(minutes=3)
    svc = app.state.services
    with db.write_session() as ws:
        lease = cancellation_job.claim(ws, now=clock.now)
    with db.write_session() as ws:
        order = cancellation_job.next_order(ws, lease=lease)
    with db.write_session() as ws:
        order = cancellation_job.cancel_order(ws, lease=lease, order_id=order.id, now=clock.now)
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    assert forms.client.portal.call(bulk.send_refunds, svc, order.id) == 0

    # Restarted after the lease ran out, the job finishes every order.
    clock.advance(minutes=3)
    assert run(forms, app) == 4
    job = fresh(session, BulkJob, job.id)
    assert (job.status, job.done, job.total) == ("done", 6, 6)
    assert run(forms, app) == 0

    paid = session.exec(select(Order).where(col(Order.stripe_payment_intent).is_not(None))).all()
    assert len(paid) == 5
    created = standin.events_of("refund.created")
    assert Counter(e["data"]["object"]["payment_intent"] for e in created) == Counter(
        o.stripe_payment_intent for o in paid
    )
    requests = refund_requests(standin)
    made = [r for r in requests if not r["replayed"] and not r["fault"]]
    assert len(made) == 4  # one refund per order, however often it was asked (one answer lost)
    assert [r for r in requests if r["replayed"]]  # the resumed order was asked twice
    for o in paid:
        keys = {
            r["idempotency_key"]
            for r in requests
            if r["params"]["payment_intent"] == o.stripe_payment_intent
        }
        ledger = session.exec(select(Refund).where(Refund.order_id == o.id)).all()
        assert [(r.status, r.amount) for r in ledger] == [("succeeded", o.total)]
        assert keys == {ledger[0].idempotency_key}  # the refunds ledger's own key
        saved = fresh(session, Order, o.id)
        assert saved.status == OrderStatus.CANCELLED and saved.status_reason == "event_cancelled"
        assert saved.amount_refunded == saved.total
    tickets = session.exec(select(Ticket)).all()
    assert Counter(t.status for t in tickets) == {
        TicketStatus.CANCELLED: 7,  # six paid tickets and the free one
        TicketStatus.HELD: 1,  # the unpaid hold is left to lapse
    }
    mails = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.EVENT_CANCELLED)
    ).all()
    assert sorted(m.recipient for m in mails) == sorted(
        [f"{n}@example.com" for n in BUYERS] + ["guest@example.com"]
    )
    deliver(sender(settings, db, clock))
    ada = session.exec(
        select(MailOutbox).where(
            MailOutbox.kind == MailKind.EVENT_CANCELLED, MailOutbox.recipient == "ada@example.com"
        )
    ).one()
    assert ada.subject.startswith("Cancelled: London and Brexit on ")
    assert "We have refunded £20.00" in ada.body_text and "The hall has flooded." in ada.body_text
    page = forms.client.get(f"/admin/events/{sold.id}")
    assert "6 orders cancelled and refunded; every buyer has been emailed" in page.text


def test_refunds_lost_on_the_way_back_are_retried_under_the_same_key(
    forms, session, sold, standin, app
):
    start(forms, sold, email="")
    # Stripe refunds the first order but every answer is lost (the library retries twice).
    standin.add_fault(
        path_prefix="/v1/refunds", method="POST", action="reset", when="after", count=3
    )
    assert run(forms, app) == 5  # the other orders go through
    job = session.exec(select(BulkJob)).one()
    assert job.status == "failed" and "1 refund(s) failed" in job.error
    page = forms.client.get(f"/admin/events/{sold.id}")
    assert "1 order is still open" in page.text
    assert forms.post(f"/admin/events/{sold.id}/cancel/again").status_code == 303
    assert run(forms, app) == 1
    assert len(standin.events_of("refund.created")) == 5
    assert (
        session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.EVENT_CANCELLED)).all()
        == []
    )
    jobs = session.exec(select(BulkJob).order_by(BulkJob.id)).all()  # type: ignore[arg-type]
    assert [(j.status, j.total, j.done) for j in jobs] == [("failed", 6, 5), ("done", 1, 1)]


def test_cancel_without_refunds_or_emails(forms, session, sold, standin, app):
    start(forms, sold, refund="", email="")
    assert run(forms, app) == 6
    assert refund_requests(standin) == []
    assert {o.status for o in session.exec(select(Order)).all()} == {
        OrderStatus.CANCELLED,
        OrderStatus.PENDING,
    }
    assert (
        session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.EVENT_CANCELLED)).all()
        == []
    )


def test_an_event_is_cancelled_once(forms, session, event):
    assert start(forms, event).status_code == 303
    again = start(forms, event)
    assert again.status_code == 303
    assert (
        "This event has already been cancelled" in forms.client.get(again.headers["location"]).text
    )
    assert len(session.exec(select(BulkJob)).all()) == 1
    assert forms.post(f"/admin/events/{event.id}/publish").status_code == 303
    assert fresh(session, Event, event.id).status == EventStatus.CANCELLED


def test_a_message_too_long_is_refused_and_nothing_is_cancelled(forms, session, event):
    response = start(forms, event, note="x" * 1001)
    assert response.status_code == 400
    assert response.context["errors"] == {"note": "Message must be 1,000 characters or fewer"}
    assert fresh(session, Event, event.id).status == EventStatus.PUBLISHED


def test_a_pending_organiser_refund_and_the_event_refund_add_up_to_what_was_paid(
    db, forms, session, sold, standin, app, olive, clock
):
    """Refunds go through one ledger: the organiser's refund of one of Ada's two tickets,
    still waiting for Stripe when the event is cancelled, keeps its share, and the event's
    refund takes the rest; both are made, neither is refused, and all she paid is back."""
    from booking.domain import order_refunds

    ada = session.exec(select(Order).where(Order.buyer_email == "ada@example.com")).one()
    one = session.exec(select(Ticket).where(Ticket.order_id == ada.id)).first()
    with db.write_session() as ws:
        order_refunds.refund_tickets(
            ws,
            order_id=ada.id,
            ticket_ids={one.id},
            reason="Cannot come",
            actor=olive,
            now=clock.now,
        )  # Stripe is not reached: the refund stays pending in the ledger
    start(forms, sold, email="")
    assert run(forms, app) == 6
    ledger = session.exec(select(Refund).where(Refund.order_id == ada.id)).all()
    assert sorted((r.reason, r.status, r.amount) for r in ledger) == [
        ("Cannot come", "succeeded", 1000),
        ("Event cancelled", "succeeded", 1000),
    ]
    made = [
        e["data"]["object"]["amount"]
        for e in standin.events_of("refund.created")
        if e["data"]["object"]["payment_intent"] == ada.stripe_payment_intent
    ]
    assert sorted(made) == [1000, 1000]
    charge = standin.get("payment_intent", ada.stripe_payment_intent)["latest_charge"]
    assert standin.get("charge", charge)["amount_refunded"] == ada.total
    saved = fresh(session, Order, ada.id)
    assert (saved.amount_refunded, saved.refund_due) == (ada.total, 0)
