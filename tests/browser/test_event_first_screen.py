"""A reader from an article, on a 390x844 phone: the price, what is left and a way to buy in
the first screen; a promo link lands on the ticket form with the title and date above it."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from booking import demo
from booking.domain import promo
from booking.models import Event, Order, Ticket, TicketType, utcnow
from tests.browser.conftest import assert_accessible, screenshot

PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots/reader")


def keep(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot in the test artifacts (and a copy for people to look at)."""
    path = screenshot(page, name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


@pytest.fixture
def phone(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="en-GB")
    yield context.new_page()
    context.close()


def box(page, selector: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not rendered"
    return found


def in_first_screen(page, selector: str) -> bool:  # type: ignore[no-untyped-def]
    """Wholly inside the viewport as the page is now scrolled."""
    b = box(page, selector)
    return b["y"] >= 0 and b["y"] + b["height"] <= PHONE["height"]


def test_price_availability_and_get_tickets_are_in_the_first_phone_screen(
    phone, live_server, session, settings
):
    demo.load(session, settings=settings, now=utcnow())
    phone.goto(live_server.url + "/events/london-and-brexit")
    keep(phone, "event-390x844")
    phone.screenshot(path=str(SHOTS / "event-390x844-first-screen.png"))
    summary = phone.locator(".ticket-summary")
    assert "£5 to £10" in summary.inner_text()
    for selector in (".event__title", ".event__when", ".ticket-summary__price"):
        assert in_first_screen(phone, selector), selector
    button = phone.get_by_role("link", name="Get tickets")
    assert in_first_screen(phone, ".ticket-summary__button")
    assert button.get_attribute("href") == "#tickets"
    assert box(phone, ".buy-form")["y"] > PHONE["height"]  # the form itself is further down
    button.click()
    phone.wait_for_function("location.hash === '#tickets'")
    assert in_first_screen(phone, "#tickets-heading")
    assert box(phone, "#quantity")["y"] < PHONE["height"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(phone)


def test_few_left_and_sold_out_show_in_the_first_screen(phone, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    event = session.exec(select(Event).where(Event.slug == "london-and-brexit")).one()
    event.capacity = 8
    session.add(event)
    session.commit()
    phone.goto(live_server.url + "/events/london-and-brexit")
    assert phone.locator(".ticket-summary").get_by_text("Only 8 left").is_visible()
    assert in_first_screen(phone, ".ticket-summary .state")
    event.capacity = 0
    session.add(event)
    session.commit()
    phone.goto(live_server.url + "/events/london-and-brexit")
    assert phone.locator(".ticket-summary").get_by_text("Sold out").is_visible()
    assert in_first_screen(phone, ".ticket-summary .state")
    assert phone.get_by_role("link", name="Get tickets").count() == 0
    assert_accessible(phone)


@pytest.mark.parametrize("how", ["short link", "promo parameter"])
def test_a_promo_link_lands_on_the_ticket_form_with_title_and_date_above(
    phone, live_server, session, settings, how
):
    demo.load(session, settings=settings, now=utcnow())
    event = session.exec(select(Event).where(Event.slug == "london-and-brexit")).one()
    session.commit()
    link = promo.create_link(
        session, event_id=event.id, label="Article", organisation_id=None, now=utcnow()
    )
    if how == "short link":
        phone.goto(f"{live_server.url}/t/{link.code}")
    else:
        phone.goto(f"{live_server.url}/events/london-and-brexit?promo={link.code}")
    phone.wait_for_selector(".buy-form")
    keep(phone, f"event-promo-{how.replace(' ', '-')}-390x844")
    for selector in (".event__title", ".event__when", "#tickets-heading", "#quantity"):
        assert in_first_screen(phone, selector), selector
    title, form = box(phone, ".event__title"), box(phone, ".buy-form")
    assert title["y"] < form["y"]
    assert_accessible(phone)


def test_one_ticket_type_starts_at_one_and_needs_only_two_typed_fields(
    phone, live_server, session, settings
):
    demo.load(session, settings=settings, now=utcnow())
    phone.goto(live_server.url + "/events/london-plan-walk-and-talk")
    assert phone.locator("#quantity").input_value() == "1"
    assert phone.locator(".hold-note").count() == 0
    assert phone.get_by_text("We'll hold your tickets").count() == 0
    assert phone.get_by_text("Payment is handled by Stripe").count() == 0
    assert phone.locator("details.ticket-names").get_attribute("open") is None
    phone.get_by_label("Full name").fill("Ada Lovelace")
    phone.get_by_label("Email address").fill("ada@example.com")
    phone.get_by_role("button", name="Book tickets").click()
    phone.wait_for_url("**/orders/*")
    assert phone.get_by_role("heading", name="You're booked").is_visible()
    assert phone.locator(".ticket-card").count() == 1


def test_the_page_works_without_javascript(browser, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/events/london-plan-walk-and-talk")
        page.get_by_role("link", name="Get tickets").click()
        page.get_by_label("Full name").fill("Ada Lovelace")
        page.get_by_label("Email address").fill("ada@example.com")
        page.get_by_role("button", name="Book tickets").click()
        page.wait_for_url("**/orders/*")
        assert page.locator(".ticket-card").count() == 1
    finally:
        context.close()


def test_names_per_ticket_reach_the_tickets(phone, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    phone.goto(live_server.url + "/events/london-plan-walk-and-talk")
    phone.locator("#quantity").fill("2")
    phone.get_by_label("Full name").fill("Ada Lovelace")
    phone.get_by_label("Email address").fill("ada@example.com")
    assert not phone.get_by_label("Name on ticket 2 (optional)").is_visible()
    phone.get_by_text("Add a name to each ticket").click()
    phone.get_by_label("Name on ticket 2 (optional)").fill("Charles Babbage")
    assert_accessible(phone)
    phone.get_by_role("button", name="Book tickets").click()
    phone.wait_for_url("**/orders/*")
    names = phone.locator(".ticket-card__name").all_inner_texts()
    assert names == ["Ada Lovelace", "Charles Babbage"]
    order = session.exec(select(Order)).one()
    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert sorted(t.attendee_name for t in tickets) == ["Ada Lovelace", "Charles Babbage"]
    assert order.buyer_name == "Ada Lovelace"


def test_desktop_screenshot(browser, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow() - timedelta(minutes=1))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/events/london-and-brexit")
        keep(page, "event-desktop")
        assert page.locator(".ticket-summary__button").is_visible()
        assert session.exec(select(TicketType)).first() is not None
    finally:
        context.close()
