"""The back office in Chromium: the tabs reach every page of an event, the publish checklist,
copying an event, editing a venue, per-event speaker wording on the page and in the
announcement email (real SMTP), switching a code off mid-sale, and a 20 MB photo."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image
from sqlmodel import select

from booking import demo
from booking.domain import accounts
from booking.models import (
    Event,
    EventStatus,
    MailKind,
    MailOutbox,
    Role,
    Speaker,
    TicketType,
    Venue,
    utcnow,
)
from tests.admin.test_navigation import TABS
from tests.browser.conftest import assert_accessible
from tests.conftest import PASSWORD
from tests.domain.test_orders import checkout_for, fulfil, reserve
from tests.mail.flows import deliver, sender

SHOTS = Path("/tmp/shots/admin")
LAPTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def submit(page, name: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def sign_in(page, live_server, db) -> None:  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        accounts.create_user(s, email="olive@example.com", role=Role.ORGANISER, password=PASSWORD)
    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email address").fill("olive@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, "Sign in")


def checked(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The page is saved for looking at, fits a phone and passes axe-core."""
    shot(page, name)
    assert fits(page), name
    assert_accessible(page)


def tab(page, event_title: str, label: str) -> None:  # type: ignore[no-untyped-def]
    nav = page.get_by_role("navigation", name=event_title)
    with page.expect_navigation():
        nav.get_by_role("link", name=label, exact=True).click()


def test_tabs_publish_checklist_copy_and_venue(page, live_server, db, session, settings):
    debate = demo.load(session, settings=settings, now=utcnow())
    sign_in(page, live_server, db)
    page.goto(live_server.url + f"/admin/events/{debate.id}")

    # The tabs reach every page of the event, each marked as the current one there.
    nav = page.get_by_role("navigation", name=debate.title)
    assert [t.strip() for t in nav.get_by_role("link").all_inner_texts()] == TABS
    checked(page, "event-overview-phone")
    for label, name in [
        ("Ticket types", "event-ticket-types-phone"),
        ("Speakers", None),
        ("Promo links and codes", "event-promo-phone"),
        ("Orders", None),
        ("Dashboard", None),
        ("Attendees", "event-attendees-phone"),
    ]:
        tab(page, debate.title, label)
        current = page.locator('.event-tabs__link[aria-current="page"]').inner_text()
        assert current.strip() == label
        if name:
            checked(page, name)
        else:
            assert_accessible(page)
    assert page.get_by_role("link", name="Make a promo link").count() == 0  # demo has links?
    tab(page, debate.title, "Dashboard")
    if page.get_by_text("This event has no promo links yet.").count():
        page.get_by_role("link", name="Make a promo link").click()
        page.wait_for_url(f"**/admin/events/{debate.id}/promo")
        page.go_back()
    tab(page, debate.title, "Door")
    page.wait_for_url(f"**/door/{debate.slug}")
    page.goto(live_server.url + f"/admin/events/{debate.id}/dashboard")
    page.get_by_role("link", name=f"Back to {debate.title}").click()
    page.wait_for_url(f"**/admin/events/{debate.id}")

    # The venue: edited from the event, its address shown once under "Where".
    page.get_by_role("link", name="Edit the venue").click()
    page.get_by_label("Street address (optional)").fill("25 Red Lion Square, London")
    page.get_by_label("Town or city (optional)").fill("London")
    page.get_by_label("Postcode (optional)").fill("wc1r 4rl")
    checked(page, "venue-form-phone")
    submit(page, "Save the venue")
    assert page.get_by_text("25 Red Lion Square, London WC1R 4RL").is_visible()

    # Copy the debate for the next in the series: new dates to fill in, a -2 address.
    page.get_by_role("link", name="Copy this event").click()
    assert page.get_by_label("Web address").input_value() == f"{debate.slug}-2"
    page.get_by_label("Title").fill("London and Brexit: one year on")
    page.locator("#starts_date").fill("2036-05-07")
    page.locator("#starts_time").fill("19:00")
    checked(page, "event-copy-phone")
    submit(page, "Make the copy")
    assert page.get_by_text("is a new draft copied from the event of").is_visible()
    copy = session.exec(select(Event).where(Event.slug == f"{debate.slug}-2")).one()
    assert copy.status == EventStatus.DRAFT
    names = session.exec(select(TicketType.name).where(TicketType.event_id == copy.id)).all()
    assert "Standard" in names and "London Society members" in names

    # The draft's preview shows its tickets as they will be on sale, and leads back.
    page.get_by_role("link", name="Preview").first.click()
    assert page.get_by_text("Ticket types show as they will once it is published").is_visible()
    assert page.get_by_label("Number of Standard tickets").is_visible()
    assert_accessible(page)
    shot(page, "draft-preview-phone")
    page.get_by_role("link", name="Back to the event in the back office").click()
    page.wait_for_url(f"**/admin/events/{copy.id}")

    # Complete: one press publishes and says tickets are on sale now.
    assert page.get_by_role("heading", name="Before you publish").is_visible()
    submit(page, "Publish")
    assert page.get_by_text("The event is published and tickets are on sale now.").is_visible()

    # A new event with gaps: the checklist lists them with links; publishing needs a second step.
    page.goto(live_server.url + "/admin/events/new")
    page.get_by_label("Title").fill("Who runs London's buses?")
    page.locator("#starts_date").fill("2036-06-04")
    page.locator("#starts_time").fill("19:00")
    submit(page, "Save as a draft")
    draft = session.exec(select(Event).where(Event.slug == "who-runs-londons-buses")).one()
    checked(page, "draft-overview-checklist-phone")
    submit(page, "Publish")
    assert page.get_by_role("heading", name="3 things are missing").is_visible()
    assert page.get_by_role("link", name="Add a ticket type").is_visible()
    assert page.get_by_role("link", name="Choose a venue").is_visible()
    assert page.get_by_role("link", name="Choose an organiser").is_visible()
    checked(page, "publish-checklist-phone")
    page.set_viewport_size(LAPTOP)
    shot(page, "publish-checklist-laptop")
    session.expire_all()
    assert session.get(Event, draft.id).status == EventStatus.DRAFT
    submit(page, "Publish anyway")
    assert page.get_by_text("no ticket type is on sale").is_visible()
    session.expire_all()
    assert session.get(Event, draft.id).status == EventStatus.PUBLISHED
    shot(page, "published-message-laptop")
    venue = session.get(Venue, debate.venue_id)
    assert venue.postcode == "WC1R 4RL"


