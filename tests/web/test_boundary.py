"""What a client can send that must be refused with a reason, never a 500: odd digits, NUL
bytes, ids past the database's integer, unknown ids in forms, JSON nested too deep."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from booking.models import AccessCode, Order, PromoLink, PromoVisit
from tests.admin import conftest as admin_fixtures
from tests.door import conftest as door_fixtures
from tests.door.conftest import DoorClient, paid_tickets
from tests.factories import make_event, make_organisation
from tests.helpers import buy, csrf_from, ticket_types

# The back office's and the door's fixtures, used here too.
admin, forms, olive = admin_fixtures.admin, admin_fixtures.forms, admin_fixtures.olive
password_hash, sale = admin_fixtures.password_hash, door_fixtures.sale

NUL = "\x00"


def count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.exec(select(func.count()).select_from(model)).one()


# The buy form -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["²", "①", "⁵", "١", "２"])
def test_quantities_in_other_scripts_are_refused_beside_the_field(client, session, event, typed):
    standard, _ = ticket_types(session, event)
    response = buy(client, event, {standard.id: typed})
    assert response.status_code == 400
    assert response.context["errors"][f"qty-{standard.id}"] == (
        "Enter the number of tickets as a whole number, like 2"
    )
    assert count(session, Order) == 0


@pytest.mark.parametrize("field", ["name", "email", "code", "promo"])
def test_a_nul_byte_in_the_buy_form_is_refused(client, session, event, field):
    standard, _ = ticket_types(session, event)
    token = csrf_from(client, f"/events/{event.slug}")
    form = {"csrf_token": token, "name": "Ada Lovelace", "email": "ada@example.com"}
    form.update({f"qty-{standard.id}": "1", field: f"ab{NUL}cd"})
    response = client.post(f"/events/{event.slug}/checkout", data=form)
    assert response.status_code == 400
    assert "cannot contain" in response.text
    assert count(session, Order) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/events/{slug}?code=a%00b",
        "/events/{slug}?utm_source=news%00letter",
        "/events/{slug}?promo=x%00",
    ],
)
def test_a_nul_byte_in_the_query_is_refused(client, session, event, path):
    response = client.get(path.format(slug=event.slug))
    assert response.status_code == 400, response.text
    assert "cannot contain a NUL" in response.text
    assert count(session, PromoVisit) == 0


@pytest.mark.parametrize(
    "path", ["/events/brexit%00debate", "/t/abc%00", "/api/events/brexit%00debate", "/door/%00"]
)
def test_a_nul_byte_in_the_path_is_not_found(client, session, event, path):
    response = client.get(path)
    assert response.status_code == 404, response.text
    assert count(session, PromoVisit) == 0


def test_a_nul_byte_in_the_sign_in_email_is_refused(client):
    token = csrf_from(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"csrf_token": token, "email": f"a{NUL}@example.com", "password": "x"}
    )
    assert response.status_code == 400
    assert "cannot contain" in response.text


def test_a_nul_byte_in_a_multipart_text_field_is_refused_but_not_in_a_file(forms, session, event):
    response = forms.post(
        f"/admin/events/{event.id}/promo/links",
        {"label": f"Article{NUL}", "link_code": "article"},
        files={"ignored": ("x.bin", b"\x00\x01\x02", "application/octet-stream")},
    )
    assert response.status_code == 400
    assert count(session, PromoLink) == 0
    response = forms.post(
        f"/admin/events/{event.id}/promo/links",
        {"label": "Article", "link_code": "article"},
        files={"ignored": ("x.bin", b"\x00\x01\x02", "application/octet-stream")},
    )
    assert response.status_code == 303
    assert count(session, PromoLink) == 1


# Ids in paths and forms ---------------------------------------------------------------------


@pytest.mark.parametrize("event_id", ["2147483648", "99999999999999999999999", "1e3", "-1"])
def test_event_ids_out_of_range_are_not_found(admin, event_id):
    for path in (f"/admin/events/{event_id}", f"/admin/events/{event_id}/promo"):
        assert admin.get(path).status_code == 404, path


def test_the_largest_id_the_database_holds_is_simply_not_found(admin):
    assert admin.get("/admin/events/2147483647/promo").status_code == 404


def test_every_numeric_path_parameter_is_a_database_id(app):
    from starlette.convertors import IntegerConvertor
    from starlette.routing import Mount

    def walk(routes):  # type: ignore[no-untyped-def]
        for route in routes:
            yield route
            if isinstance(route, Mount):
                yield from walk(route.routes)

    ints = [
        route.path
        for route in walk(app.routes)
        for c in getattr(route, "param_convertors", {}).values()
        if isinstance(c, IntegerConvertor)
    ]
    assert ints == []


@pytest.mark.parametrize("path", ["/promo/codes", "/promo/links"])
def test_posting_promo_forms_for_an_unknown_event_is_not_found(forms, session, path):
    response = forms.post(f"/admin/events/999999{path}", {"code": "SAVE", "link_code": "x"})
    assert response.status_code == 404
    assert count(session, AccessCode) + count(session, PromoLink) == 0


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("organisation_id", "Choose an organisation from the list"),
        ("access_code_id", "Choose an access code from the list"),
    ],
)
def test_a_promo_link_naming_an_unknown_row_is_refused(forms, session, event, field, message):
    response = forms.post(
        f"/admin/events/{event.id}/promo/links",
        {"label": "Article", "link_code": "article", field: "999999"},
    )
    assert response.status_code == 400
    assert response.context["errors"][field] == message
    assert count(session, PromoLink) == 0


def test_a_promo_link_naming_another_events_rows_is_refused(forms, session, event):
    other = make_event(session, title="Who will house London?")
    org = make_organisation(session, other, name="Housing Today")
    response = forms.post(
        f"/admin/events/{event.id}/promo/links",
        {"label": "Article", "link_code": "article", "organisation_id": str(org.id)},
    )
    assert response.status_code == 400
    assert response.context["errors"]["organisation_id"] == "Choose an organisation from the list"
    assert count(session, PromoLink) == 0


def test_a_code_unlocking_an_unknown_ticket_type_is_refused(forms, session, event):
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes", {"code": "SECRET", "unlocks": "999999"}
    )
    assert response.status_code == 400
    assert response.context["errors"]["unlocks"] == "Choose one of this event's hidden ticket types"
    assert count(session, AccessCode) == 0


# Promo money ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["inf", "nan", "1e3", "12,50", "-1", "0x10", "²", "1_000"])
def test_a_discount_that_is_not_an_amount_of_money_is_refused(forms, session, event, typed):
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes", {"code": "SAVE", "discount_amount": typed}
    )
    assert response.status_code == 400
    assert response.context["errors"]["discount_amount"] == (
        "Discount must be an amount of money, like 7.50"
    )
    assert count(session, AccessCode) == 0


@pytest.mark.parametrize(("typed", "pence"), [("2.50", 250), ("£3", 300), ("1,000", 100000)])
def test_a_discount_in_pounds_is_kept_in_pence(forms, session, event, typed, pence):
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes", {"code": "SAVE", "discount_amount": typed}
    )
    assert response.status_code == 303
    assert session.exec(select(AccessCode)).one().discount_amount == pence


def test_a_discount_over_the_limit_is_refused(forms, session, event):
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes", {"code": "SAVE", "discount_amount": "10000.01"}
    )
    assert response.status_code == 400
    assert response.context["errors"]["discount_amount"] == "Discount must be £10,000 or less"


# The door API --------------------------------------------------------------------------------


@pytest.fixture
def door_api(client, staff, sale):  # type: ignore[no-untyped-def]
    from tests.conftest import sign_in

    sign_in(client, staff)
    return DoorClient(client, sale.event.slug)


@pytest.mark.parametrize("path", ["/checkins", "/checkins/bulk", "/checkins/undo"])
def test_json_nested_too_deep_is_refused(door_api, path):
    body = "[" * 100_000 + "]" * 100_000
    response = door_api.client.post(
        door_api.url(path),
        content=body,
        headers={"X-CSRF-Token": door_api.csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "nested" in response.json()["message"]


@pytest.mark.parametrize(
    "body", ['{"code": "a\\u0000b", "nonce": "n"}', '{"code": "\\ud800", "nonce": "n"}']
)
def test_json_strings_with_nul_or_half_a_character_are_refused(door_api, body):
    response = door_api.client.post(
        door_api.url("/checkins"),
        content=body,
        headers={"X-CSRF-Token": door_api.csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_since_outside_the_calendar_is_refused(door_api, since):
    response = door_api.get("/checkins", params={"since": since})
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith("since must be a time as ISO 8601")


def test_the_earliest_since_answers_every_change(door_api, session, sale):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    door_api.admit(ticket.code)
    for since in ("0001-01-01T00:00:00-12:00", "0001-01-01T00:00:00Z"):
        response = door_api.get("/checkins", params={"since": since})
        assert response.status_code == 200, response.text
        assert len(response.json()["changes"]) == 1


def test_json_over_the_size_cap_is_refused(door_api):
    body = '{"code": "' + "x" * (1024 * 1024) + '", "nonce": "n"}'
    response = door_api.client.post(
        door_api.url("/checkins"),
        content=body,
        headers={"X-CSRF-Token": door_api.csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Send at most 1024 kB of JSON"


def test_a_form_too_large_to_read_is_refused_where_the_csrf_check_is_skipped(client):
    body = b"a=" + b"x" * (13 * 1024 * 1024)
    response = client.post(
        "/stripe/webhook",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413  # refused before any form parser reads it
