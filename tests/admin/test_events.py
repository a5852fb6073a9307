"""Creating, editing, publishing and previewing events; the room capacity rule; the activity log."""

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain import orders
from booking.models import AuditEntry, Event, EventOrganiser, EventStatus, Organisation, Venue
from tests.admin.conftest import fresh
from tests.factories import NOW, make_organisation, make_venue

GOOD = {
    "title": "Who should run London's buses?",
    "slug": "",
    "strapline": "Two views on TfL",
    "description": "A **debate**.\n\nWith questions.",
    "starts_date": "2036-03-27",
    "starts_time": "19:00",
    "ends_date": "2036-03-27",
    "ends_time": "8:30pm",
    "doors_date": "27/3/2036",
    "doors_time": "18:30",
    "venue": "",
    "capacity": "120",
    "contact_email": "Events@Example.org",
    "buyer_cancel_allowed": "yes",
    "buyer_cancel_cutoff_hours": "24",
}


def hold(db, event, type_id, count, now=NOW):  # type: ignore[no-untyped-def]
    with db.write_session() as ws:
        return orders.reserve(
            ws,
            event_id=event.id,
            quantities={type_id: count},
            buyer=orders.Buyer("Ada Lovelace", "ada@example.com"),
            now=now,
            hold=timedelta(minutes=31),
        )


def test_create_an_event_with_a_new_venue_and_organisers(forms, session):
    org = make_organisation(session, name="On London")
    form = {
        **GOOD,
        "venue": "new",
        "venue_name": "Conway Hall",
        "venue_postcode": "wc1r 4rl",
        "organisers": [str(org.id)],
        "new_organisation": "The London Society",
    }
    response = forms.post("/admin/events/new", form)
    assert response.status_code == 303, response.text
    event = session.exec(select(Event)).one()
    assert response.headers["location"] == f"/admin/events/{event.id}"
    assert event.slug == "who-should-run-londons-buses"
    assert event.status == EventStatus.DRAFT
    # Europe/London in March 2036 is still GMT (the clocks go forward on the 30th).
    assert event.starts_at.isoformat() == "2036-03-27T19:00:00+00:00"
    assert event.ends_at.hour == 20 and event.ends_at.minute == 30
    assert event.contact_email == "events@example.org"
    assert event.capacity == 120 and event.buyer_cancel_allowed
    venue = session.get(Venue, event.venue_id)
    assert venue.name == "Conway Hall" and venue.postcode == "WC1R 4RL"
    names = [
        session.get(Organisation, row.organisation_id).name
        for row in session.exec(
            select(EventOrganiser).order_by(EventOrganiser.position)  # type: ignore[arg-type]
        ).all()
    ]
    assert names == ["On London", "The London Society"]
    page = forms.client.get(response.headers["location"])
    assert "is saved as a draft" in page.text
    assert "Olive Organiser created the event “Who should run London" in page.text  # Activity