def test_speaker_wording_per_event_on_the_page_and_in_the_email(
    page, live_server, db, session, settings, smtp
):
    debate = demo.load(session, settings=settings, now=utcnow())
    buses = session.exec(select(Event).where(Event.id != debate.id)).first()
    standard = session.exec(select(TicketType).where(TicketType.event_id == buses.id)).first()
    order = reserve(db, buses, {standard.id: 1}, now=utcnow())
    fulfil(db, checkout_for(db, order, session_id="cs_buses"), now=utcnow())
    andrew = session.exec(select(Speaker).where(Speaker.name == "Andrew Adonis")).one()
    sign_in(page, live_server, db)

    page.goto(live_server.url + f"/admin/events/{buses.id}/speakers")
    page.locator("#existing_speaker").select_option(str(andrew.id))
    submit(page, "Add to the list")
    page.goto(live_server.url + f"/admin/events/{buses.id}/speakers/{andrew.id}")
    page.get_by_label("Job or organisation at this event (optional)").fill(
        "Chair of the National Infrastructure Commission"
    )
    page.get_by_label("Biography for this event (optional)").fill(
        "He wrote the report on London's bus routes."
    )
    checked(page, "speaker-wording-form-phone")
    submit(page, "Save changes")
    page.get_by_role("link", name="Announce Andrew Adonis").click()
    submit(page, "Preview email")
    submit(page, "Send to 1 ticket holder")
    assert page.get_by_text("The announcement is on its way to 1 person.").is_visible()

    assert deliver(sender(smtp.settings_for(settings), db)).sent >= 1
    [mail] = [m for m in smtp.messages if "Andrew Adonis" in m["Subject"]]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Andrew Adonis, Chair of the National Infrastructure Commission, will speak" in text
    assert "He wrote the report on London's bus routes." in text
    assert "Campaigner" not in text and "Labour peer" not in text
    row = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.SPEAKER_ANNOUNCED)
    ).one()
    assert row.recipient == order.buyer_email

    page.goto(live_server.url + f"/events/{buses.slug}")
    assert page.get_by_text("Chair of the National Infrastructure Commission").is_visible()
    shot(page, "public-buses-speaker-phone")
    page.goto(live_server.url + f"/events/{debate.slug}")
    assert page.get_by_text("Chair of the National Infrastructure Commission").count() == 0
    assert page.get_by_text(andrew.affiliation).first.is_visible()


