"""Publishing with a checklist, what the message after it says, copying an event, editing
a venue, and the draft preview showing ticket types as they will be on sale."""

from datetime import timedelta

from sqlmodel import col, select

from booking.domain import event_admin, venues
from booking.models import (
    AccessCode,
    AuditEntry,
    Event,
    EventSpeaker,
    EventStatus,
    Order,
    TicketType,
    Venue,
)
from tests.admin.conftest import fresh
from tests.admin.test_announcements import paid
from tests.factories import make_event, make_organisation, make_speaker, make_ticket_type


def draft(session, **over):  # type: ignore[no-untyped-def]
    event = make_event(session, status=EventStatus.DRAFT, title="Who runs London's buses?", **over)
    make_organisation(session, event)
    return event


def test_a_complete_checklist_publishes_and_says_tickets_are_on_sale(forms, session):
    event = draft(session)
    make_ticket_type(session, event)
    page = forms.client.get(f"/admin/events/{event.id}")
    assert page.context["checklist"].complete
    response = forms.post(f"/admin/events/{event.id}/publish")
    assert response.headers["location"] == f"/admin/events/{event.id}"
    assert fresh(session, Event, event.id).status == EventStatus.PUBLISHED
    assert (
        "published and tickets are on sale now"
        in forms.client.get(f"/admin/events/{event.id}").text
    )


def test_scheduled_sales_are_named_in_the_message(forms, clock, session):
    event = draft(session)
    opens = clock.now + timedelta(days=3)
    make_ticket_type(session, event, sales_start=opens)
    make_ticket_type(session, event, name="Later", sales_start=opens + timedelta(days=1))
    forms.post(f"/admin/events/{event.id}/publish")
    text = forms.client.get(f"/admin/events/{event.id}").text
    local = opens.astimezone(forms.client.app.state.services.settings.tz)
    assert "listed on the public site; tickets go on sale on" in text
    assert f"{local:%H:%M}" in text and f"{local.day} {local:%B}" in text


def test_missing_items_are_listed_with_links_and_publishing_needs_a_second_step(
    forms, clock, session
):
    event = make_event(session, status=EventStatus.DRAFT, venue_id=None)
    make_ticket_type(session, event, sales_end=clock.now - timedelta(hours=1))  # ended
    overview = forms.client.get(f"/admin/events/{event.id}")
    assert [i.key for i in overview.context["checklist"].missing] == [
        "tickets",
        "venue",
        "organiser",
    ]
    response = forms.post(f"/admin/events/{event.id}/publish")
    check = forms.client.get(response.headers["location"])
    assert check.template.name == "admin/publish.html"
    assert "3 things are missing" in check.text
    assert f'href="/admin/events/{event.id}/ticket-types/new"' in check.text
    assert f'href="/admin/events/{event.id}/edit#venue"' in check.text
    assert "Publish anyway" in check.text
    assert fresh(session, Event, event.id).status == EventStatus.DRAFT
    forms.post(f"/admin/events/{event.id}/publish/anyway")
    assert fresh(session, Event, event.id).status == EventStatus.PUBLISHED
    text = forms.client.get(f"/admin/events/{event.id}").text
    assert "no ticket type is on sale" in text


def test_a_start_in_the_past_is_missing(session, clock):
    event = draft(session, starts_at=clock.now - timedelta(hours=1))
    make_ticket_type(session, event)
    checklist = event_admin.checklist(session, event_id=event.id, now=clock.now)
    assert [i.key for i in checklist.missing] == ["future"]


