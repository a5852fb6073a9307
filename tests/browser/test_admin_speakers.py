"""An organiser on a phone adds a speaker to the demo debate, moves them to the top of the
list, previews and sends the announcement, and the public page shows the new order."""

from sqlmodel import select

from booking import demo
from booking.domain import accounts
from booking.domain.tickets import derive_key
from booking.models import Announcement, MailKind, MailOutbox, Role, Speaker, TicketType, utcnow
from tests.browser.conftest import assert_accessible, screenshot
from tests.conftest import ARTIFACTS, PASSWORD
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
    submit(page, "Send to 1 ticket holder")
    assert page.get_by_text("The announcement is on its way to 1 person.").is_visible()
    assert session.exec(select(Announcement)).one().recipients == 1
    [mail] = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.SPEAKER_ANNOUNCED)
    ).all()
    assert mail.recipient == "ada@example.com"

    page.set_viewport_size(LAPTOP)
    screenshot(page, "admin-speakers-laptop")
    page.goto(
        live_server.url + f"/admin/events/{debate.id}/speakers/{mail.data['speaker_id']}/announce"
    )
    assert page.get_by_text("to 1 person").is_visible()  # says it has been sent already
    assert_accessible(page)
    # Full-page captures leave the sandboxed frame blank, so capture it on its own.
    page.locator("iframe.preview-frame").screenshot(
        path=str(ARTIFACTS / "admin-announce-email.png")
    )
    page.goto(live_server.url + f"/admin/events/{debate.id}")
    screenshot(page, "admin-event-laptop")
    page.goto(live_server.url + "/events/london-and-brexit")
    names = page.locator(".speaker__name").all_inner_texts()
    assert [n.strip() for n in names] == ["Sadiq Khan", "Andrew Adonis", "Daniel Moylan"]
    assert_accessible(page)


def test_every_back_office_page_passes_axe_on_a_phone(page, live_server, db, session, settings):
    debate = demo.load(session, settings=settings, now=utcnow())
    standard = session.exec(select(TicketType).where(TicketType.event_id == debate.id)).first()
    fulfil(db, checkout_for(db, reserve(db, debate, {standard.id: 1}, now=utcnow())), now=utcnow())
    with db.write_session() as s:
        olive = accounts.create_user(
            s, email="olive@example.com", role=Role.ORGANISER, password=PASSWORD
        )
    with db.write_session() as s:
        _, token = accounts.invite(
            s,
            email="new@example.com",
            role=Role.STAFF,
            invited_by=olive,
            now=utcnow(),
            key=derive_key(settings.secret_key, "invitations"),
        )
    mail = session.exec(select(MailOutbox)).first()
    andrew = session.exec(select(Speaker).where(Speaker.name == "Andrew Adonis")).one()

    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email address").fill("olive@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, "Sign in")

    base = f"/admin/events/{debate.id}"
    pages = {
        "admin-event-new": "/admin/events/new",
        "admin-event-edit": f"{base}/edit",
        "admin-ticket-type-new": f"{base}/ticket-types/new",
        "admin-ticket-type-edit": f"{base}/ticket-types/{standard.id}",
        "admin-speaker-edit": f"{base}/speakers/{andrew.id}",
        "admin-speaker-photo": f"{base}/speakers/{andrew.id}/photo",
        "admin-hero-image": f"{base}/image",
        "admin-cancel": f"{base}/cancel",
        "admin-preview": f"{base}/preview",
        "admin-users": "/admin/users",
        "admin-invite": "/admin/users/invite",
        "admin-mail": "/admin/mail",
        "admin-mail-message": f"/admin/mail/{mail.id}",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        assert fits(page), name
        assert_accessible(page)
        screenshot(page, f"{name}-phone")

    # Forms sent empty show the error summary, focused, and still pass.
    for path, button in [
        ("/admin/events/new", "Save as a draft"),
        (f"{base}/ticket-types/new", "Add ticket type"),
        ("/admin/users/invite", "Send invitation"),
    ]:
        page.goto(live_server.url + path)
        submit(page, button)
        assert page.title().startswith("Error: ")
        assert page.evaluate("document.activeElement.classList.contains('error-summary')")
        assert_accessible(page)
    screenshot(page, "admin-invite-errors-phone")

    page.get_by_role("button", name="Sign out").click()
    page.goto(live_server.url + f"/invitation/{token}")
    assert page.get_by_role("heading", name="Choose a password").is_visible()
    assert_accessible(page)
    screenshot(page, "invitation-phone")
    page.get_by_label("Password").fill("a long enough new password")
    submit(page, "Save password")
    assert page.get_by_text("Your password is saved").is_visible()
    page.goto(live_server.url + f"/invitation/{token}")
    assert page.get_by_role("heading", name="This link has expired or has been used").is_visible()
    assert_accessible(page)
