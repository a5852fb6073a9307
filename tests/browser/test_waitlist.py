"""The waiting list on a phone: a reader joins a sold-out event's list; a buyer who can't come
releases their seat; the seat is offered by email (through a real SMTP server) to the reader,
who buys it through the offer's link. Every new page passes axe and fits 360 px."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlmodel import select

from booking.models import Order, OrderStatus, Refund, WaitlistEntry, WaitlistStatus
from tests.browser.conftest import assert_accessible, screenshot
from tests.factories import make_event, make_ticket_type
from tests.mail.flows import deliver, pay, sender


def _fits_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _check(page, name: str) -> None:  # type: ignore[no-untyped-def]
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, name)


def test_join_release_offer_by_email_and_buy_through_the_link(  # type: ignore[no-untyped-def]
    page, live_server, client, session, standin, smtp, settings, db
):
    event = make_event(
        session,
        slug="should-london-ban-cars",
        title="Should London ban cars?",
        capacity=2,
        contact_email="events@onlondon.example",
    )
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    seller = pay(client, session, event, standin, {standard.id: 2}, email="sam@example.com")

    # The event is sold out: a reader joins the waiting list.
    page.goto(f"{live_server.url}/events/{event.slug}")
    assert page.get_by_text("Sold out, waiting list open").first.is_visible()
    page.get_by_role("link", name="Join the waiting list").click()
    page.get_by_role("button", name="Join the waiting list").click()
    page.wait_for_selector(".error-summary")
    _check(page, "waitlist-join-errors-phone")
    page.get_by_label("How many tickets?").fill("1")
    page.locator("#wl-name").fill("Wanda Waiting")
    page.locator("#wl-email").fill("wanda@example.com")
    page.get_by_role("button", name="Join the waiting list").click()
    page.wait_for_url("**/waitlist/*")
    assert page.get_by_text("You are number 1 in line").is_visible()
    _check(page, "waitlist-place-phone")

    # The buyer can't come and releases one seat: told plainly they are refunded only if
    # someone from the list takes it.
    page.goto(f"{live_server.url}/orders/{seller.token}#release")
    page.get_by_label(re.compile(r"^Ticket 1:")).check()
    page.get_by_role("button", name="Release the tickets I chose").click()
    page.wait_for_url("**/release?ticket=1")
    assert page.get_by_text("only if someone from the waiting list takes it").is_visible()
    _check(page, "release-confirm-phone")
    page.get_by_role("button", name="Yes, release my seat").click()
    page.wait_for_url(f"**/orders/{seller.token}#release")
    assert page.get_by_text("Your ticket is released").is_visible()
    _check(page, "release-done-phone")

    # The offer arrives by email, through a real SMTP server, with a link for Wanda alone.
    assert deliver(sender(smtp.settings_for(settings), db)).sent >= 2
    [offer_mail] = [m for m in smtp.messages if m["Subject"].startswith("Seats are held for you")]
    assert offer_mail["To"].addresses[0].addr_spec == "wanda@example.com"
    text = offer_mail.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/offers/[A-Za-z0-9_-]+", text)
    assert link, text
    page.goto(live_server.url + urlsplit(link.group(0)).path)
    assert page.get_by_role("heading", name="Seats are held for you").is_visible()
    _check(page, "waitlist-offer-phone")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url("**/c/pay/cs_test_*")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/orders/*")
    assert page.get_by_role("heading", name="You're booked").is_visible()

    entry = session.exec(select(WaitlistEntry)).one()
    assert entry.status == WaitlistStatus.TAKEN
    bought = session.exec(select(Order).where(Order.id == entry.offer_order_id)).one()
    assert bought.status == OrderStatus.PAID
    refund = session.exec(select(Refund).where(Refund.order_id == seller.id)).one()
    assert refund.amount == 1000  # the seller's seat was taken: their refund is on its way
    # The offer's link has done its work: it now leads to the order.
    page.goto(live_server.url + urlsplit(link.group(0)).path)
    page.wait_for_url(f"**/orders/{bought.token}")
