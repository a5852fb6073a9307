"""Two door phones lose the signal and admit the same ticket; then each comes back online.
The scan made first stands whichever phone syncs first, both phones count the guest once,
and the Undo on the phone whose scan came second withdraws only its own admission."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select

from booking.domain import tickets
from booking.models import CheckIn, CheckInConflict
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, assert_accessible, screenshot
from tests.browser.test_door import name_phone, snap
from tests.conftest import PASSWORD
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_ticket_type

SYNC_TIMEOUT = 15_000


@pytest.fixture(scope="module")
def phones_browser(browser):  # type: ignore[no-untyped-def]
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


def _phone(browser, live_server, user, slug: str, name: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    page.goto(f"{live_server.url}/sign-in?next=/door/{slug}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/door/{slug}")
    name_phone(page, name)
    # The phone has the event's ticket list, to decide from while offline.
    page.wait_for_function(f"() => !!localStorage.getItem('door:{slug}:list')")
    return context, page


def _type(page, code: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Ticket code or reference").fill(code)
    page.get_by_role("button", name="Check in").click()


def _device(page) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate("() => localStorage.getItem('door:device')")  # type: ignore[no-any-return]


@pytest.mark.parametrize("first_to_sync", ["main", "side"])
def test_two_offline_phones_admit_one_ticket(
    phones_browser, live_server, session, staff, organiser, first_to_sync
):
    event = make_event(session, slug="offline-debate", title="London after dark")
    standard = make_ticket_type(session, event, name="Standard")
    ada, _ = paid_tickets(session, event, standard, 2, names=["Ada Lovelace", "Bea Bright"])
    reference = tickets.reference(ada.code)

    main_ctx, main = _phone(phones_browser, live_server, staff, event.slug, "Main door phone")
    side_ctx, side = _phone(phones_browser, live_server, organiser, event.slug, "Side door phone")
    for ctx, page in ((main_ctx, main), (side_ctx, side)):
        ctx.set_offline(True)
        expect(page.locator("#network")).to_have_text("Offline")

    # Main door scans Ada first; the side door a moment later.
    _type(main, reference)
    expect(main.locator("#result-title")).to_have_text("Admitted (offline)")
    main.get_by_role("button", name="Scan next").click()
    main.wait_for_timeout(1100)
    _type(side, reference)
    expect(side.locator("#result-title")).to_have_text("Admitted (offline)")
    side.get_by_role("button", name="Scan next").click()
    for page in (main, side):  # counted while offline, and marked as waiting
        expect(page.locator("#count")).to_have_text("1 of 2 in (1 waiting to sync)")
    assert_accessible(side)
    screenshot(side, "door-offline-waiting-phone")

    order = [(main_ctx, main), (side_ctx, side)]
    if first_to_sync == "side":
        order.reverse()
    for ctx, page in order:
        ctx.set_offline(False)
        expect(page.locator("#pending")).to_have_text("All synced", timeout=SYNC_TIMEOUT)

    # The side door's scan came second: it is the duplicate, whichever phone synced first,
    # and the side phone says so in words.
    expect(side.locator("#sync-report-list")).to_contain_text(
        "Ada Lovelace (" + reference + "): Admitted twice while offline: on Main door phone at ",
        timeout=SYNC_TIMEOUT,
    )
    expect(side.locator("#sync-report-list")).to_contain_text(
        "and on Side door phone (this phone) at"
    )
    side.get_by_role("button", name="Scan next").click()
    for page in (main, side):
        expect(page.locator("#count")).to_have_text("1 of 2 in", timeout=SYNC_TIMEOUT)
        expect(page.locator("#conflicts")).to_have_text("1 ticket admitted twice while offline")
    assert_accessible(side)
    snap(side, f"door-admitted-twice-{first_to_sync}-first")

    session.expire_all()
    [standing] = session.exec(select(CheckIn).where(col(CheckIn.undone_at).is_(None))).all()
    assert (standing.ticket_id, standing.device) == (ada.id, _device(main))
    [duplicate] = session.exec(select(CheckInConflict)).all()
    assert duplicate.device == _device(side)

    # The side phone's Undo takes back its own admission only: Ada is still in.
    expect(side.locator("#last-text")).to_have_text(
        "Last admitted: Ada Lovelace · Standard (offline)"
    )
    side.locator("#last-undo").click()
    expect(side.locator("#result-title")).to_have_text("Second admission withdrawn")
    expect(side.locator("#result-detail")).to_contain_text("The first admission stands")
    side.get_by_role("button", name="Scan next").click()
    for page in (main, side):
        expect(page.locator("#count")).to_have_text("1 of 2 in", timeout=SYNC_TIMEOUT)
        expect(page.locator("#conflicts")).to_be_hidden(timeout=SYNC_TIMEOUT)
    session.expire_all()
    [standing] = session.exec(select(CheckIn).where(col(CheckIn.undone_at).is_(None))).all()
    assert standing.device == _device(main)
    [duplicate] = session.exec(select(CheckInConflict)).all()
    assert duplicate.withdrawn_at is not None

    # The organiser (on the side phone) reads the same story in the back office.
    side.goto(f"{live_server.url}/admin/events/{event.id}/checkins")
    conflicts = side.locator("#twice + p + ul")
    expect(conflicts).to_contain_text(
        f"Ada Lovelace ({reference}): Admitted twice while offline: on Main door phone at "
    )
    expect(conflicts).to_contain_text("and on Side door phone at")
    expect(conflicts).to_contain_text("the second admission was withdrawn at")
    assert_accessible(side)
    screenshot(side, f"admin-checkins-twice-{first_to_sync}-first")
    side.goto(f"{live_server.url}/admin/orders/{ada.order_id}")
    history = side.locator("h2:has-text('History') + ul")
    expect(history).to_contain_text("Admitted twice while offline: on Main door phone at ")
    expect(history).to_contain_text(
        "Olive Organiser withdrew the second admission of Ada Lovelace's ticket"
    )
    assert_accessible(side)
    screenshot(side, f"admin-order-twice-{first_to_sync}-first")
    main_ctx.close()
    side_ctx.close()