def test_copy_an_event_without_its_orders(forms, db, settings, clock, session, event):
    make_organisation(session, event)
    sadiq = make_speaker(session, event, name="Sadiq Khan", affiliation="Mayor of London")
    hidden = make_ticket_type(
        session,
        event,
        name="Members",
        price=700,
        visible=False,
        sales_start=event.starts_at - timedelta(days=20),
    )
    session.add(
        AccessCode(
            event_id=event.id, code="LONSOC", unlocks_ticket_type_id=hidden.id, discount_percent=10
        )
    )
    session.commit()
    free = make_ticket_type(session, event, name="Free", price=0, position=9)
    paid(db, settings, event, free.id, "ann@example.com")
    form = forms.client.get(f"/admin/events/{event.id}/copy")
    assert form.context["values"]["slug"] == f"{event.slug}-2"
    response = forms.post(
        f"/admin/events/{event.id}/copy",
        {
            "title": "London and Brexit, part two",
            "slug": f"{event.slug}-2",
            "starts_date": "2036-05-07",
            "starts_time": "19:00",
        },
    )
    assert response.status_code == 303, response.context["errors"]
    copy = session.exec(select(Event).where(Event.slug == f"{event.slug}-2")).one()
    assert response.headers["location"] == f"/admin/events/{copy.id}"
    assert copy.status == EventStatus.DRAFT and copy.title == "London and Brexit, part two"
    assert copy.venue_id == event.venue_id and copy.capacity == event.capacity
    assert copy.starts_at.isoformat() == "2036-05-07T18:00:00+00:00"
    assert copy.ends_at is None
    types = session.exec(
        select(TicketType).where(TicketType.event_id == copy.id).order_by(col(TicketType.id))
    ).all()
    assert sorted(t.name for t in types) == ["Concession", "Free", "Members", "Standard"]
    members = next(t for t in types if t.name == "Members")
    assert not members.visible and members.sales_start == copy.starts_at - timedelta(days=20)
    code = session.exec(select(AccessCode).where(AccessCode.event_id == copy.id)).one()
    assert code.unlocks_ticket_type_id == members.id and code.discount_percent == 10
    place = session.exec(select(EventSpeaker).where(EventSpeaker.event_id == copy.id)).one()
    assert place.speaker_id == sadiq.id and place.affiliation == "Mayor of London"
    assert session.exec(select(Order).where(Order.event_id == copy.id)).all() == []
    assert event_admin.organiser_ids(session, copy.id) == event_admin.organiser_ids(
        session, event.id
    )
    assert "event.copied" in [a.action for a in session.exec(select(AuditEntry))]


def test_copy_needs_new_dates(forms, session, event):
    response = forms.post(
        f"/admin/events/{event.id}/copy", {"title": "Again", "slug": "again", "starts_date": ""}
    )
    assert response.status_code == 400
    assert response.context["errors"]["starts_date"] == "Enter the start date"
    assert 'value="Again"' in response.text


def test_a_venue_is_edited_and_its_address_said_once(forms, session, event):
    venue = session.get(Venue, event.venue_id)
    response = forms.post(
        f"/admin/venues/{venue.id}?event={event.id}",
        {
            "name": "Conway Hall",
            "address": "25 Red Lion Square, London",
            "locality": "London",
            "postcode": "wc1r 4rl",
            "map_url": "",
        },
    )
    assert response.headers["location"] == f"/admin/events/{event.id}"
    saved = fresh(session, Venue, venue.id)
    assert saved.postcode == "WC1R 4RL"
    assert venues.address(saved) == "25 Red Lion Square, London WC1R 4RL"
    page = forms.client.get(f"/admin/events/{event.id}").text
    assert "25 Red Lion Square, London WC1R 4RL" in page
    assert "London, London" not in forms.client.get(f"/events/{event.slug}").text


def test_addresses_are_not_repeated():
    def line(**kw):  # type: ignore[no-untyped-def]
        return venues.address(Venue(name="V", **kw))

    assert line(address="London", postcode="WC2E 7BB") == "London WC2E 7BB"
    assert line(address="1 Strand", postcode="WC2E 7BB") == "1 Strand, London WC2E 7BB"
    assert line(address="1 Strand, London WC2E 7BB", postcode="WC2E 7BB") == (
        "1 Strand, London WC2E 7BB"
    )
    assert line(address="", locality="", postcode="") == ""


def test_a_venue_needs_a_name(forms, session, event):
    response = forms.post(f"/admin/venues/{event.venue_id}", {"name": "", "address": "Here"})
    assert response.status_code == 400
    assert response.context["errors"]["name"] == "Enter the venue's name"


def test_the_draft_preview_shows_ticket_types_on_sale(forms, session):
    event = draft(session)
    make_ticket_type(session, event, name="Standard", price=1000)
    preview = forms.client.get(f"/admin/events/{event.id}/preview")
    offers = preview.context["offers"]
    assert [o.state for o in offers] == ["on_sale"]
    public = forms.client.get(f"/events/{event.slug}")
    assert public.status_code == 404


def test_a_copy_gets_its_own_copy_of_the_hero_image(forms, session, settings, event):
    from pathlib import Path

    from booking import images
    from tests.admin.test_speakers import png

    stored = images.store(
        images.process(png(800, 450), images.HERO), images.HERO, media_dir=settings.media_dir
    )
    event.hero_image = stored
    session.add(event)
    session.commit()
    response = forms.post(
        f"/admin/events/{event.id}/copy",
        {"title": "Again", "slug": "again", "starts_date": "2036-05-07", "starts_time": "19:00"},
    )
    assert response.status_code == 303
    copy = session.exec(select(Event).where(Event.slug == "again")).one()
    assert copy.hero_image.startswith("/media/events/") and copy.hero_image != stored
    media = Path(settings.media_dir)
    original = media / stored.removeprefix("/media/")
    duplicate = media / copy.hero_image.removeprefix("/media/")
    assert duplicate.read_bytes() == original.read_bytes()
