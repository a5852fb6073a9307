"""What door staff may see: no draft events, and ticket references, not whole codes, in
search results (only the holder has the code; the reference is enough to admit)."""

from __future__ import annotations

from sqlalchemy import update
from starlette.testclient import TestClient

from booking.domain import tickets
from booking.models import Event, EventStatus
from tests.conftest import sign_in
from tests.door.conftest import DoorClient, admissions, paid_tickets
from tests.helpers import csrf_from


def _draft(db, event) -> None:  # type: ignore[no-untyped-def]
    with db.write() as ws:
        ws.execute(update(Event).where(Event.id == event.id).values(status=EventStatus.DRAFT))


def test_staff_cannot_open_a_draft_event_at_the_door(client, staff, sale, session, db):
    [ada] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    _draft(db, sale.event)
    sign_in(client, staff)
    slug = sale.event.slug
    assert client.get(f"/door/{slug}").status_code == 404
    assert client.get(f"/door/{slug}?q=lovelace").status_code == 404
    assert client.get(f"/api/events/{slug}/attendees", params={"q": "lovelace"}).status_code == 404
    assert client.get(f"/api/events/{slug}/tickets").status_code == 404
    csrf = csrf_from(client, "/door/")
    admit = client.post(
        f"/api/events/{slug}/checkins",
        json={"code": ada.code, "nonce": "n1", "device": "phone"},
        headers={"X-CSRF-Token": csrf},
    )
    assert admit.status_code == 404 and admissions(session, ada) == []


def test_organisers_can_still_open_a_draft_at_the_door(app, organiser, sale, db):
    _draft(db, sale.event)
    with TestClient(app, follow_redirects=False) as c:
        sign_in(c, organiser)
        assert c.get(f"/door/{sale.event.slug}").status_code == 200


def test_search_results_show_references_not_codes(client, staff, sale, session):
    [ada, other] = paid_tickets(
        session, sale.event, sale.standard, 2, names=["Ada Lovelace", "Ada Byron"]
    )
    sign_in(client, staff)
    api = DoorClient(client, sale.event.slug)
    page = client.get(f"/door/{sale.event.slug}", params={"q": "ada"})
    answer = api.get("/attendees", params={"q": "ada"})
    for t in (ada, other):
        assert tickets.reference(t.code) in page.text and t.code not in page.text
        assert tickets.reference(t.code) in answer.text and t.code not in answer.text
        assert t.code[8:] not in page.text and t.code[8:] not in answer.text
    # Admitting from a search result (the reference) still works.
    [found] = [a for a in answer.json()["attendees"] if a["name"] == "Ada Lovelace"]
    assert api.admit(found["code"])["result"] == "admitted"
    assert len(admissions(session, ada)) == 1
    token = csrf_from(client, f"/door/{sale.event.slug}")
    form = client.post(
        f"/door/{sale.event.slug}/admit",
        data={"csrf_token": token, "nonce": "form-1", "code": tickets.reference(other.code)},
    )
    assert form.status_code == 200 and len(admissions(session, other)) == 1
