"""Reminder and thank-you emails through a real SMTP server on loopback."""

from __future__ import annotations

import io
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlmodel import select

from booking.domain import reminders
from booking.domain.tickets import grouped, reference
from booking.models import CheckIn, Event, MailKind, Order, OrderStatus, OutboxStatus, Ticket
from tests.mail.flows import deliver, outbox_rows, sender
from tests.reminders.conftest import book


def _queue(db, kind, event, now):  # type: ignore[no-untyped-def]
    with db.write_session() as ws:
        return reminders.queue(ws, kind=kind, event_id=event.id, now=now)


def _sent(smtp, settings, db, clock):  # type: ignore[no-untyped-def]
    return deliver(sender(smtp.settings_for(settings), db, clock))


def test_the_reminder_has_the_tickets_inline_doors_venue_map_and_links(
    db, session, settings, smtp, soon, clock
):
    order = book(db, settings, soon, name="Ada Lovelace", tickets=2, now=clock.now - timedelta(2))
    _sent(smtp, settings, db, clock)  # the confirmation
    smtp.messages.clear()
    assert _queue(db, MailKind.REMINDER, soon, clock.now) == 1

    done = _sent(smtp, settings, db, clock)
    assert done.sent == 1
    [message] = smtp.messages
    assert message["Subject"].startswith("Reminder: Should London have a congestion charge…")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert all(p.get_content_type() != "text/calendar" for p in message.walk())

    codes = {t.code for t in session.exec(select(Ticket).where(Ticket.order_id == order.id))}
    decoded = set()
    for image in images:
        assert f"cid:{image['Content-ID'].strip('<>')}" in html
        [found] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
        decoded.add(found.text)
    assert decoded == codes and len(codes) == 2
    for code in codes:
        assert reference(code) in text and grouped(code) in text

    order_url = f"http://testserver/orders/{order.token}"
    for body in (text, html):
        assert order_url in body and f"{order_url}#release" in body
        assert "Doors open at" in body and "Conway Hall" in body
        assert "https://www.openstreetmap.org/?mlat=51.52" in body.replace("&amp;", "&")

    assert _queue(db, MailKind.REMINDER, soon, clock.now) == 0
    assert _sent(smtp, settings, db, clock).total == 0 and len(smtp.messages) == 1


def test_an_order_cancelled_after_queueing_gets_no_reminder(
    db, session, settings, smtp, soon, clock
):
    order = book(db, settings, soon, name="Ada Lovelace", tickets=1, now=clock.now - timedelta(2))
    _sent(smtp, settings, db, clock)  # the confirmation
    _queue(db, MailKind.REMINDER, soon, clock.now)
    with db.write() as ws:
        ws.get(Order, order.id).status = OrderStatus.CANCELLED  # type: ignore[union-attr]
    done = _sent(smtp, settings, db, clock)
    assert (done.skipped, done.sent) == (1, 0)
    assert not any(m["Subject"].startswith("Reminder") for m in smtp.messages)
    [row] = [r for r in outbox_rows(session) if r.kind == MailKind.REMINDER]
    assert row.status == OutboxStatus.SKIPPED


def test_thank_yous_carry_the_organisers_two_texts_escaped(
    db, session, settings, smtp, soon, clock
):
    early = clock.now - timedelta(days=2)
    came = book(db, settings, soon, name="Ada Lovelace", tickets=1, now=early)
    book(db, settings, soon, name="Bob Crow", tickets=1, now=early)
    with db.write() as ws:
        event = ws.get(Event, soon.id)
        assert event is not None
        event.thank_you_on = True
        event.thank_you_came = "Thanks for coming!\n\nSlides: <b>soon</b>"
        event.thank_you_missed = "Sorry we missed you. The recording is online."
        ticket = ws.exec(select(Ticket).where(Ticket.order_id == came.id)).one()
        ws.add(CheckIn(ticket_id=ticket.id, event_id=soon.id, nonce="door-1"))  # type: ignore[arg-type]
    _sent(smtp, settings, db, clock)
    smtp.messages.clear()
    clock.now = soon.ends_at + timedelta(hours=1)  # type: ignore[operator]
    assert _queue(db, MailKind.THANK_YOU, soon, clock.now) == 2
    assert _sent(smtp, settings, db, clock).sent == 2
    by_to = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    ada = by_to["ada@example.com"]
    html = ada.get_body(("html",)).get_content()
    assert "Thanks for coming!" in ada.get_body(("plain",)).get_content()
    assert "&lt;b&gt;soon&lt;/b&gt;" in html and "<b>soon</b>" not in html
    bob = by_to["bob@example.com"].get_body(("plain",)).get_content()
    assert "The recording is online." in bob and "Thanks for coming" not in bob
