"""The speaker list: add new or existing speakers, reorder, hide, remove, edit, photos."""

import io

from PIL import Image
from sqlmodel import select

from booking.models import AuditEntry, Event, EventSpeaker, Speaker
from tests.admin.conftest import fresh
from tests.factories import make_event, make_speaker

NEW = {
    "source": "new",
    "name": "Sadiq Khan",
    "affiliation": "Mayor of London",
    "bio": "Elected in 2016.",
    "url": "https://www.london.gov.uk",
    "role": "speaker",
}


def png(width: int = 300, height: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def names(client, event) -> list[str]:  # type: ignore[no-untyped-def]
    view = client.get(f"/admin/events/{event.id}/speakers").context["view"]
    return [item.speaker.name for item in view.lineup]


def test_add_a_new_speaker_then_move_them_first(forms, session, event):
    make_speaker(session, event, name="Andrew Adonis", position=0)
    make_speaker(session, event, name="Daniel Moylan", position=1)
    response = forms.post(f"/admin/events/{event.id}/speakers/add", NEW)
    assert response.status_code == 303
    sadiq = session.exec(select(Speaker).where(Speaker.name == "Sadiq Khan")).one()
    assert response.headers["location"] == (
        f"/admin/events/{event.id}/speakers?added={sadiq.id}#speaker-{sadiq.id}"
    )
    page = forms.client.get(response.headers["location"])
    assert "Sadiq Khan is on the speaker list" in page.text
    assert "Announce" not in page.text  # nobody holds a ticket yet: nobody to tell
    assert names(forms.client, event) == ["Andrew Adonis", "Daniel Moylan", "Sadiq Khan"]
    for _ in range(3):  # the third press, at the top, does nothing
        forms.post(f"/admin/events/{event.id}/speakers/{sadiq.id}/move", {"direction": "up"})
    assert names(forms.client, event) == ["Sadiq Khan", "Andrew Adonis", "Daniel Moylan"]
    public = forms.client.get(f"/events/{event.slug}").text
    assert public.index("Sadiq Khan") < public.index("Andrew Adonis") < public.index("Daniel")
    moves = session.exec(select(AuditEntry).where(AuditEntry.action == "speaker.moved")).all()
    assert [m.data["position"] for m in moves] == [
        {"before": 3, "after": 2},
        {"before": 2, "after": 1},
    ]


def test_reuse_a_speaker_from_another_event(forms, session, event):
    earlier = make_event(session, title="An earlier debate")
    andrew = make_speaker(session, earlier, name="Andrew Adonis")
    page = forms.client.get(f"/admin/events/{event.id}/speakers")
    assert [s.name for s in page.context["candidates"]] == ["Andrew Adonis"]
    response = forms.post(
        f"/admin/events/{event.id}/speakers/add",
        {"source": "existing", "existing_speaker": str(andrew.id), "existing_role": "chair"},
    )
    assert response.status_code == 303
    places = session.exec(select(EventSpeaker).where(EventSpeaker.speaker_id == andrew.id)).all()
    assert {(p.event_id, p.role) for p in places} == {(earlier.id, "speaker"), (event.id, "chair")}
    assert len(session.exec(select(Speaker)).all()) == 1  # one person, two events
    again = forms.post(
        f"/admin/events/{event.id}/speakers/add",
        {"source": "existing", "existing_speaker": str(andrew.id), "existing_role": "speaker"},
    )
    assert again.status_code == 400
    assert again.context["errors"] == {"existing_speaker": "Andrew Adonis is already on this event"}


def test_odd_speaker_input(forms, session, event):
    cases = [
        ({**NEW, "name": ""}, {"name": "Enter the speaker's name"}),
        (
            {**NEW, "url": "javascript:alert(1)"},
            {"url": "Enter a web page address starting with https://"},
        ),
        ({**NEW, "role": "president"}, {"role": "Select whether they chair or speak"}),
        ({**NEW, "bio": "b" * 2001}, {"bio": "Biography must be 2,000 characters or fewer"}),
        (
            {"source": "existing", "existing_speaker": "", "existing_role": "speaker"},
            {"existing_speaker": "Select a speaker from the list"},
        ),
        (
            {"source": "existing", "existing_speaker": "98765", "existing_role": "speaker"},
            {"existing_speaker": "Select a speaker from the list"},
        ),
        (
            {"source": "existing", "existing_speaker": "1" * 30, "existing_role": "x"},
            {
                "existing_speaker": "Select a speaker from the list",
                "existing_role": "Select whether they chair or speak",
            },
        ),
    ]
    for form, errors in cases:
        response = forms.post(f"/admin/events/{event.id}/speakers/add", form)
        assert response.status_code == 400, form
        assert response.context["errors"] == errors
    assert session.exec(select(Speaker)).all() == []


def test_hide_show_remove_and_the_others_to_be_announced_line(forms, session, event):
    andrew = make_speaker(session, event, name="Andrew Adonis")
    base = f"/admin/events/{event.id}/speakers"
    forms.post(f"{base}/{andrew.id}/visibility", {"visibility": "hidden"})
    assert "Andrew Adonis" not in forms.client.get(f"/events/{event.slug}").text
    forms.post(f"{base}/{andrew.id}/visibility", {"visibility": "confirmed"})
    assert "Andrew Adonis" in forms.client.get(f"/events/{event.slug}").text
    forms.post(f"{base}/more", {"more_speakers_tba": "yes"})
    assert fresh(session, Event, event.id).more_speakers_tba
    assert "and others to be announced" in forms.client.get(f"/events/{event.slug}").text
    forms.post(f"{base}/more", {})
    assert not fresh(session, Event, event.id).more_speakers_tba
    forms.post(f"{base}/{andrew.id}/remove")
    assert names(forms.client, event) == []
    assert session.exec(select(Speaker)).one().name == "Andrew Adonis"  # kept for reuse
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]  # type: ignore[arg-type]
    assert actions == [
        "speaker.hidden",
        "speaker.shown",
        "event.more_speakers_tba_changed",
        "event.more_speakers_tba_changed",
        "speaker.removed",
    ]


