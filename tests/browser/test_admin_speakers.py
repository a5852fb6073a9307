"""An organiser on a phone adds a speaker to the demo debate, moves them to the top of the
list, previews and sends the announcement, and the public page shows the new order."""

from sqlmodel import select

from booking import demo
from booking.domain import accounts
from booking.models import Announcement, MailKind, MailOutbox, Role, TicketType, utcnow
from tests.browser.conftest import assert_accessible, screenshot
from tests.conftest import PASSWORD
from tests.domain.test_orders import checkout_for, fulfil, reserve

LAPTOP = {"width": 1280, "height": 800}
NOTE = "The Mayor joins the panel. Bring your questions."


def fits(page) -> bool:  # type: ignore[no-untyped-def]
    """Nothing overflows sideways at the current width."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def submit(page, name: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_organiser_adds_moves_and_announces_a_speaker(page, live_server, db, session, settings):
    debate = demo.load(session, settings=settings, now=utcnow())
    standard = session.exec(select(TicketType).where(TicketType.event_id == debate.id)).first()
    fulfil(db, checkout_for(db, reserve(db, debate, {standard.id: 2}, now=utcnow())), now=utcnow())
    with db.write_session() as s:
        accounts.create_user(s, email="olive@example.com", role=Role.ORGANISER, password=PASSWORD)

    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email address").fill("olive@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, "Sign in")
    assert page.get_by_role("heading", name="Events", exact=True).is_visible()
    assert fits(page)
    assert_accessible(page)
    screenshot(page, "admin-events-phone")

    page.get_by_role("link", name=debate.title, exact=True).click()
    page.wait_for_url(f"**/admin/events/{debate.id}")
    assert fits(page)
    assert_accessible(page)
    screenshot(page, "admin-event-phone")

    page.get_by_role("link", name="Manage speakers").click()
    page.get_by_label("Full name").fill("Sadiq Khan")
    page.get_by_label("Job or organisation (optional)").fill("Mayor of London")
    submit(page, "Add speaker")
    assert page.get_by_text("Sadiq Khan is on the speaker list").is_visible()
    submit(page, "Up move Sadiq Khan up")
    submit(page, "Up move Sadiq Khan up")
    titles = page.locator("#lineup .item__title").all_inner_texts()
    assert [t.split(" Chair")[0] for t in titles] == [
        "1. Sadiq Khan",
        "2. Andrew Adonis",
        "3. Daniel Moylan",
    ]
    assert fits(page)
    assert_accessible(page)
    screenshot(page, "admin-speakers-phone")

    page.get_by_role("link", name="Announce Sadiq Khan", exact=True).click()
    assert page.get_by_role("heading", name="Announce Sadiq Khan to ticket holders").is_visible()
    page.get_by_label("Note (optional)").fill(NOTE)
    submit(page, "Preview email")
    frame = page.frame_locator("iframe.preview-frame")
    assert frame.get_by_text(NOTE).is_visible()
    assert frame.get_by_role("heading", name="A new speaker for London and Brexit").is_visible()
    assert fits(page)
    assert_accessible(page)
    screenshot(page, "admin-announce-phone")
    page.locator("iframe.preview-frame").screenshot(path="var/test-artifacts/tmp-frame.png")
    page.get_by_role("button", name="Send to 1 ticket holder", exact=True).click()
    page.wait_for_timeout(3000)
    print("URL", page.url)
    screenshot(page, "tmp-after-send")
    assert page.get_by_text("The announcement is on its way to 1 person.").is_visible()
    assert session.exec(select(Announcement)).one().recipients == 1
    [mail] = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.SPEAKER_ANNOUNCED)
    ).all()
    assert mail.recipient == "ada@example.com"

    page.set_viewport_size(LAPTOP)
    screenshot(page, "admin-speakers-laptop")
    page.goto(live_server.url + f"/admin/events/{debate.id}")
    screenshot(page, "admin-event-laptop")
    page.goto(live_server.url + "/events/london-and-brexit")
    names = page.locator(".speaker__name").all_inner_texts()
    assert [n.strip() for n in names] == ["Sadiq Khan", "Andrew Adonis", "Daniel Moylan"]
    assert_accessible(page)
