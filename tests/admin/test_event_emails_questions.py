"""The event form's reminder, thank-you and questions settings."""

from __future__ import annotations

from sqlmodel import select

from booking.models import Event
from tests.factories import make_event
from tests.helpers import csrf_from


def _form(admin, event):  # type: ignore[no-untyped-def]
    page = admin.get(f"/admin/events/{event.id}/edit")
    assert page.status_code == 200
    return page.text


def _post(admin, event, **changes):  # type: ignore[no-untyped-def]
    base = {
        "title": event.title,
        "slug": event.slug,
        "starts_date": "1/3/2030",
        "starts_time": "7pm",
        "buyer_cancel_cutoff_hours": "48",
        "venue": str(event.venue_id),
    }
    data = {"csrf_token": csrf_from(admin, f"/admin/events/{event.id}/edit"), **base, **changes}
    return admin.post(f"/admin/events/{event.id}/edit", data=data)


def test_reminder_thank_you_and_questions_are_saved_and_shown(admin, session):
    event = make_event(session)
    html = _form(admin, event)
    assert 'name="reminder_on" type="checkbox" value="yes" checked' in html
    assert 'id="reminder_hours" name="reminder_hours" type="text" value="24"' in html
    saved = _post(
        admin,
        event,
        reminder_on="yes",
        reminder_hours="6",
        thank_you_on="yes",
        thank_you_came="Thanks for coming",
        thank_you_missed="Sorry we missed you",
        questions_on="yes",
        questions_close_hours="3",
    )
    assert saved.status_code == 303, saved.text
    stored = session.exec(select(Event).where(Event.id == event.id)).one()
    assert (stored.reminder_on, stored.reminder_hours, stored.thank_you_on) == (True, 6, True)
    assert (stored.thank_you_came, stored.thank_you_missed) == (
        "Thanks for coming",
        "Sorry we missed you",
    )
    assert (stored.questions_on, stored.questions_close_hours) == (True, 3)
    overview = admin.get(f"/admin/events/{event.id}").text
    assert "6 hours before the start" in overview and "Taken until 3 hours before" in overview

    off = _post(admin, event, reminder_hours="")  # boxes unticked, hours blank: the defaults
    assert off.status_code == 303
    stored = session.exec(select(Event).where(Event.id == event.id)).one()
    assert (stored.reminder_on, stored.reminder_hours, stored.questions_on) == (False, 24, False)


def test_bad_hours_are_explained_beside_the_field(admin, session):
    event = make_event(session)
    for value, message in (
        ("soon", "Hours before the start must be a whole number"),
        ("999", "Hours before the start must be"),
    ):
        refused = _post(admin, event, reminder_on="yes", reminder_hours=value)
        assert refused.status_code == 400 and message in refused.text
        assert 'href="#reminder_hours"' in refused.text
    refused = _post(admin, event, reminder_on="yes", reminder_hours="0")
    assert "Hours before the start must be 1 or more" in refused.text
