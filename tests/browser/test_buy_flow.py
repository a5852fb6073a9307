"""A reader buys tickets on a phone: event page -> Stripe's page (the stand-in) -> tickets."""

from sqlmodel import select

from booking import demo
from booking.models import Order, OrderStatus, utcnow
from tests.browser.conftest import assert_accessible, screenshot


def choose_tickets(page, live_server):  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/events/london-and-brexit")
    page.get_by_label("Number of Standard tickets").fill("2")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url("**/c/pay/cs_test_*")


def test_pay_with_a_test_card_and_see_the_tickets(page, live_server, session, settings, standin):
    demo.load(session, settings=settings, now=utcnow())
    choose_tickets(page, live_server)
    assert page.get_by_text("£20.00").first.is_visible()
    screenshot(page, "stripe-standin-phone")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url("**/orders/*")
    assert page.get_by_role("heading", name="You're booked").is_visible()
    assert page.locator(".ticket-card").count() == 2
    assert_accessible(page)
    screenshot(page, "order-paid-phone")


def test_a_declined_card_stays_on_the_payment_page(page, live_server, session, settings, standin):
    demo.load(session, settings=settings, now=utcnow())
    choose_tickets(page, live_server)
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay").click()
    assert page.get_by_text("Your card was declined.").is_visible()
    assert "/c/pay/" in page.url
    assert session.exec(select(Order)).one().status == OrderStatus.PENDING


def test_going_back_from_payment_releases_the_hold(page, live_server, session, settings, standin):
    demo.load(session, settings=settings, now=utcnow())
    choose_tickets(page, live_server)
    page.get_by_role("link", name="Back").click()
    page.wait_for_url("**/events/london-and-brexit?cancelled=1")
    assert page.get_by_text("Your order was cancelled and the tickets were released").is_visible()
    assert session.exec(select(Order)).one().status == OrderStatus.EXPIRED
    assert_accessible(page)
