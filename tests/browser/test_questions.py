"""A buyer on a phone sends a question for the panel with their booking and changes it on
their order page; the chair reads the accepted questions through the private link. Every
page passes axe and fits 360 px."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from booking.models import Event, Order, Question, QuestionStatus, utcnow
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_admin_back_office import checked, sign_in, submit
from tests.factories import make_event, make_ticket_type


def _fits_a_phone(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_question_with_the_booking_then_changed_then_read_by_the_chair(
    page, live_server, session, db
):
    event = make_event(
        session,
        slug="who-runs-the-buses",
        title="Who should run London's buses?",
        starts_at=utcnow() + timedelta(days=3),
        questions_on=True,
    )
    make_ticket_type(session, event, name="Free seat", price=0)

    page.goto(f"{live_server.url}/events/{event.slug}")
    page.get_by_text("A question for the panel (optional)").click()
    page.get_by_label("Your question for the panel (optional)").fill(
        "Should <b>fares</b> be frozen?"
    )
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "questions-buy-form-phone")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_role("button", name="Book tickets").click()
    page.wait_for_url("**/orders/*")
    assert page.get_by_text("Should <b>fares</b> be frozen?").is_visible()
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "questions-order-page-phone")

    page.get_by_role("link", name="Change your question").click()
    page.wait_for_url("**/tickets/1/question")
    page.get_by_label("Your question").fill("x" * 281)
    page.get_by_role("button", name="Save question").click()
    page.wait_for_selector(".error-summary")
    assert page.title().startswith("Error: ")
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "questions-form-error-phone")
    page.get_by_label("Your question").fill("Should fares be frozen until 2030?")
    page.get_by_label("Show my name in full with my question").check()
    page.get_by_role("button", name="Save question").click()
    page.wait_for_url("**#questions")
    assert page.get_by_text("Your question for the panel is saved").is_visible()

    [question] = session.exec(select(Question)).all()
    assert question.show_full_name and question.text == "Should fares be frozen until 2030?"

    # The organiser accepts it and makes the chair's link.
    sign_in(page, live_server, db)
    page.goto(f"{live_server.url}/admin/events/{event.id}/questions")
    submit(page, "Accept question 1")
    assert page.get_by_text("Accepted, number 1").is_visible()
    submit(page, "Make a link for the chair")
    checked(page, "questions-moderation-phone")
    link = page.locator("code").inner_text()
    assert session.exec(select(Question)).one().status == QuestionStatus.ACCEPTED

    page.goto(link)
    assert page.get_by_text("Should fares be frozen until 2030?").is_visible()
    assert page.get_by_text("Ada Lovelace").is_visible()
    _fits_a_phone(page)
    assert_accessible(page)
    screenshot(page, "questions-chair-phone")
    page.get_by_role("link", name="Print view").click()
    page.wait_for_url("**/print")
    assert_accessible(page)
    screenshot(page, "questions-chair-print")
    order = session.exec(select(Order)).one()
    assert session.get(Event, order.event_id) is not None
