"""A wheelchair user on a phone: the event page's Access section and wheelchair space, then
their access needs on the order page. Every page must pass axe and fit 360 px."""

from __future__ import annotations

from sqlmodel import select

from booking.models import AccessPlace, Order, Ticket
from tests.browser.conftest import assert_accessible, screenshot
from tests.factories import make_event, make_ticket_type, make_venue
from tests.mail.flows import pay


def _fits_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _debate(session):  # type: ignore[no-untyped-def]
    venue = make_venue(
        session,
        step_free=True,
        accessible_toilet=True,
        hearing_loop=True,
        wheelchair_note="One space at the end of the front row, with a seat beside it",
        access_note="Holborn station has no lift; Chancery Lane is step-free to the street.",
    )
    event = make_event(
        session,
        venue_id=venue.id,
        slug="housing-debate",
        title="Who will house London?",
        contact_email="events@onlondon.example",
    )
    make_ticket_type(session, event, name="Standard", price=1000)
    chair = make_ticket_type(
        session,
        event,
        name="Wheelchair space",
        price=1000,
        capacity=1,
        position=1,
        access_place=AccessPlace.WHEELCHAIR,
        companion_free=True,
    )
    make_ticket_type(
        session,
        event,
        name="Companion seat",
        price=0,
        visible=False,
        position=2,
        access_place=AccessPlace.COMPANION,
    )
    return event, chair


def test_a_wheelchair_user_books_a_space_and_gives_access_needs(
    page, live_server, client, session, standin
):
    event, chair = _debate(session)
    page.goto(f"{live_server.url}/events/{event.slug}")
    access = page.locator("section", has=page.get_by_role("heading", name="Access"))
    assert access.get_by_text("Step-free access").is_visible()
    assert access.get_by_text("Wheelchair spaces: One space").is_visible()
    assert page.get_by_text(
        "A wheelchair space, with a free seat beside it for a companion"
    ).is_visible()
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "access-event-page")

    order = pay(client, session, event, standin, {chair.id: 1})
    made = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert sorted(t.attendee_name for t in made) == ["Ada Lovelace", "Companion of Ada Lovelace"]

    # The one space has gone: the page says so, and whom to ask. (A reload asks the server
    # again; a plain visit within the page's max-age may be answered from the browser's cache.)
    page.reload()
    gone = page.locator(f"#tt-{chair.id}-none-left")
    assert gone.is_visible() and "events@onlondon.example" in gone.inner_text()
    assert_accessible(page)
    screenshot(page, "access-event-page-no-spaces")

    page.goto(f"{live_server.url}/orders/{order.token}")
    page.get_by_role("link", name="Tell us about access needs").click()
    page.wait_for_url("**/access")
    _fits_a_phone(page)
    assert_accessible(page)
    page.get_by_label("Hearing loop").check()
    page.get_by_label("Live captioning").check()
    page.get_by_label("Anything else we should know (optional)").fill("x" * 201)
    page.get_by_role("button", name="Save access needs").click()
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Error: ")
    assert page.get_by_label("Hearing loop").is_checked()
    assert_accessible(page)
    screenshot(page, "access-needs-error")
    page.get_by_label("Anything else we should know (optional)").fill("I will bring a carer")
    page.get_by_role("button", name="Save access needs").click()
    page.wait_for_url("**/orders/*")
    assert page.get_by_text("Your access needs have been saved").is_visible()
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "access-needs-saved")
    session.expire_all()
    saved = session.get(Order, order.id)
    assert (saved.access_needs, saved.access_note) == (
        "hearing_loop,captioning",
        "I will bring a carer",
    )