def test_summer_times_are_entered_in_london_time_and_stored_in_utc(forms, session):
    response = forms.post(
        "/admin/events/new", {**GOOD, "starts_date": "2036-07-03", "ends_date": "2036-07-03"}
    )
    assert response.status_code == 303
    event = session.exec(select(Event)).one()
    assert event.starts_at.isoformat() == "2036-07-03T18:00:00+00:00"  # 7pm BST
    edit = forms.client.get(f"/admin/events/{event.id}/edit").text
    assert 'value="2036-07-03"' in edit and 'value="19:00"' in edit


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Enter a title"),
        ({"title": "x" * 301}, "title", "Title must be 300 characters or fewer"),
        ({"starts_date": "", "starts_time": ""}, "starts_date", "Enter the start date"),
        ({"starts_date": "31/2/2036"}, "starts_date", "The start date must be a real date"),
        ({"starts_time": "25:00"}, "starts_date", "The start time must be a real time"),
        (
            {
                "starts_date": "2001-01-01",
                "ends_date": "",
                "ends_time": "",
                "doors_date": "",
                "doors_time": "",
            },
            "starts_date",
            "The start must be in the future",
        ),
        ({"ends_time": "18:00"}, "ends_date", "The end must be after the start"),
        ({"doors_time": "20:00"}, "doors_date", "Doors must open at or before the start"),
        ({"capacity": "lots"}, "capacity", "Capacity must be a whole number"),
        ({"capacity": "0"}, "capacity", "Capacity must be 1 or more"),
        ({"capacity": "9" * 40}, "capacity", "Capacity must be a whole number"),
        ({"contact_email": "not an email"}, "contact_email", "Enter an email address in the"),
        ({"slug": "x" * 81}, "slug", "Web address must be 80 characters or fewer"),
        ({"slug": "!!!"}, "slug", "Web address must use letters, numbers and hyphens"),
        ({"venue": "new"}, "venue_name", "Enter the venue's name"),
        ({"venue": "999999"}, "venue", "Select a venue from the list"),
        ({"venue": "1; drop"}, "venue", "Select a venue from the list"),
        (
            {"buyer_cancel_cutoff_hours": "-3"},
            "buyer_cancel_cutoff_hours",
            "Hours before the start must be a whole",
        ),
        ({"description": "x" * 20_001}, "description", "Description must be 20,000 characters"),
    ],
)
def test_odd_input_is_refused_with_a_message_and_kept(forms, session, changes, field, message):
    response = forms.post("/admin/events/new", {**GOOD, **changes})
    assert response.status_code == 400, response.text
    assert response.context["errors"][field].startswith(message), response.context["errors"]
    html = response.text
    assert html.startswith("<!doctype html>") and "<title>Error: " in html
    assert f'href="#{field}"' in html  # the error summary links to the field
    assert 'value="Two views on TfL"' in html  # what was typed stays
    assert session.exec(select(Event)).all() == []


def test_control_characters_are_dropped_not_stored(forms, session):
    form = {**GOOD, "title": "London\x1b and\tBrexit\r\n", "description": "One\x07\r\nTwo"}
    nul = forms.post("/admin/events/new", {**form, "title": "London\x00"})
    assert nul.status_code == 400 and session.exec(select(Event)).all() == []  # NUL: refused
    assert forms.post("/admin/events/new", form).status_code == 303
    event = session.exec(select(Event)).one()
    assert event.title == "London and Brexit" and event.description == "One\nTwo"


def test_a_slug_already_in_use_is_refused_with_the_next_free_one_suggested(forms, event):
    response = forms.post("/admin/events/new", {**GOOD, "slug": event.slug.upper()})
    assert response.status_code == 400
    assert response.context["errors"]["slug"].startswith(
        f"There is already an event at /events/{event.slug}. The box now holds {event.slug}-2"
    )
    assert response.context["values"]["slug"] == f"{event.slug}-2"
    again = forms.post("/admin/events/new", {**GOOD, "slug": f"{event.slug}-2"})
    assert again.status_code == 303
    third = forms.post("/admin/events/new", {**GOOD, "slug": event.slug})
    assert third.context["values"]["slug"] == f"{event.slug}-3"


def test_capitals_and_apostrophes_make_a_clean_web_address(forms, session):
    response = forms.post("/admin/events/new", {**GOOD, "title": "London's buses", "slug": ""})
    assert response.status_code == 303
    assert session.exec(select(Event)).one().slug == "londons-buses"
    response = forms.post("/admin/events/new", {**GOOD, "slug": "Who Runs London’s Buses"})
    assert response.status_code == 303, response.context["errors"]
    assert {e.slug for e in session.exec(select(Event))} == {
        "londons-buses",
        "who-runs-londons-buses",
    }


def test_forms_without_the_csrf_token_are_refused(admin, event):
    response = admin.post("/admin/events/new", data=GOOD)
    assert response.status_code == 403


