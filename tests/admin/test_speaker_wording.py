"""A speaker's job title and biography belong to each event they speak at; announcement
prompts appear only where there are ticket holders, for speakers added after sales opened."""

from datetime import timedelta

from sqlmodel import select

from booking.domain import announcements, outbox, speakers
from booking.models import EventSpeaker, MailKind, MailOutbox, Speaker, utcnow
from tests.admin.conftest import fresh
from tests.admin.test_announcements import paid
from tests.factories import make_event, make_speaker, make_ticket_type
from tests.mail.flows import deliver

BUSES = {
    "name": "Sadiq Khan",
    "affiliation": "Chair of Transport for London",
    "bio": "Runs the buses.",
    "url": "",
    "role": "speaker",
}


def test_editing_one_events_wording_leaves_the_other_alone(forms, session, event):
    buses = make_event(session, title="London's buses")
    sadiq = make_speaker(
        session, event, name="Sadiq Khan", affiliation="Mayor of London", bio="On Brexit."
    )
    forms.post(
        f"/admin/events/{buses.id}/speakers/add",
        {"source": "existing", "existing_speaker": sadiq.id, "existing_role": "speaker"},
    )
    response = forms.post(f"/admin/events/{buses.id}/speakers/{sadiq.id}", BUSES)
    assert response.status_code == 303

    brexit_page = forms.client.get(f"/events/{event.slug}").text
    buses_page = forms.client.get(f"/events/{buses.slug}").text
    assert "Mayor of London" in brexit_page and "On Brexit." in brexit_page
    assert "Chair of Transport for London" not in brexit_page
    assert "Chair of Transport for London" in buses_page and "Runs the buses." in buses_page
    assert "On Brexit." not in buses_page
    places = {
        p.event_id: p
        for p in session.exec(select(EventSpeaker).where(EventSpeaker.speaker_id == sadiq.id))
    }
    assert places[event.id].affiliation == "Mayor of London"
    assert places[buses.id].affiliation == "Chair of Transport for London"
    # The edit form of each event shows its own wording.
    form = forms.client.get(f"/admin/events/{event.id}/speakers/{sadiq.id}")
    assert form.context["values"]["affiliation"] == "Mayor of London"


def test_a_new_event_starts_from_the_latest_wording(forms, session, event):
    sadiq = make_speaker(session, event, name="Sadiq Khan", affiliation="Mayor of London")
    forms.post(f"/admin/events/{event.id}/speakers/{sadiq.id}", {**BUSES, "bio": ""})
    later = make_event(session, title="Later debate")
    forms.post(
        f"/admin/events/{later.id}/speakers/add",
        {"source": "existing", "existing_speaker": sadiq.id, "existing_role": "chair"},
    )
    place = session.exec(
        select(EventSpeaker).where(
            EventSpeaker.event_id == later.id, EventSpeaker.speaker_id == sadiq.id
        )
    ).one()
    assert place.affiliation == "Chair of Transport for London"
    assert fresh(session, Speaker, sadiq.id).name == "Sadiq Khan"


def test_the_announcement_email_uses_the_events_wording(app, clock, db, settings, session, event):
    buses = make_event(session, title="London's buses")
    free = make_ticket_type(session, buses, name="Free", price=0)
    sadiq = make_speaker(session, event, name="Sadiq Khan", affiliation="Mayor of London")
    session.add(
        EventSpeaker(
            event_id=buses.id, speaker_id=sadiq.id, affiliation="Bus passenger", bio="Rides the 38."
        )
    )
    session.commit()
    paid(db, settings, buses, free.id, "ann@example.com")
    with db.write_session() as ws:
        speakers_now = announcements.audience(ws, event_id=buses.id)
    assert speakers_now.holders == 1
    with db.write() as ws:
        outbox.queue_speaker_announcement(ws, event_id=buses.id, speaker_id=sadiq.id, now=clock.now)
    assert deliver(app.state.services).captured >= 1
    session.expire_all()
    row = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.SPEAKER_ANNOUNCED)
    ).one()
    assert "Sadiq Khan, Bus passenger, will speak at" in row.body_text
    assert "Rides the 38." in row.body_text
    assert "Mayor of London" not in row.body_text


def test_announce_prompts_only_for_speakers_added_after_sales_opened(
    forms, clock, db, settings, session, event
):
    early = make_speaker(session, event, name="Andrew Adonis")  # on the page from the start
    page = forms.client.get(f"/admin/events/{event.id}/speakers")
    assert "Announce" not in page.text  # nobody to tell yet
    assert "not announced" not in page.text

    standard = (
        event.id
        and session.exec(select(EventSpeaker).where(EventSpeaker.speaker_id == early.id)).one()
    )
    assert standard.added_at is None
    free = make_ticket_type(session, event, name="Free", price=0, position=5)
    paid(db, settings, event, free.id, "ann@example.com")
    clock.now = utcnow() + timedelta(minutes=1)
    forms.post(
        f"/admin/events/{event.id}/speakers/add",
        {**BUSES, "source": "new", "name": "Sadiq Khan"},
    )
    sadiq = session.exec(select(Speaker).where(Speaker.name == "Sadiq Khan")).one()
    page = forms.client.get(f"/admin/events/{event.id}/speakers")
    audience = page.context["audience"]
    items = {i.speaker.name: i for i in page.context["view"].lineup}
    assert audience.holders == 1
    assert not audience.needs_announcing(items["Andrew Adonis"])
    assert audience.needs_announcing(items["Sadiq Khan"])
    assert page.text.count("not announced to ticket holders yet") == 1
    assert f"/speakers/{sadiq.id}/announce" in page.text


def test_speakers_added_before_the_first_sale_need_no_announcement(session, event):
    speaker = make_speaker(session, event, name="Early")
    place = session.exec(select(EventSpeaker).where(EventSpeaker.speaker_id == speaker.id)).one()
    now = utcnow()
    item = speakers.Place(place, speaker, None)
    place.added_at = now - timedelta(days=2)
    assert not announcements.Audience(3, now - timedelta(days=1)).needs_announcing(item)
    place.added_at = now
    assert announcements.Audience(3, now - timedelta(days=1)).needs_announcing(item)
    assert not announcements.Audience(0, now - timedelta(days=1)).needs_announcing(item)
