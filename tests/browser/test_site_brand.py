"""An organiser brands the site in the back office; readers see the header, colours and
links change at phone width, and a colour that fails contrast is refused."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible
from tests.browser.test_event_first_screen import keep
from tests.conftest import PASSWORD
from tests.factories import make_event, make_ticket_type


def test_brand_settings_change_the_header_and_colours(page, live_server, session, organiser):
    event = make_event(session, title="Should London ban cars?")
    make_ticket_type(session, event)
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email address").fill(organiser.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/**")
    page.get_by_role("link", name="Site").click()
    page.get_by_label("Site name").fill("The Islington Gazette")
    page.get_by_label("Brand colour").fill("#ffdd00")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert (
        page.locator(".error-summary")
        .get_by_text("Brand colour #ffdd00 has a contrast")
        .is_visible()
    )
    assert_accessible(page)
    page.get_by_label("Brand colour").fill("#a50034")
    page.get_by_label("Link colour").fill("#0b57a4")
    page.get_by_label("Privacy policy link (optional)").fill("https://gazette.example/privacy")
    page.get_by_role("button", name="Save settings").click()
    assert page.get_by_text("The site settings are saved.").is_visible()
    keep(page, "admin-site-settings-phone")

    page.goto(f"{live_server.url}/events/{event.slug}")
    assert page.locator(".site-name").inner_text() == "The Islington Gazette"
    style = "getComputedStyle(document.querySelector(%r)).%s"
    assert page.evaluate(style % (".site-header", "backgroundColor")) == "rgb(165, 0, 52)"
    assert page.evaluate(style % (".calendar-links a", "color")) == "rgb(11, 87, 164)"
    privacy = page.get_by_role("link", name="Privacy policy")
    assert privacy.get_attribute("href") == "https://gazette.example/privacy"
    assert_accessible(page)
    keep(page, "event-branded-phone")