def test_room_capacity_cannot_go_below_seats_sold_or_held(db, forms, session, event):
    event.capacity = 50
    session.add(event)
    session.commit()
    types = forms.client.get(f"/admin/events/{event.id}").context["view"].types
    for _ in range(6):
        hold(db, event, types[0].ticket_type.id, 6)
    hold(db, event, types[1].ticket_type.id, 1)
    edit = forms.client.get(f"/admin/events/{event.id}/edit").context["values"]
    response = forms.post(f"/admin/events/{event.id}/edit", {**edit, "capacity": "36"})
    assert response.status_code == 400
    assert response.context["errors"] == {
        "capacity": "Capacity must be at least 37, the number already sold or held"
    }
    assert fresh(session, Event, event.id).capacity == 50
    assert (
        forms.post(f"/admin/events/{event.id}/edit", {**edit, "capacity": "37"}).status_code == 303
    )
    assert fresh(session, Event, event.id).capacity == 37
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "event.updated")).all()
    assert entry.data == {"capacity": {"before": 50, "after": 37}}
    assert entry.actor == "olive@example.com" and entry.event_id == event.id


def test_a_lapsed_hold_no_longer_counts_against_the_room(db, forms, session, event, clock):
    types = forms.client.get(f"/admin/events/{event.id}").context["view"].types
    hold(db, event, types[0].ticket_type.id, 4, now=clock.now)
    edit = forms.client.get(f"/admin/events/{event.id}/edit").context["values"]
    assert (
        forms.post(f"/admin/events/{event.id}/edit", {**edit, "capacity": "3"}).status_code == 400
    )
    clock.advance(minutes=32)
    assert (
        forms.post(f"/admin/events/{event.id}/edit", {**edit, "capacity": "3"}).status_code == 303
    )


def test_editing_keeps_a_started_event_editable_and_records_what_changed(forms, session, event):
    venue = make_venue(session, name="Bishopsgate Institute")
    edit = forms.client.get(f"/admin/events/{event.id}/edit").context["values"]
    response = forms.post(
        f"/admin/events/{event.id}/edit",
        {**edit, "title": "London after Brexit", "venue": str(venue.id)},
    )
    assert response.status_code == 303
    saved = fresh(session, Event, event.id)
    assert saved.title == "London after Brexit" and saved.venue_id == venue.id
    entry = session.exec(select(AuditEntry)).one()
    assert entry.data["title"] == {"before": "London and Brexit", "after": "London after Brexit"}
    page = forms.client.get(f"/admin/events/{event.id}").text
    assert (
        "Olive Organiser changed the title from “London and Brexit” to “London after Brexit” "
        "and the venue from " in page
    )
    assert "to Bishopsgate Institute" in page


def test_publish_preview_and_unpublish(forms, session, event, client):
    event.status = EventStatus.DRAFT
    session.add(event)
    session.commit()
    preview = forms.client.get(f"/admin/events/{event.id}/preview")
    assert preview.status_code == 200 and preview.template.name == "public/event.html"
    assert "Preview: this event is a draft" in preview.text
    assert preview.headers["x-robots-tag"] == "noindex"
    assert f'href="/admin/events/{event.id}"' in preview.text  # back to the back office
    response = forms.post(f"/admin/events/{event.id}/publish")
    # No organiser: the checklist asks first.
    assert response.headers["location"] == f"/admin/events/{event.id}/publish/check"
    assert fresh(session, Event, event.id).status == EventStatus.DRAFT
    check = forms.client.get(response.headers["location"])
    assert [i.key for i in check.context["checklist"].missing] == ["organiser"]
    forms.post(f"/admin/events/{event.id}/publish/anyway")
    assert fresh(session, Event, event.id).status == EventStatus.PUBLISHED
    assert "Preview: this event is a draft" not in forms.client.get(f"/events/{event.slug}").text
    forms.post(f"/admin/events/{event.id}/unpublish")
    assert fresh(session, Event, event.id).status == EventStatus.DRAFT
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
    assert actions == ["event.published", "event.unpublished"]


def test_unknown_and_huge_ids_are_404(admin):
    assert admin.get("/admin/events/4242").status_code == 404
    assert admin.get("/admin/events/99999999999999999999999").status_code == 404
    assert admin.get("/admin/events/4242/edit").status_code == 404
    assert admin.get("/admin/events/4242/preview").status_code == 404
