"""Confirmation emails through a real SMTP server on loopback, after a real (stand-in) payment."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import zxingcpp
from PIL import Image
from sqlmodel import select

from booking.app import create_app
from booking.db import Database
from booking.domain import outbox
from booking.domain.tickets import grouped, reference
from booking.models import MailKind, OutboxStatus, Ticket
from tests.conftest import SMTPServer, free_port
from tests.helpers import ticket_types
from tests.mail.flows import deliver, free_orders, outbox_rows, pay, sender

LONDON = ZoneInfo("Europe/London")


def _parts(message):  # type: ignore[no-untyped-def]
    return {part.get_content_type(): part for part in message.walk()}


def test_a_paid_order_gets_one_confirmation_with_qr_codes_and_a_calendar(
    client, session, event, standin, smtp, settings, db, clock
):
    standard, concession = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1, concession.id: 1})
    [row] = outbox_rows(session)
    assert (row.kind, row.status, row.dedupe_key) == (
        "confirmation",
        "queued",
        f"confirmation:{order.id}",
    )

    done = deliver(sender(smtp.settings_for(settings), db, clock))
    assert done.sent == 1 and done.total == 1
    assert len(smtp.messages) == 1
    assert smtp.envelopes[0]["rcpt_tos"] == ["ada@example.com"]
    message = smtp.messages[0]

    # Headers: From, To, Subject in London time, a stable Message-ID on the BASE_URL host.
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert message["To"].addresses[0].display_name == "Ada Lovelace"
    starts = event.starts_at.astimezone(LONDON)
    when = f"{starts:%a} {starts.day} {starts:%b}"
    assert message["Subject"].startswith(f"Your tickets: London and Brexit… {when}, ")
    assert message["Message-ID"].endswith("@testserver>")
    assert message["Reply-To"].addresses[0].addr_spec == "events@onlondon.example"
    [row] = outbox_rows(session)
    assert row.status == OutboxStatus.SENT and row.message_id == message["Message-ID"].strip()

    # Structure: mixed [alternative [text, related [html, png, png]], calendar].
    assert message.get_content_type() == "multipart/mixed"
    alternative = message.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    text_part, related = alternative.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html" and len(images) == 2

    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    codes = {t.code for t in tickets}
    text, html = text_part.get_content(), html_part.get_content()
    for code in codes:
        assert reference(code) in text and grouped(code) in text
        assert reference(code) in html and grouped(code) in html
        assert f'alt="QR code for ticket {reference(code)}"' in html
    assert f"http://testserver/orders/{order.token}" in text and order.token in html
    assert order.reference in text and "£15.00" in text and "£15.00" in html
    assert "Andrew Adonis" in html and "On London" in html and "Conway Hall" in html
    assert "data:" not in html and 'src="cid:' in html
    # CSS is inlined; only the phone media query stays in a <style> element.
    assert html.count("<style") == 1 and "@media" in html and 'style="' in html
    assert "events@onlondon.example" in text

    # Every QR code decodes to its ticket's code and is referenced by the HTML.
    decoded = set()
    for image in images:
        assert image.get_content_type() == "image/png"
        cid = image["Content-ID"].strip("<>")
        assert f"cid:{cid}" in html
        picture = Image.open(io.BytesIO(image.get_content()))
        assert picture.width >= 25 * 8 and picture.getpixel((0, 0)) in (255, (255, 255, 255))
        [result] = zxingcpp.read_barcodes(picture)
        decoded.add(result.text)
    assert decoded == codes

    # The calendar file: Europe/London start time, the order link.
    calendar = _parts(message)["text/calendar"]
    assert calendar.get_filename() == f"{event.slug}.ics"
    [vevent] = icalendar.Calendar.from_ical(calendar.get_content()).walk("VEVENT")
    assert vevent.decoded("dtstart") == starts
    assert str(vevent.decoded("dtstart").tzinfo) == "Europe/London"
    assert vevent["uid"] == f"order-{order.reference}@testserver"
    assert f"/orders/{order.token}" in str(vevent["description"])
    assert "Conway Hall" in str(vevent["location"])

    # Nothing else goes out, however often the sender runs.
    assert deliver(sender(smtp.settings_for(settings), db, clock)).total == 0
    assert len(smtp.messages) == 1


def test_smtp_down_then_up_after_a_restart_sends_exactly_one(
    client, session, event, standin, settings, database_url, db, clock
):
    server = SMTPServer(free_port())  # nothing listening yet
    smtp_settings = server.settings_for(settings)
    standard, _ = ticket_types(session, event)
    pay(client, session, event, standin, {standard.id: 2})

    first = deliver(sender(smtp_settings, db, clock))
    assert (first.sent, first.retrying) == (0, 1)
    [row] = outbox_rows(session)
    assert row.status == OutboxStatus.QUEUED and row.attempts == 1
    assert row.last_error and row.next_attempt_at >= clock.now + outbox.BACKOFF_FIRST
    message_id = row.message_id

    server.start()
    try:
        # Not due yet: the backoff is respected even though the server is back.
        assert deliver(sender(smtp_settings, db, clock)).total == 0
        # The app restarts: a new app and database engine on the same database, later on.
        clock.advance(minutes=5)
        restarted_db = Database(database_url)
        try:
            app = create_app(smtp_settings, db=restarted_db, clock=clock)
            assert deliver(app.state.services).sent == 1
            assert deliver(app.state.services).total == 0
        finally:
            restarted_db.dispose()
        assert deliver(sender(smtp_settings, db, clock)).total == 0
    finally:
        server.stop()
    assert len(server.messages) == 1
    assert server.messages[0]["Message-ID"].strip() == message_id
    [row] = outbox_rows(session)
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.last_error == ""


def test_without_smtp_emails_are_captured_and_logged(client, session, event, standin, app, caplog):
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    with caplog.at_level(logging.INFO, logger="booking.mail"):
        done = deliver(app.state.services)
    assert done.captured == 1
    [row] = outbox_rows(session)
    ticket = session.exec(select(Ticket).where(Ticket.order_id == order.id)).one()
    assert row.status == OutboxStatus.CAPTURED and row.sent_at is not None
    assert row.subject.startswith("Your tickets: London and Brexit…")
    assert reference(ticket.code) in row.body_text and reference(ticket.code) in row.body_html
    assert "captured" in caplog.text and "ada@example.com" in caplog.text
    assert outbox.recent(session)[0].id == row.id


def test_two_senders_at_once_send_every_email_once(session, settings, database_url, db):
    """Three senders, each with its own engine, race over the same outbox (run on PostgreSQL
    too: there the claim is SELECT … FOR UPDATE SKIP LOCKED)."""
    import asyncio
    import threading

    server = SMTPServer(free_port(), delay=0.01)
    server.start()
    try:
        orders = free_orders(session, db, settings, count=12)
        results = []
        barrier = threading.Barrier(3)

        def run() -> None:
            engine = Database(database_url)
            try:
                svc = sender(server.settings_for(settings), engine)
                barrier.wait()
                from booking import mail

                results.append(asyncio.run(mail.deliver_pending(svc, batch=2)))
            finally:
                engine.dispose()

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        server.stop()
    ids = [m["Message-ID"] for m in server.messages]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert sorted(m["To"].addresses[0].addr_spec for m in server.messages) == sorted(
        o.buyer_email for o in orders
    )
    assert sum(r.sent for r in results) == 12 and sum(r.lost for r in results) == 0
    rows = outbox_rows(session)
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 12
    assert all(r.attempts == 1 for r in rows)


def test_a_refused_address_fails_at_once_and_keeps_the_error(
    client, session, event, standin, smtp, settings, db, clock
):
    standard, _ = ticket_types(session, event)
    pay(client, session, event, standin, {standard.id: 1}, email="nobody@example.com")
    smtp.refuse_rcpt["nobody@example.com"] = "550 5.1.1 No such user here"
    assert deliver(sender(smtp.settings_for(settings), db, clock)).failed == 1
    [row] = outbox_rows(session)
    assert row.status == OutboxStatus.FAILED and row.attempts == 1
    assert "550" in row.last_error and "No such user" in row.last_error
    assert outbox.recent(session, status=OutboxStatus.FAILED)[0].id == row.id
    # An organiser can give it another go once the address is fixed.
    assert outbox.requeue(db.write_session(), outbox_id=row.id, now=clock.now)
    assert outbox_rows(session)[0].status == OutboxStatus.QUEUED


def test_temporary_refusals_back_off_then_give_up(
    client, session, event, standin, smtp, settings, db, clock
):
    standard, _ = ticket_types(session, event)
    pay(client, session, event, standin, {standard.id: 1})
    smtp.data_reply = "451 4.3.0 Try again later"
    svc = sender(smtp.settings_for(settings), db, clock)
    delays = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        done = deliver(svc)
        [row] = outbox_rows(session)
        assert row.attempts == attempt and "451" in row.last_error
        if attempt < outbox.MAX_ATTEMPTS:
            assert done.retrying == 1 and row.status == OutboxStatus.QUEUED
            delays.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at
        else:
            assert done.failed == 1 and row.status == OutboxStatus.FAILED
            assert row.last_error.startswith("gave up")
    assert delays[0] >= timedelta(minutes=1) and delays[1] >= timedelta(minutes=2)
    assert all(later > earlier for earlier, later in zip(delays[:5], delays[1:6], strict=True))
    assert max(delays) <= timedelta(hours=1.2)
    assert sum(delays, timedelta()) > timedelta(hours=1)  # an hour-long outage is survived
    assert smtp.messages == []


def test_smtp_login_with_username_and_password(
    client, session, event, standin, settings, db, clock
):
    server = SMTPServer(free_port())
    server.auth = ("booking", "s3cret")
    server.start()
    try:
        standard, _ = ticket_types(session, event)
        pay(client, session, event, standin, {standard.id: 1})
        wrong = server.settings_for(settings).replace(smtp_username="booking", smtp_password="no")
        assert deliver(sender(wrong, db, clock)).retrying == 1
        assert "535" in outbox_rows(session)[0].last_error
        clock.advance(minutes=5)
        right = server.settings_for(settings).replace(
            smtp_username="booking", smtp_password="s3cret"
        )
        assert deliver(sender(right, db, clock)).sent == 1
    finally:
        server.stop()
    assert len(server.messages) == 1 and server.envelopes[0]["authenticated"]


def test_fulfilling_again_queues_no_second_confirmation(client, session, event, standin):
    from urllib.parse import urlsplit

    from tests.helpers import buy, session_id_of

    standard, _ = ticket_types(session, event)
    cs_id = session_id_of(buy(client, event, {standard.id: 1}))
    success = urlsplit(standin.pay(cs_id, "4242424242424242").redirect_url)
    for _ in range(3):  # the redirect, a reload, and (as the webhook would) once more
        assert client.get(f"{success.path}?{success.query}").status_code == 303
    assert [r.kind for r in outbox_rows(session)] == [MailKind.CONFIRMATION]


def test_the_app_sends_mail_from_a_job_while_it_runs(session, settings, db, smtp, standin):
    import time

    from starlette.testclient import TestClient

    [order] = free_orders(session, db, settings, count=1)
    app = create_app(smtp.settings_for(settings).replace(run_jobs=True), db=db)
    with TestClient(app):
        deadline = time.monotonic() + 10
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [m["To"].addresses[0].addr_spec for m in smtp.messages] == [order.buyer_email]