def test_edit_a_speaker(forms, session, event):
    andrew = make_speaker(session, event, name="Andrew Adonis")
    url = f"/admin/events/{event.id}/speakers/{andrew.id}"
    values = forms.client.get(url).context["values"]
    response = forms.post(url, {**values, "affiliation": "Former minister", "role": "chair"})
    assert response.status_code == 303
    assert fresh(session, Speaker, andrew.id).affiliation == "Former minister"
    assert session.exec(select(EventSpeaker)).one().role == "chair"
    bad = forms.post(url, {**values, "name": ""})
    assert bad.status_code == 400 and bad.context["errors"] == {"name": "Enter the speaker's name"}


def test_a_new_speaker_with_a_photo_gets_a_square_jpeg(forms, session, event, settings):
    response = forms.post(
        f"/admin/events/{event.id}/speakers/add",
        NEW,
        files={"photo": ("sadiq.png", png(600, 300), "image/png")},
    )
    assert response.status_code == 303, response.text
    photo = session.exec(select(Speaker)).one().photo
    assert photo.startswith("/media/speakers/") and photo.endswith(".jpg")
    served = forms.client.get(photo)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (480, 480)


def test_a_new_speaker_with_a_file_that_is_not_an_image_is_refused(forms, session, event):
    response = forms.post(
        f"/admin/events/{event.id}/speakers/add",
        NEW,
        files={"photo": ("cv.pdf", b"%PDF-1.7 not an image", "application/pdf")},
    )
    assert response.status_code == 400
    assert response.context["errors"] == {
        "photo": "The selected file must be a JPG, PNG or WebP image"
    }
    assert 'value="Sadiq Khan"' in response.text
    assert session.exec(select(Speaker)).all() == []