def test_switching_a_members_code_off_mid_sale(page, browser, live_server, db, session, settings):
    debate = demo.load(session, settings=settings, now=utcnow())
    sign_in(page, live_server, db)
    page.goto(live_server.url + f"/admin/events/{debate.id}/promo")
    options = page.locator("#unlocks option").all_inner_texts()
    assert options == ["None", "London Society members"]  # hidden ticket types only
    page.get_by_label("Code", exact=True).fill("LONSOC7")
    page.get_by_label("Unlocks a hidden ticket type (optional)").select_option(
        label="London Society members"
    )
    submit(page, "Make code")
    assert page.get_by_text("The code LONSOC7 is made.").is_visible()

    reader = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    tab_ = reader.new_page()
    tab_.goto(live_server.url + f"/events/{debate.slug}?code=LONSOC7")
    assert tab_.get_by_text("Code LONSOC7 applied").is_visible()
    tab_.get_by_label("Number of London Society members tickets").fill("1")
    tab_.get_by_label("Full name").fill("Ada Lovelace")
    tab_.get_by_label("Email address").fill("ada@example.com")

    # The code leaks: the organiser switches it off while the reader is on the page.
    submit(page, "Switch off code LONSOC7")
    assert page.get_by_text("The code LONSOC7 is switched off").is_visible()
    checked(page, "promo-code-switched-off-phone")

    with tab_.expect_navigation():
        tab_.get_by_role("button", name="Continue to payment").click()
    assert tab_.get_by_text("The code LONSOC7 is no longer valid for this event").first.is_visible()
    assert_accessible(tab_)
    tab_.screenshot(path=str(SHOTS / "reader-code-switched-off-phone.png"), full_page=True)
    reader.close()

    page.get_by_role("link", name="Edit code LONSOC7").click()
    page.get_by_label("Amount off each ticket, in pounds (optional)").fill("2")
    page.get_by_label("Or a percentage off each ticket (optional)").fill("10")
    submit(page, "Save the code")
    assert page.get_by_text("Enter an amount off or a percentage off, not both").first.is_visible()
    checked(page, "promo-code-edit-error-phone")

    page.goto(live_server.url + f"/admin/events/{debate.id}/promo")
    page.get_by_label("Label").first.fill("On London: the Brexit debate")
    submit(page, "Make link")
    assert page.get_by_text("is made. Copy it into the article below.").is_visible()
    page.get_by_role("link", name="Edit On London: the Brexit debate").click()
    page.get_by_label("Label").fill("On London: Brexit debate preview")
    checked(page, "promo-link-edit-phone")
    submit(page, "Save the link")
    assert page.get_by_role("heading", name="On London: Brexit debate preview").is_visible()


def noise_png(path: Path, megabytes: int) -> None:
    side = int((megabytes * 1024 * 1024 / 3) ** 0.5) + 8
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        out, "PNG", compress_level=0
    )
    path.write_bytes(out.getvalue())


def test_a_20_mb_photo_is_accepted_and_a_larger_one_refused_beside_its_field(
    page, live_server, db, session, settings, tmp_path
):
    debate = demo.load(session, settings=settings, now=utcnow())
    sign_in(page, live_server, db)
    big = tmp_path / "hero.png"
    noise_png(big, 20)
    assert big.stat().st_size > 20 * 1024 * 1024
    page.goto(live_server.url + f"/admin/events/{debate.id}/image")
    page.get_by_label("Upload").first.set_input_files(str(big))
    submit(page, "Upload")
    assert page.get_by_text("The hero image is saved.").is_visible()
    session.expire_all()
    stored = session.get(Event, debate.id).hero_image
    path = Path(settings.media_dir) / stored.removeprefix("/media/")
    assert path.stat().st_size < 2 * 1024 * 1024
    assert max(Image.open(path).size) <= 1600

    huge = tmp_path / "huge.png"
    huge.write_bytes(b"\x89PNG" + os.urandom(27 * 1024 * 1024))
    page.goto(live_server.url + f"/admin/events/{debate.id}/speakers")
    page.get_by_label("Full name").fill("Sadiq Khan")
    page.get_by_label("Job or organisation (optional)").fill("Mayor of London")
    page.get_by_label("Photo (optional)").set_input_files(str(huge))
    submit(page, "Add speaker")
    assert page.get_by_text("The image must be smaller than 25 MB").first.is_visible()
    assert page.get_by_label("Full name").input_value() == "Sadiq Khan"
    assert page.get_by_label("Job or organisation (optional)").input_value() == "Mayor of London"
    checked(page, "speaker-photo-too-large-phone")


def test_user_pages(page, live_server, db, session, settings):
    demo.load(session, settings=settings, now=utcnow())
    sign_in(page, live_server, db)
    with db.write_session() as s:
        accounts.create_user(s, email="sam@example.com", role=Role.STAFF, password=PASSWORD)
    page.goto(live_server.url + "/admin/users/invite")
    page.get_by_label("Email address").fill("new@example.com")
    page.get_by_label("Door staff").check()
    submit(page, "Send invitation")
    checked(page, "users-pending-invitation-phone")
    submit(page, "Copy link for new@example.com")
    link = page.get_by_label("Invitation link").input_value()
    assert "/invitation/" in link
    checked(page, "invitation-link-phone")
    page.goto(live_server.url + "/admin/users")
    page.get_by_role("link", name="Events sam@example.com can work").click()
    page.get_by_label("London and Brexit").check()
    checked(page, "door-staff-events-phone")
    submit(page, "Save")
    assert page.get_by_text("can check people in at 1 event").is_visible()

    # The copied link works: choosing a password signs the new person in.
    page.get_by_role("button", name="Sign out").click()
    page.goto(link)
    page.get_by_label("Password").fill("a long enough new password")
    submit(page, "Save password")
    assert page.get_by_text("Your password is saved and you are signed in.").is_visible()
    assert "/door" in page.url
