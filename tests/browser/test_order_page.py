"""A buyer on a phone manages their order: QR codes, a name change, a resend, the calendar file,
then cancels for a refund. Every page must pass axe and fit 360 px."""

from __future__ import annotations

import base64
import re

import icalendar
from sqlmodel import select

from booking.models import MailKind, MailOutbox, Order, OrderStatus, Ticket
from tests.browser.conftest import assert_accessible, screenshot
from tests.factories import make_event, make_organisation, make_speaker, make_ticket_type
from tests.helpers import ticket_types
from tests.mail.flows import deliver, pay, sender


def _debate(session):  # type: ignore[no-untyped-def]
    event = make_event(
        session,
        slug="london-and-brexit",
        title="London and Brexit: will leaving the EU be good or bad for the capital?",
        contact_email="events@onlondon.example",
        buyer_cancel_allowed=True,
    )
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    make_speaker(session, event, name="Andrew Adonis")
    make_speaker(session, event, name="Daniel Moylan", position=1)
    make_organisation(session, event, name="On London")
    return event


def _fits_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_buyer_manages_their_order_on_a_phone(page, live_server, client, session, standin):
    event = _debate(session)
    standard, concession = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1, concession.id: 1})
    page.goto(f"{live_server.url}/orders/{order.token}")
    assert page.get_by_role("heading", name="You're booked").is_visible()
    qr_widths = page.eval_on_selector_all("img.qr", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(qr_widths) == 2 and min(qr_widths) >= 250
    shown = page.eval_on_selector("img.qr", "i => i.getBoundingClientRect().width")
    assert 0.6 * 360 <= shown <= 330
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "order-phone")

    # Change the name on the first ticket: an empty name is explained, then fixed.
    page.get_by_role("link", name=re.compile(r"^Change name on ticket")).first.click()
    page.wait_for_url("**/tickets/1/name")
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Save name").click()
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "order-name-error-phone")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_role("button", name="Save name").click()
    page.wait_for_url(f"**/orders/{order.token}#ticket-1")
    assert page.get_by_text("The name on your ticket has been changed").is_visible()
    assert page.get_by_role("heading", name="Grace Hopper").is_visible()

    # Ask for the email again.
    page.get_by_role("button", name="Send the email again").click()
    page.wait_for_selector("text=We've sent your confirmation email")
    kinds = [r.kind for r in session.exec(select(MailOutbox)).all()]
    assert kinds.count(MailKind.RESEND) == 1

    # Download the calendar file.
    with page.expect_download() as download:
        page.get_by_role("link", name="Apple Calendar or Outlook (.ics file)").click()
    body = download.value.path().read_bytes()
    [vevent] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert vevent["uid"] == f"order-{order.reference}@127.0.0.1"
    assert str(vevent.decoded("dtstart").tzinfo) == "Europe/London"

    # Cancel, with a confirmation step.
    page.get_by_role("link", name="Cancel this order").click()
    page.wait_for_url("**/cancel")
    assert page.get_by_role(
        "heading", name="Are you sure you want to cancel your order?"
    ).is_visible()
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "order-cancel-phone")
    page.get_by_role("button", name="Yes, cancel my order").click()
    page.wait_for_url(f"**/orders/{order.token}")
    assert page.get_by_role("heading", name="Order cancelled and refunded").is_visible()
    assert page.locator("img.qr").count() == 0
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "order-cancelled-phone")
    order = session.exec(select(Order).where(Order.id == order.id)).one()
    assert order.status == OrderStatus.CANCELLED and order.amount_refunded == 1500


def test_the_confirmation_email_reads_well_on_a_phone(
    page, client, session, standin, smtp, settings, db, clock
):
    event = _debate(session)
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 2})
    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 1
    [message] = smtp.messages
    html = message.get_body(("html",)).get_content()
    for part in message.walk():  # show the inline QR codes as the mail app would
        if part.get_content_type() == "image/png":
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(
                f"cid:{part['Content-ID'].strip('<>')}", f"data:image/png;base64,{data}"
            )
    page.set_content(html)
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 2 and min(widths) > 0
    _fits_a_phone(page)
    codes = [t.code for t in session.exec(select(Ticket).where(Ticket.order_id == order.id))]
    assert page.get_by_text(codes[0][:4] + "-" + codes[0][4:8]).is_visible()
    screenshot(page, "email-confirmation-phone")
    page.set_viewport_size({"width": 800, "height": 900})
    assert page.eval_on_selector("table.container", "t => t.getBoundingClientRect().width") == 600
    screenshot(page, "email-confirmation-desktop")
