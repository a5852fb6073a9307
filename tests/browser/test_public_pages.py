"""A reader on a phone: home page -> the demo debate, speakers and tickets visible, accessible."""

from booking import demo
from booking.models import utcnow
from tests.browser.conftest import assert_accessible, screenshot


def test_reader_finds_the_debate_on_a_phone(page, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    page.goto(live_server.url + "/")
    assert_accessible(page)
    screenshot(page, "home-phone")
    page.get_by_role("link", name="London and Brexit").first.click()
    page.wait_for_url("**/events/london-and-brexit")
    for name in ("Andrew Adonis", "Daniel Moylan"):
        assert page.get_by_role("heading", name=name).is_visible()
    assert page.get_by_text("and others to be announced").is_visible()
    for ticket in ("Standard", "Concession"):
        assert page.locator(".offer__name", has_text=ticket).is_visible()
    assert page.get_by_role("button", name="Continue to payment").is_visible()
    # Nothing overflows sideways at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    screenshot(page, "event-phone")


def test_error_summary_and_404_are_accessible(page, live_server, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    page.goto(live_server.url + "/events/london-and-brexit")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Error: ")
    assert page.get_by_text("Select how many tickets you want").first.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert_accessible(page)
    screenshot(page, "event-errors-phone")
    page.goto(live_server.url + "/events/no-such-event")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert_accessible(page)
