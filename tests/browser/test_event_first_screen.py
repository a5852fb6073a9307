"""A reader from an article, on a 390x844 phone: the price, what is left and a way to buy in
the first screen; a promo link lands on the ticket form with the title and date above it."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from booking import branding, demo
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


def load_demo(live_server, session, settings, now=None):  # type: ignore[no-untyped-def]
    """The demo data, with the live app's cached brand dropped so it wears the demo's."""
    demo.load(session, settings=settings, now=now or utcnow())
    branding.forget(live_server.app.state.services)


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
    load_demo(live_server, session, settings)
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
    assert in_first_screen(phone, "#tickets-heading"), box(phone, "#tickets-heading")
    assert box(phone, "#quantity")["y"] < PHONE["height"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(phone)


def test_few_left_and_sold_out_show_in_the_first_screen(phone, live_server, session, settings):
    load_demo(live_server, session, settings)
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
    # A reload asks the server again (the edit shows at once there); a plain visit within
    # the page's max-age may be answered from the browser's own cache.
    phone.reload()
    assert phone.locator(".ticket-summary").get_by_text("Sold out").is_visible()
    assert in_first_screen(phone, ".ticket-summary .state")
    assert phone.get_by_role("link", name="Get tickets").count() == 0
    assert_accessible(phone)


@pytest.mark.parametrize("how", ["short link", "promo parameter"])
def test_a_promo_link_lands_on_the_ticket_form_with_title_and_date_above(
    phone, live_server, session, settings, how
):
    load_demo(live_server, session, settings)
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
    load_demo(live_server, session, settings)
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
    load_demo(live_server, session, settings)
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
    load_demo(live_server, session, settings)
    phone.goto(live_server.url + "/events/london-plan-walk-and-talk")
    phone.locator("#quantity").fill("2")
    phone.get_by_label("Full name").fill("Ada Lovelace")
    phone.get_by_label("Email address").fill("ada@example.com")
    assert not phone.get_by_label("Name on ticket 2 (optional)").is_visible()
    phone.get_by_text("Add a name to each ticket").click()
    # One field per ticket chosen (4 without JavaScript).
    assert phone.locator("[data-ticket-name]:visible").count() == 2
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
    load_demo(live_server, session, settings, utcnow() - timedelta(minutes=1))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/events/london-and-brexit")
        keep(page, "event-desktop")
        assert page.locator(".ticket-summary__button").is_visible()
        assert session.exec(select(TicketType)).first() is not None
    finally:
        context.close()


def test_every_public_page_passes_axe_in_the_demo_brand(phone, live_server, session, settings):
    load_demo(live_server, session, settings)
    for path in ("/", "/events/london-and-brexit", "/events/london-plan-walk-and-talk", "/nope"):
        phone.goto(live_server.url + path)
        assert_accessible(phone)
    header = phone.evaluate(
        "getComputedStyle(document.querySelector('.site-header')).backgroundColor"
    )
    assert header == "rgb(200, 16, 46)"  # the demo's red
    assert phone.locator(".site-logo").get_attribute("alt") == "On London Events"
    assert phone.evaluate("document.querySelector('.site-logo').naturalWidth") > 0


def test_the_order_pages_full_stops_never_wrap_alone(phone, live_server, session, settings):
    load_demo(live_server, session, settings)
    phone.goto(live_server.url + "/events/london-plan-walk-and-talk")
    phone.get_by_label("Full name").fill("Ada Lovelace")
    phone.get_by_label("Email address").fill("someone.with.a.rather.long.name@example.com")
    phone.get_by_role("button", name="Book tickets").click()
    phone.wait_for_url("**/orders/*")
    alone = []
    for width in range(280, 480):
        phone.set_viewport_size({"width": width, "height": 844})
        alone += phone.evaluate(
            """(width) => [...document.querySelectorAll('main p')].flatMap((p) => {
                const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
                const chars = [];
                while (walker.nextNode()) {
                  const n = walker.currentNode;
                  for (let i = 0; i < n.length; i++) if (n.data[i].trim()) chars.push([n, i]);
                }
                const top = ([n, i]) => {
                  const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
                  return r.getBoundingClientRect().top;
                };
                // A full stop ends a sentence: the last character, or one before a space.
                const ends = (k) => !(chars[k][0].data[chars[k][1] + 1] || '').trim();
                return chars.flatMap((c, k) => k > 0 && c[0].data[c[1]] === '.' && ends(k)
                  && top(c) > top(chars[k - 1]) + 2 ? [width + ': ' + p.textContent.trim()] : []);
            })""",
            width,
        )
    assert alone == []


def test_the_payment_page_aligns_expiry_and_cvc_and_marks_a_declined_card(
    phone, live_server, session, settings, standin
):
    load_demo(live_server, session, settings)
    phone.goto(live_server.url + "/events/london-and-brexit")
    phone.get_by_label("Number of Standard tickets").fill("1")
    phone.get_by_label("Full name").fill("Ada Lovelace")
    phone.get_by_label("Email address").fill("ada@example.com")
    phone.get_by_role("button", name="Continue to payment").click()
    phone.wait_for_url("**/c/pay/cs_test_*")
    assert box(phone, "#card_expiry")["y"] == box(phone, "#card_cvc")["y"]
    phone.get_by_label("Card number").fill("4000 0000 0000 0002")
    phone.get_by_role("button", name="Pay").click()
    assert phone.get_by_text("Your card was declined.").is_visible()
    card = phone.locator("#card_number")
    assert card.get_attribute("aria-invalid") == "true"
    colour = phone.evaluate("getComputedStyle(document.querySelector('#card_number')).borderColor")
    assert colour == "rgb(179, 9, 60)"
    assert box(phone, "#card_expiry")["y"] == box(phone, "#card_cvc")["y"]
    keep(phone, "stripe-standin-declined-390x844")
