"""The door screen in a real queue: a couple admitted together from a search, refused tickets
shown as not valid, big enough targets with typing and search above the camera, a phone
with no camera (or a refused one) that says so once, and the paper list for when phones fail."""

from __future__ import annotations

from playwright.sync_api import expect

from booking.domain import tickets
from booking.models import Order, TicketStatus
from tests.browser.conftest import PHONE, assert_accessible, screenshot
from tests.browser.test_door import name_phone
from tests.conftest import PASSWORD
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_ticket_type

# Counts the page's requests for the camera, and (when asked) refuses them as a person would.
CAMERA_PROBE = """
window.__cameraAsks = 0;
if (navigator.mediaDevices) {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => {
    window.__cameraAsks += 1;
    if (localStorage.getItem("test:refuse-camera")) {
      return Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    }
    return real(c);
  };
}
"""


def _sign_in(page, live_server, user, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/sign-in?next={path}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def _box(page, selector: str):  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
  '#door a, #door button, #door input:not([type=hidden])'
)).filter(el => el.offsetParent !== null && !el.closest('.door-result'))
  .map(el => [el.textContent.trim() || el.id, el.getBoundingClientRect()])
  .filter(([, r]) => r.width < 44 || r.height < 44)
  .map(([name, r]) => `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`)"""


def test_a_couple_is_admitted_together_and_refused_tickets_look_refused(
    page, live_server, session, staff
):
    event = make_event(session, slug="queue-debate", title="Who will house London?")
    standard = make_ticket_type(session, event, name="Standard")
    ada, bea = paid_tickets(
        session, event, standard, 2, names=["Ada Lovelace", "Bea Bright"], buyer_name="Ada Lovelace"
    )
    [cy] = paid_tickets(session, event, standard, names=["Cy Young"], buyer_name="Cy Young")
    order_ref = session.get(Order, ada.order_id).reference
    cy.status = TicketStatus.CANCELLED  # refunded
    session.add(cy)
    session.commit()

    _sign_in(page, live_server, staff, f"/door/{event.slug}")
    name_phone(page, "Main door phone")
    expect(page.locator("#count")).to_have_text("0 of 2 in")

    # On a phone, typing and search come first, in view without scrolling, above the camera.
    camera_top = _box(page, "#camera")["y"]
    for field in ("#manual-code", "#search-query"):
        box = _box(page, field)
        assert box["y"] + box["height"] <= PHONE["height"] and box["y"] < camera_top, field
    assert page.evaluate(SMALL_TARGETS) == []

    page.get_by_label("Name, email or order reference").fill("Bright")
    page.get_by_role("button", name="Search").click()
    admit_all = page.get_by_role("button", name="Admit all 2 on order")
    expect(admit_all).to_have_text("Admit all on this order (2)")
    results = page.locator("#search-results")
    expect(results).to_contain_text("Bea Bright")
    expect(results).to_contain_text("Ada Lovelace")  # on Bea's order, though not named Bright
    assert page.evaluate(SMALL_TARGETS) == []
    ref = results.locator(".nowrap", has_text=tickets.reference(ada.code))
    assert ref.evaluate("el => getComputedStyle(el).whiteSpace") == "nowrap"
    assert_accessible(page)
    screenshot(page, "door-search-couple-phone")

    admit_all.click()
    expect(page.locator("#result-title")).to_have_text("Admitted 2")
    expect(page.locator("#result-detail")).to_have_text(
        "Bea Bright: admitted. Ada Lovelace: admitted."
    )
    assert_accessible(page)
    screenshot(page, "door-admitted-all-phone")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#count")).to_have_text("2 of 2 in")

    # The wrong couple: one Undo takes both back, and they can be admitted again.
    expect(page.locator("#last-text")).to_have_text("Last admitted: 2 on order " + order_ref)
    page.locator("#last-undo").click()
    expect(page.locator("#result-title")).to_have_text("Admissions undone")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#count")).to_have_text("0 of 2 in")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Admit all 2 on order").click()
    expect(page.locator("#result-title")).to_have_text("Admitted 2")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#count")).to_have_text("2 of 2 in")

    # A refunded ticket in the results: the not-valid colour and the word, no Admit button.
    page.get_by_label("Name, email or order reference").fill("Young")
    page.get_by_role("button", name="Search").click()
    item = page.locator(".door-attendee", has_text="Cy Young")
    expect(item).to_contain_text("Not valid Cancelled or refunded")
    tag = item.locator(".door-tag--invalid")
    assert tag.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(202, 53, 53)"
    assert item.get_by_role("button").count() == 0
    assert_accessible(page)
    screenshot(page, "door-search-refunded-phone")


def test_without_a_camera_the_screen_says_so_once_and_offers_typing(
    browser, live_server, session, staff
):
    event = make_event(session, slug="no-camera-debate", title="London after dark")
    standard = make_ticket_type(session, event, name="Standard")
    [ada] = paid_tickets(session, event, standard, names=["Ada Lovelace"])
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="en-GB")
    context.add_init_script(CAMERA_PROBE)
    page = context.new_page()
    _sign_in(page, live_server, staff, f"/door/{event.slug}")
    status = page.locator("#camera-status")

    # This Chromium has no camera at all.
    page.get_by_role("button", name="Start camera").click()
    expect(status).to_have_text(
        "This phone has no camera the page can use. Type the code or search by name above."
    )
    page.wait_for_timeout(7000)  # the old screen retried every 3 seconds
    assert page.evaluate("window.__cameraAsks") == 1
    expect(status).to_contain_text("no camera")
    expect(page.get_by_role("button", name="Try the camera again")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "door-no-camera-phone")

    # Typing still works.
    page.get_by_label("Ticket code or reference").fill(tickets.reference(ada.code))
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#result-title")).to_have_text("Admitted")
    page.get_by_role("button", name="Scan next").click()

    # The camera refused: said once, not asked again by itself, not on the next visit either.
    page.evaluate("localStorage.setItem('test:refuse-camera', '1')")
    page.get_by_role("button", name="Try the camera again").click()
    expect(status).to_contain_text("The camera is blocked for this site.")
    page.wait_for_timeout(7000)
    assert page.evaluate("window.__cameraAsks") == 2
    page.reload()
    expect(page.locator("#count")).to_have_text("1 of 1 in")
    page.wait_for_timeout(3000)
    assert page.evaluate("window.__cameraAsks") == 0  # a fresh page did not ask
    expect(status).to_have_text("Press Start camera to scan tickets.")
    context.close()


def test_the_printable_door_list_and_the_check_in_list(page, live_server, session, organiser):
    event = make_event(session, slug="list-debate", title="London's buses")
    standard = make_ticket_type(session, event, name="Standard")
    paid_tickets(session, event, standard, 2, names=["Zoe Zed", "Ada Lovelace"])

    _sign_in(page, live_server, organiser, f"/admin/events/{event.id}")
    page.get_by_role("link", name="Printable door list").click()
    expect(page.get_by_role("heading", name="London's buses")).to_be_visible()
    rows = page.locator(".door-list__table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Ada Lovelace")
    assert_accessible(page)
    screenshot(page, "door-list-phone")
    page.emulate_media(media="print")
    assert page.get_by_role("button", name="Print this list").is_hidden()
    assert page.locator(".site-nav").is_hidden()
    page.pdf(path=str(screenshot(page, "door-list-print").with_suffix(".pdf")))
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/admin/events/{event.id}")
    page.locator(".event-tabs").get_by_role("link", name="Check-ins").click()
    expect(page.locator(".big-number")).to_have_text("0 of 2 tickets checked in")
    assert_accessible(page)
    screenshot(page, "admin-checkins-phone")

    # The door screen's search as the server draws it (a link with ?q=), whose forms work
    # without the script: Admit all posts both codes at once.
    page.goto(f"{live_server.url}/door/{event.slug}?q=Zoe")
    page.locator(
        "#search-results form.door-order__all, #search-results .door-order__all"
    ).first.click()
    expect(page.get_by_role("heading", name="Admitted 2")).to_be_visible()
    expect(page.locator(".door-result__list")).to_contain_text("Ada Lovelace: admitted")
    assert_accessible(page)
    screenshot(page, "door-form-admitted-all-phone")
