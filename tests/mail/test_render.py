"""What each email says, rendered from the database when it goes out (captured, no SMTP)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from booking.domain import order_changes, orders, outbox
from booking.mail.render import short_title
from booking.models import MailKind, Order, OutboxStatus, Ticket
from tests.domain.test_orders import checkout_for, fulfil, reserve
from tests.factories import NOW, make_event, make_speaker, make_ticket_type
from tests.helpers import ticket_types
from tests.mail.flows import deliver, outbox_rows, pay


def _by_kind(session):  # type: ignore[no-untyped-def]
    return {row.kind: row for row in outbox_rows(session)}


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Should London ban cars?", "Should London ban cars?"),
        (
            "London and Brexit: will leaving the EU be good or bad for the capital?",
            "London and Brexit…",
        ),
        (
            "A very long title without any colon that goes on and on for ever",
            "A very long title without any colon that…",
        ),
    ],
)
def test_short_titles_for_subject_lines(title, short):
    assert short_title(title) == short


def test_names_and_markup_from_buyers_cannot_inject_headers_or_html(
    client, session, event, standin, smtp, settings, db, clock
):
    from tests.mail.flows import sender

    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    hostile = "Eve\r\nBcc: victim@example.com\r\n<script>alert(1)</script>"
    with db.write() as ws:  # as if something had stored it unchecked
        ws.execute(update(Order).where(Order.id == order.id).values(buyer_name=hostile))
        ws.execute(update(Ticket).where(Ticket.order_id == order.id).values(attendee_name=hostile))
    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 1
    [message] = smtp.messages
    assert smtp.envelopes[0]["rcpt_tos"] == ["ada@example.com"]
    assert message["Bcc"] is None and len(message["To"].addresses) == 1
    assert "\n" not in message["To"].addresses[0].display_name
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = message.get_body(("plain",)).get_content()
    assert "<script>alert(1)</script>" in text  # plain text shows it as typed, harmlessly


def test_a_name_changed_before_sending_is_the_one_sent(
    client, session, event, standin, app, db, clock
):
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    with db.write_session() as ws:
        order_changes.rename_ticket(
            ws, token=order.token, number=1, name="Grace Hopper", now=clock.now
        )
    deliver(app.state.services)
    row = _by_kind(session)[MailKind.CONFIRMATION]
    assert "Grace Hopper" in row.body_text and "Grace Hopper" in row.body_html
    assert "Ada Lovelace" in row.body_text  # still the buyer


def test_tickets_are_not_sent_for_an_order_cancelled_meanwhile(
    client, session, event, standin, app, db, clock
):
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 2})
    with db.write_session() as ws:
        order_changes.cancel_by_buyer(ws, token=order.token, now=clock.now)
    done = deliver(app.state.services)
    assert (done.skipped, done.captured) == (1, 1)
    rows = _by_kind(session)
    assert rows[MailKind.CONFIRMATION].status == OutboxStatus.SKIPPED
    assert "cancelled" in rows[MailKind.CONFIRMATION].last_error
    cancelled = rows[MailKind.CANCELLED]
    assert cancelled.status == OutboxStatus.CAPTURED
    assert cancelled.subject == "Cancelled: your tickets for London and Brexit…"
    assert "We are refunding £20.00 to the card you paid with" in cancelled.body_text
    assert "the seats are back on sale" in cancelled.body_html


def test_a_refund_in_stripe_sends_the_refunded_email(client, session, event, standin, app, db):
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    with db.write_session() as ws:
        orders.record_charge_refunded(
            ws, payment_intent=order.stripe_payment_intent, amount_refunded=1000, now=NOW
        )
        # The same webhook again queues nothing more.
        orders.record_charge_refunded(
            ws, payment_intent=order.stripe_payment_intent, amount_refunded=1000, now=NOW
        )
    done = deliver(app.state.services)
    assert (done.captured, done.skipped) == (1, 1)  # the tickets are not sent any more
    row = _by_kind(session)[MailKind.REFUNDED]
    assert row.subject == "Refunded: your order for London and Brexit…"
    assert "has been refunded: £10.00 is on its way back" in row.body_text
    assert "no longer work" in row.body_html
    assert [r.kind for r in outbox_rows(session)].count(MailKind.REFUNDED) == 1


def test_paid_after_the_seats_had_gone_sends_the_sold_out_email(db, session, app, clock):
    event = make_event(session, capacity=1, contact_email="help@example.org")
    standard = make_ticket_type(session, event, price=1000)
    late = reserve(db, event, {standard.id: 1})
    checkout = checkout_for(db, late)
    later = NOW + timedelta(minutes=40)
    other = reserve(db, event, {standard.id: 1}, now=later)
    fulfil(db, checkout_for(db, other, session_id="cs_test_2"), now=later)
    assert fulfil(db, checkout, now=later).outcome == "sold_out_refund"
    clock.now = later
    assert deliver(app.state.services).captured == 2
    row = _by_kind(session)[MailKind.SOLD_OUT_REFUND]
    assert row.recipient == "ada@example.com"
    assert row.subject.startswith("Sold out: we're refunding your payment for")
    assert "We are refunding £10.00 in full" in row.body_text
    assert "help@example.org" in row.body_html


def test_a_payment_that_did_not_match_its_order_sends_the_refund_email(db, session, app):
    event = make_event(session, capacity=5, contact_email="help@example.org")
    standard = make_ticket_type(session, event, price=1000)
    order = reserve(db, event, {standard.id: 1})
    checkout = checkout_for(db, order)
    checkout.amount_total = 1500
    assert fulfil(db, checkout).outcome == "payment_mismatch_refund"
    assert fulfil(db, checkout).outcome == "payment_mismatch_refund"
    assert deliver(app.state.services).captured == 1
    row = _by_kind(session)[MailKind.PAYMENT_MISMATCH]
    assert row.recipient == "ada@example.com"
    assert row.subject.startswith("We're refunding your payment for")
    assert "did not match the order" in row.body_text
    assert "refunding everything you paid" in row.body_html


def test_a_new_speaker_is_announced_to_paid_orders_once(db, session, app):
    event = make_event(session, capacity=10)
    free = make_ticket_type(session, event, price=0, name="Free ticket")
    paid = reserve(db, event, {free.id: 1})
    with db.write_session() as ws:
        orders.confirm_free(ws, order_id=paid.id, now=NOW, code_key=b"k" * 32)
    reserve(db, event, {free.id: 1})  # still pending: not told
    speaker = make_speaker(session, event, name="Sadiq Khan", affiliation="Mayor of London")
    for _ in range(2):
        with db.write() as ws:
            outbox.queue_speaker_announcement(ws, event_id=event.id, speaker_id=speaker.id, now=NOW)
    assert deliver(app.state.services).captured == 2
    row = _by_kind(session)[MailKind.SPEAKER_ANNOUNCED]
    assert row.subject.startswith("New speaker: Sadiq Khan at ")
    assert "Sadiq Khan, Mayor of London, will speak at" in row.body_text
    assert len(session.exec(select(Order)).all()) == 2
