"""Organisers set wheelchair spaces on ticket types and a venue's access facts; forms with
errors re-render and write nothing."""

from __future__ import annotations

from sqlmodel import select

from booking.models import AccessPlace, AuditEntry, TicketType, Venue
from tests.admin.conftest import fresh


def _types(session, event):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(TicketType.position)
    ).all()


WHEELCHAIR = {
    "name": "Wheelchair space",
    "price": "10",
    "capacity": "4",
    "max_per_order": "2",
    "visible": "yes",
    "access_place": "wheelchair",
    "companion_free": "yes",
}


def test_a_wheelchair_type_with_a_companion_adds_the_companion_type(forms, session, event):
    form = forms.client.get(f"/admin/events/{event.id}/ticket-types/new")
    assert 'name="access_place" type="radio" value="wheelchair"' in form.text
    done = forms.post(f"/admin/events/{event.id}/ticket-types/new", WHEELCHAIR)
    assert done.status_code == 303
    chair, companion = _types(session, event)[-2:]
    assert (chair.access_place, chair.companion_free, chair.capacity) == ("wheelchair", True, 4)
    assert (companion.access_place, companion.price, companion.visible) == ("companion", 0, False)
    # A second wheelchair type shares the one companion type.
    forms.post(f"/admin/events/{event.id}/ticket-types/new", {**WHEELCHAIR, "name": "Front"})
    assert [t.access_place for t in _types(session, event)].count("companion") == 1
    page = forms.client.get(f"/admin/events/{event.id}")
    assert "Wheelchair spaces with a free companion seat" in page.text
    assert "Companion seats" in page.text


def test_a_second_companion_type_is_refused_and_nothing_is_written(forms, session, event):
    forms.post(f"/admin/events/{event.id}/ticket-types/new", WHEELCHAIR)
    before = len(_types(session, event))
    again = forms.post(
        f"/admin/events/{event.id}/ticket-types/new",
        {**WHEELCHAIR, "name": "Carer", "access_place": "companion"},
    )
    assert again.status_code == 400 and "There is a problem" in again.text
    assert "already has a companion seat type: Companion seat" in again.text
    assert 'value="Carer"' in again.text  # the form keeps what was typed
    assert len(_types(session, event)) == before
    odd = forms.post(
        f"/admin/events/{event.id}/ticket-types/new", {**WHEELCHAIR, "access_place": "throne"}
    )
    assert odd.status_code == 400
    assert "Select what kind of place this ticket type sells" in odd.text
    assert len(_types(session, event)) == before


def test_editing_a_seat_into_a_wheelchair_space_is_audited(forms, session, event):
    standard = _types(session, event)[0]
    forms.post(
        f"/admin/events/{event.id}/ticket-types/{standard.id}",
        {**WHEELCHAIR, "name": "Standard", "companion_free": ""},
    )
    saved = fresh(session, TicketType, standard.id)
    assert saved.access_place == AccessPlace.WHEELCHAIR and not saved.companion_free
    assert all(t.access_place != "companion" for t in _types(session, event))
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket_type.updated")).one()
    assert entry.data["access_place"] == {"before": "", "after": "wheelchair"}


VENUE = {
    "name": "Conway Hall",
    "address": "25 Red Lion Square",
    "locality": "London",
    "postcode": "WC1R 4RL",
    "map_url": "",
    "step_free": "yes",
    "hearing_loop": "yes",
    "wheelchair_note": "4 spaces at the ends of rows",
    "access_note": "Holborn station has no lift.\n\nThe <b>lift</b> is by the main door.",
}


def test_venue_access_facts_show_on_the_event_page(forms, session, event):
    public = forms.client.get(f"/events/{event.slug}")
    assert 'id="access-heading"' not in public.text  # nothing set, no section
    done = forms.post(f"/admin/venues/{event.venue_id}?event={event.id}", VENUE)
    assert done.status_code == 303
    venue = fresh(session, Venue, event.venue_id)
    assert (venue.step_free, venue.accessible_toilet, venue.hearing_loop) == (True, False, True)
    page = forms.client.get(f"/events/{event.slug}").text
    assert 'id="access-heading">Access</h2>' in page
    assert "<li>Step-free access</li>" in page and "<li>Hearing loop</li>" in page
    assert "Accessible toilet" not in page
    assert "<p>Wheelchair spaces: 4 spaces at the ends of rows</p>" in page
    assert "<p>Holborn station has no lift.</p>" in page
    assert "The &lt;b&gt;lift&lt;/b&gt; is by the main door." in page
    form = forms.client.get(f"/admin/venues/{event.venue_id}")
    assert 'id="step_free" name="step_free" type="checkbox" value="yes" checked' in form.text


def test_a_venue_form_with_errors_writes_nothing(forms, session, event):
    long = forms.post(f"/admin/venues/{event.venue_id}", {**VENUE, "wheelchair_note": "x" * 301})
    assert long.status_code == 400 and "There is a problem" in long.text
    assert "Wheelchair spaces must be 300 characters or fewer" in long.text
    assert 'name="step_free" type="checkbox" value="yes" checked' in long.text
    venue = fresh(session, Venue, event.venue_id)
    assert not venue.step_free and venue.wheelchair_note == ""
