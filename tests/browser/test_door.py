"""Door staff scan real ticket QR codes through Chromium's fake camera, which plays a Y4M clip
made here from the ticket's own QR image (booking.qr), as in the confirmation email.

Chromium reads the clip each time a capture starts, so a test shows another ticket by
rewriting the file and pressing "Restart camera" (which stops the old capture first)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import col, select

from booking import qr
from booking.domain import tickets
from booking.models import CheckIn
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    assert_accessible,
    screenshot,
)
from tests.conftest import ARTIFACTS, PASSWORD
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_ticket_type

WIDTH, HEIGHT = 640, 480
# What the page sees when the phone takes the camera away: its tracks end.
LOSE_CAMERA = """() => document.getElementById("camera").srcObject.getVideoTracks().forEach(t => {
    t.stop(); t.dispatchEvent(new Event("ended"));
})"""
SCAN_TIMEOUT = 15_000


def write_camera(path: Path, code: str | None) -> None:
    """The ticket's QR code (or a blank card), centred on white, as a 4:2:0 Y4M clip."""
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    if code is not None:
        symbol = Image.open(io.BytesIO(qr.ticket_png(code, scale=8).png)).convert("L")
        frame.paste(symbol, ((WIDTH - symbol.width) // 2, (HEIGHT - symbol.height) // 2))
    chroma = b"\x80" * (WIDTH // 2 * HEIGHT // 2)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F15:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(3):
            f.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    os.replace(tmp, path)  # a capture that is running is never disturbed


def snap(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """What the phone's screen shows (a result covers the screen, not the whole page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "camera.y4m"  # absolute, as Chromium needs
    write_camera(path, None)
    return path


@pytest.fixture(scope="module")
def camera_browser(browser, camera) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A second Chromium from the session's Playwright, with the fake camera."""
    launched = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={camera}",
        ],
    )
    yield launched
    launched.close()


def _phone(camera_browser, live_server, user, slug):  # type: ignore[no-untyped-def]
    """A phone at the door: its own browser context (storage, device id), signed in."""
    context = camera_browser.new_context(
        viewport=PHONE, device_scale_factor=1, locale="en-GB", permissions=["camera"]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/sign-in?next=/door/{slug}")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/door/{slug}")
    return context, page


def name_phone(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Name this phone").fill(name)
    page.get_by_role("button", name="Save name").click()
    expect(page.locator("#device-label")).to_have_text(name)


def test_staff_scan_tickets_on_two_phones_and_offline(
    camera_browser, camera, live_server, session, staff, organiser
):
    event = make_event(session, slug="brexit-debate", title="London and Brexit")
    standard = make_ticket_type(session, event, name="Standard")
    ada, bea, cy = paid_tickets(
        session, event, standard, 3, names=["Ada Lovelace", "Bea Bright", "Cy Young"]
    )

    phone_a, page = _phone(camera_browser, live_server, staff, event.slug)
    expect(page.locator("#count")).to_have_text("0 of 3 in")
    assert_accessible(page)
    screenshot(page, "door-unnamed-phone")
    name_phone(page, "Main door phone")
    assert_accessible(page)
    screenshot(page, "door-ready-phone")

    # Phone A scans Ada's ticket: admitted, and the camera keeps running.
    write_camera(camera, ada.code)
    page.get_by_role("button", name="Start camera").click()
    expect(page.locator("#result-title")).to_have_text("Admitted", timeout=SCAN_TIMEOUT)
    expect(page.locator("#result-name")).to_have_text("Ada Lovelace · Standard")
    expect(page.locator("#count")).to_have_text("1 of 3 in")
    assert_accessible(page)
    snap(page, "door-admitted-phone")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#camera-status")).to_contain_text("Scanning")

    # Phone B (the organiser) scans the same ticket: already in, when, by whom, where.
    phone_b, other = _phone(camera_browser, live_server, organiser, event.slug)
    expect(other.locator("#count")).to_have_text("1 of 3 in")
    other.get_by_role("button", name="Start camera").click()
    expect(other.locator("#result-title")).to_have_text("Already checked in", timeout=SCAN_TIMEOUT)
    expect(other.locator("#result-detail")).to_contain_text("by Dora Door on Main door phone")
    assert_accessible(other)
    snap(other, "door-already-phone")
    phone_b.close()  # stops its capture, so the next capture reads the rewritten clip

    # A typed code that is not a ticket.
    page.get_by_label("Ticket code or reference").fill("0000-0000")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#result-title")).to_have_text("Not valid")
    assert_accessible(page)
    snap(page, "door-not-valid-phone")
    page.get_by_role("button", name="Scan next").click()

    # The signal drops and the camera is lost: the page restarts the camera by itself,
    # admits Bea from its list, and syncs when the signal is back.
    phone_a.set_offline(True)
    write_camera(camera, bea.code)
    page.evaluate(LOSE_CAMERA)
    expect(page.locator("#result-title")).to_have_text("Admitted (offline)", timeout=SCAN_TIMEOUT)
    expect(page.locator("#result-name")).to_have_text("Bea Bright · Standard")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#network")).to_have_text("Offline")
    expect(page.locator("#pending")).to_have_text("1 waiting to sync")
    expect(page.locator("#count")).to_have_text("2 of 3 in (1 waiting to sync)")
    assert_accessible(page)
    screenshot(page, "door-offline-phone")
    phone_a.set_offline(False)
    expect(page.locator("#pending")).to_have_text("All synced", timeout=10_000)
    expect(page.locator("#network")).to_have_text("Online")
    expect(page.locator("#count")).to_have_text("2 of 3 in", timeout=10_000)

    # Cy's reference typed by hand, admitted, then undone from the result screen.
    page.get_by_label("Ticket code or reference").fill(tickets.reference(cy.code).lower())
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#result-name")).to_have_text("Cy Young · Standard")
    page.locator("#undo").click()
    expect(page.locator("#result-title")).to_have_text("Admission undone")
    expect(page.locator("#count")).to_have_text("2 of 3 in")
    page.get_by_role("button", name="Scan next").click()

    rows = session.exec(select(CheckIn).where(col(CheckIn.undone_at).is_(None))).all()
    assert [(r.ticket_id, r.offline, r.by_name) for r in rows] == [
        (ada.id, False, "Dora Door"),
        (bea.id, True, "Dora Door"),
    ]

    # The other door pages: the list of events, and the result page of the form that works
    # without JavaScript (form.submit() skips the script's handler).
    page.goto(f"{live_server.url}/door/")
    assert page.get_by_role("link", name="London and Brexit").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="London and Brexit").click()
    page.get_by_label("Ticket code or reference").fill(tickets.reference(cy.code))
    page.evaluate("document.getElementById('manual-form').submit()")
    expect(page.get_by_role("heading", name="Admitted")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "door-form-result-phone")
    phone_a.close()
