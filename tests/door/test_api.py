"""The check-in API and pages over HTTP: JSON answers, the offline list, the form without
JavaScript, and who may use them."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlmodel import select
from starlette.routing import Mount, Route

from booking.domain import tickets
from booking.models import CheckIn, CheckInConflict, Role, Ticket, User
from tests.conftest import sign_in
from tests.door.conftest import DoorClient, paid_tickets
from tests.helpers import ticket_types
from tests.mail.flows import pay


def test_tickets_bought_through_stripe_are_admitted_once(api, client, sale, session, standin):
    standard, concession = ticket_types(session, sale.event)
    order = pay(client, session, sale.event, standin, {standard.id: 1, concession.id: 1})
    codes = [t.code for t in session.exec(select(Ticket).where(Ticket.order_id == order.id))]
    first = api.admit(codes[0], nonce="n-1", device="phone-1")
    assert first == {
        "result": "admitted",
        "reason": None,
        "message": "Admitted",
        "code": codes[0],
        "ticket": {
            "name": "Ada Lovelace",
            "type": "Standard",
            "reference": codes[0][:4] + "-" + codes[0][4:8],
            "access": "",
        },
        "checked_in_at": first["checked_in_at"],
        "by": "Dora Door",
        "device": "phone-1",
        "device_name": "an unnamed phone (1)",
        "checkin_id": first["checkin_id"],
    }
    assert api.admit(codes[0], nonce="n-1", device="phone-1") == first  # a retry
    again = api.admit(tickets.reference(codes[0]), device="phone-2")
    assert again["result"] == "already_checked_in"
    assert (again["checked_in_at"], again["by"], again["device"]) == (
        first["checked_in_at"],
        "Dora Door",
        "phone-1",
    )
    assert api.admit(codes[1])["ticket"]["type"] == "Concession"


def test_refusals_say_why(api, sale, other_sale, session):
    [elsewhere] = paid_tickets(session, other_sale.event, other_sale.standard)
    forged = api.admit(tickets.new_code(b"not our key"))
    assert (forged["result"], forged["reason"], forged["ticket"]) == ("not_valid", "forged", None)
    other = api.admit(elsewhere.code)
    assert (other["result"], other["reason"]) == ("not_valid", "other_event")
    assert other["message"] == "This ticket is for Who will house London?."
    unknown = api.admit("0000-0000")
    assert (unknown["result"], unknown["reason"]) == ("not_valid", "unknown")


def test_malformed_requests_get_400(api):
    for body in [{"code": "ABCD-EFGH"}, {"nonce": "n"}, {"code": 12, "nonce": "n"}, ["x"], "x"]:
        response = api.post("/checkins", body)
        assert response.status_code == 400, body
        assert "error" in response.json()


def test_posts_without_the_csrf_token_are_refused(api, sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    response = api.client.post(api.url("/checkins"), json={"code": ticket.code, "nonce": "n"})
    assert response.status_code == 403
    assert session.exec(select(CheckIn)).all() == []


def test_an_unknown_event_is_404(api):
    response = api.client.get("/api/events/no-such-event/checkins")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}


def test_counts_and_changes_since_the_last_poll(api, sale, session, clock):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    paid_tickets(session, sale.event, sale.concession, 1)
    api.admit(a.code)
    clock.advance(minutes=2)
    counts = api.get().json()
    assert counts == {
        "admitted": 1,
        "expected": 3,
        "conflicts": 0,
        "by_type": [
            {"name": "Standard", "admitted": 1, "expected": 2},
            {"name": "Concession", "admitted": 0, "expected": 1},
        ],
        "server_time": clock().isoformat(),
    }
    clock.advance(minutes=1)
    api.admit(b.code, device="phone-2")
    later = api.get(params={"since": counts["server_time"]}).json()
    [(key, entry)] = later["changes"].items()
    assert entry["ref"] == tickets.reference(b.code) and entry["device"] == "phone-2"
    assert later["admitted"] == 2
    assert api.get(params={"since": "yesterday"}).status_code == 400
    assert api.get(params={"since": "2026-01-01T10:00:00"}).status_code == 400  # no zone


def test_bulk_sync_is_idempotent_and_reports_double_admissions(api, sale, session, clock):
    a, b = paid_tickets(session, sale.event, sale.standard, 2, names=["Ada", "Bea"])
    api.admit(b.code, device="phone-1")  # Bea came in through phone 1 while phone 2 was offline
    body = {
        "device": "phone-2",
        "admissions": [
            {"code": a.code, "nonce": "p2-1", "at": clock().isoformat()},
            {"code": b.code, "nonce": "p2-2", "at": clock().isoformat()},
        ],
    }
    first = api.post("/checkins/bulk", body)
    assert first.status_code == 200
    results = first.json()["results"]
    assert [(r["nonce"], r["result"], r["reason"]) for r in results] == [
        ("p2-1", "admitted", None),
        ("p2-2", "conflict", "admitted_twice"),
    ]
    assert results[1]["first"]["device"] == "phone-1" and results[1]["first"]["by"] == "Dora Door"
    for _ in range(2):
        assert api.post("/checkins/bulk", body).json() == first.json()
    assert len(session.exec(select(CheckIn)).all()) == 2
    assert len(session.exec(select(CheckInConflict)).all()) == 1
    assert api.get().json()["conflicts"] == 1


def test_bulk_refuses_malformed_batches(api):
    for body in [
        {"admissions": []},  # no device
        {"device": "p", "admissions": {"code": "x"}},
        {"device": "p", "admissions": ["x"]},
        {"device": "p", "admissions": [{"code": "x", "nonce": str(n)} for n in range(501)]},
    ]:
        assert api.post("/checkins/bulk", body).status_code == 400


def test_undo_over_the_api(api, sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    admitted = api.admit(ticket.code)
    stale = api.post(
        "/checkins/undo", {"code": ticket.code, "checkin_id": admitted["checkin_id"] + 1}
    )
    assert stale.json()["ok"] is False
    undone = api.post("/checkins/undo", {"code": ticket.code, "checkin_id": admitted["checkin_id"]})
    assert undone.json() == {
        "ok": True,
        "message": f"Admission of {ticket.attendee_name} undone",
        "checkin_id": admitted["checkin_id"],
        "duplicate": False,
        "still_in": False,
    }
    assert api.post("/checkins/undo", {"code": ticket.code}).status_code == 400  # which one?
    assert api.post("/checkins/undo", {"code": ticket.code, "checkin_id": "1"}).status_code == 400
    again = api.admit(ticket.code, nonce="n-2")
    assert again["result"] == "admitted"
    by_nonce = api.post("/checkins/undo", {"code": ticket.code, "nonce": "n-2"}).json()
    assert (by_nonce["ok"], by_nonce["checkin_id"]) == (True, again["checkin_id"])


def test_attendee_search(api, sale, session):
    [ada] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    api.admit(ada.code)
    [found] = api.get("/attendees", params={"q": "lovelace"}).json()["attendees"]
    assert found["name"] == "Ada Lovelace" and found["code"] == found["reference"]
    assert found["checked_in_at"] and found["by"] == "Dora Door"
    assert api.get("/attendees", params={"q": "nobody"}).json() == {"attendees": []}


def test_the_ticket_list_is_private_keyed_by_digest_and_revalidated(api, sale, session):
    made = paid_tickets(session, sale.event, sale.standard, 3)
    response = api.get("/tickets")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, no-cache"
    listing = response.json()
    assert listing["event"] == sale.event.slug and len(listing["tickets"]) == 3
    assert not any(t.code in response.text for t in made)
    etag = response.headers["etag"]
    assert api.get("/tickets", headers={"If-None-Match": etag}).status_code == 304
    api.admit(made[0].code)
    changed = api.get("/tickets", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag


def test_the_page_works_without_javascript(api, client, sale, session):
    a, b = paid_tickets(
        session, sale.event, sale.standard, 2, names=["Ada Lovelace", "Bea"], buyer_name="C B"
    )
    page = client.get(f"/door/{sale.event.slug}", params={"q": "lovelace"})
    assert page.status_code == 200 and page.template.name == "door/scan.html"
    assert "Ada Lovelace" in page.text and "Bea" in page.text  # on Ada's order
    assert 'id="count-expected">2<' in page.text
    form_nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": api.csrf, "nonce": form_nonce, "code": tickets.reference(a.code)}
    result = client.post(f"/door/{sale.event.slug}/admit", data=form)
    assert result.template.name == "door/result.html"
    assert result.context["outcome"].result == "admitted" and "Admitted" in result.text
    assert client.post(f"/door/{sale.event.slug}/admit", data=form).context["outcome"].replay
    again = client.post(f"/door/{sale.event.slug}/admit", data={**form, "code": a.code})
    assert "Already checked in" in again.text  # the whole code this time: a new request
    other = client.post(f"/door/{sale.event.slug}/admit", data={**form, "code": b.code})
    assert other.context["outcome"].result == "admitted"
    assert len(session.exec(select(CheckIn)).all()) == 2


# Who may use the door ------------------------------------------------------------------------


def _door_routes(app, slug):  # type: ignore[no-untyped-def]
    for route in app.routes:
        if isinstance(route, Mount) and route.path in ("/door", "/api/events/{slug:str}"):
            prefix = route.path.replace("{slug:str}", slug)
            for sub in route.routes:
                assert isinstance(sub, Route)
                path = prefix + sub.path.replace("{slug:str}", slug)
                for method in sorted(sub.methods or {"GET"}):
                    if method != "HEAD":
                        yield method, path


def _call(client, method, path, csrf):  # type: ignore[no-untyped-def]
    if path.startswith("/api/"):
        body = {
            "code": "0000-0000",
            "nonce": uuid.uuid4().hex,
            "device": "d",
            "admissions": [],
            "name": "Side door phone",
        }
        return client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
    return client.request(method, path, data={"csrf_token": csrf, "code": "0000-0000"})


@pytest.fixture
def routes(app, sale):  # type: ignore[no-untyped-def]
    found = list(_door_routes(app, sale.event.slug))
    assert len(found) == 11
    return found


def test_signed_out_the_api_answers_401_json_and_pages_go_to_sign_in(client, routes):
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text).group(1)
    for method, path in routes:
        response = _call(client, method, path, csrf)
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.json()["error"] == "forbidden"
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("role", [Role.STAFF, Role.ORGANISER])
def test_staff_and_organisers_may_use_every_door_route(client, routes, sale, role, request):
    user = request.getfixturevalue("staff" if role == Role.STAFF else "organiser")
    sign_in(client, user)
    csrf = DoorClient(client, sale.event.slug).csrf
    for method, path in routes:
        response = _call(client, method, path, csrf)
        assert response.status_code == 200, (method, path, response.text[:200])


def test_other_roles_are_refused(client, routes, sale, staff, session):
    sign_in(client, staff)
    csrf = DoorClient(client, sale.event.slug).csrf
    user = session.get(User, staff.id)
    user.role = "finance"  # a role that is not allowed at the door
    session.add(user)
    session.commit()
    for method, path in routes:
        response = _call(client, method, path, csrf)
        assert response.status_code == 403, (method, path)
        if path.startswith("/api/"):
            assert response.json()["error"] == "forbidden"


def test_a_deactivated_account_is_signed_out_everywhere(client, routes, sale, staff, session):
    sign_in(client, staff)
    csrf = DoorClient(client, sale.event.slug).csrf
    user = session.get(User, staff.id)
    user.active = False
    session.add(user)
    session.commit()
    for method, path in routes:
        response = _call(client, method, path, csrf)
        assert response.status_code in (401, 303), (method, path)


def test_a_device_named_by_staff_is_called_by_its_name(api, sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    named = api.post("/device", {"device": "phone-1", "name": "  Main   door phone "})
    assert named.json() == {"device": "phone-1", "name": "Main door phone"}
    api.admit(ticket.code, device="phone-1")
    again = api.admit(ticket.code, device="phone-2")
    assert (again["device"], again["device_name"]) == ("phone-1", "Main door phone")
    [entry] = api.get("/tickets").json()["tickets"].values()
    assert entry["device_name"] == "Main door phone"
    api.post("/device", {"device": "phone-1", "name": "Side door phone"})  # renamed
    assert api.admit(ticket.code, device="phone-2")["device_name"] == "Side door phone"
    for body in [{"device": "phone-1", "name": " "}, {"device": "", "name": "A"}, {"name": 3}]:
        refused = api.post("/device", {**body})
        assert refused.status_code == 400 and refused.json()["message"]
    too_long = api.post("/device", {"device": "phone-1", "name": "x" * 61})
    assert too_long.status_code == 400
    assert api.admit(ticket.code, device="phone-2")["device_name"] == "Side door phone"


def test_admit_all_on_an_order_without_javascript(api, client, sale, session):
    ada, bea = paid_tickets(session, sale.event, sale.standard, 2, names=["Ada", "Bea"])
    page = client.get(f"/door/{sale.event.slug}", params={"q": "Bea"})
    assert "Admit all on this order (2)" in page.text
    form_nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)
    form = {"csrf_token": api.csrf, "nonce": form_nonce, "code": [ada.code, bea.code]}
    done = client.post(f"/door/{sale.event.slug}/admit", data=form)
    assert done.template.name == "door/result_all.html"
    assert [o.result for o in done.context["outcomes"]] == ["admitted", "admitted"]
    assert "Admitted 2" in done.text
    again = client.post(f"/door/{sale.event.slug}/admit", data=form)  # a reload
    assert [o.replay for o in again.context["outcomes"]] == [True, True]
    assert len(session.exec(select(CheckIn)).all()) == 2
    page = client.get(f"/door/{sale.event.slug}", params={"q": "Bea"})
    assert "Admit all on this order" not in page.text  # both in now
