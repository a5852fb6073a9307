"""Promo links and access codes after they are made: edit, switch off (a leaked code stops
working at once), delete while unused, with a notice after each action."""

import pytest
from sqlmodel import select

from booking.domain import access_codes, promo
from booking.models import AccessCode, AuditEntry, Order, PromoLink, PromoVisit, utcnow
from tests.admin.conftest import fresh
from tests.factories import make_ticket_type
from tests.helpers import csrf_from


@pytest.fixture
def members(db, session, event):  # type: ignore[no-untyped-def]
    hidden = make_ticket_type(
        session, event, name="London Society members", price=700, visible=False, position=2
    )
    with db.write_session() as s:
        code = access_codes.create(
            s, event_id=event.id, code="LONSOC", unlocks_ticket_type_id=hidden.id
        )
    return hidden, code


@pytest.fixture
def link(db, event):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return promo.create_link(
            s, event_id=event.id, label="Islington article", organisation_id=None, now=utcnow()
        )


def buy_with(client, event, quantities, code):  # type: ignore[no-untyped-def]
    token = csrf_from(client, f"/events/{event.slug}?code={code}")
    form = {"csrf_token": token, "name": "Ada", "email": "ada@example.com", "code": code}
    form.update({f"qty-{k}": str(v) for k, v in quantities.items()})
    return client.post(f"/events/{event.slug}/checkout", data=form)


def notice(forms, response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303
    return forms.client.get(response.headers["location"]).context["flash"]


def test_switching_a_leaked_code_off_stops_it_at_once(forms, client, session, event, members):
    hidden, code = members
    # A reader has the page open with the code applied...
    page = client.get(f"/events/{event.slug}?code=LONSOC")
    assert "London Society members" in page.text
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes/{code.id}/active", {"active": "no"}
    )
    assert "LONSOC is switched off" in notice(forms, response)
    assert not fresh(session, AccessCode, code.id).active
    # ...and their order is refused with a message, as is anyone typing it afresh.
    refused = buy_with(client, event, {hidden.id: 1}, code="LONSOC")
    assert refused.status_code == 400
    assert "The code LONSOC is no longer valid for this event" in refused.text
    assert session.exec(select(Order)).all() == []
    again = client.get(f"/events/{event.slug}?code=lonsoc")
    assert "no longer valid" in again.text and "London Society members" not in again.text
    # Switched back on, it works again.
    forms.post(f"/admin/events/{event.id}/promo/codes/{code.id}/active", {"active": "yes"})
    assert buy_with(client, event, {hidden.id: 1}, code="LONSOC").status_code == 303
    actions = [a.action for a in session.exec(select(AuditEntry))]
    assert actions.count("access_code.switched_off") == 1
    assert actions.count("access_code.switched_on") == 1


def test_edit_a_code(forms, session, event, members):
    _, code = members
    form = forms.client.get(f"/admin/events/{event.id}/promo/codes/{code.id}")
    assert form.status_code == 200
    response = forms.post(
        f"/admin/events/{event.id}/promo/codes/{code.id}",
        {"code_label": "Members 2026", "unlocks": "", "discount_percent": "20", "max_uses": "5"},
    )
    assert "LONSOC is saved" in notice(forms, response)
    saved = fresh(session, AccessCode, code.id)
    assert (saved.label, saved.unlocks_ticket_type_id, saved.discount_percent, saved.max_uses) == (
        "Members 2026",
        None,
        20,
        5,
    )
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "access_code.updated")).one()
    assert entry.data["discount_percent"] == {"before": 0, "after": 20}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"discount_amount": "2.00", "discount_percent": "10"},
            "discount_percent",
            "Enter an amount off or a percentage off, not both",
        ),
        ({"unlocks": "VISIBLE"}, "unlocks", "Choose one of this event's hidden ticket types"),
    ],
)
def test_a_code_that_would_confuse_is_refused(forms, session, event, fields, field, message):
    standard = make_ticket_type(session, event, name="Open", position=7)
    data = {"code": "BOTH", "code_label": "", "unlocks": "", "max_uses": "", **fields}
    if data["unlocks"] == "VISIBLE":
        data["unlocks"] = str(standard.id)
    response = forms.post(f"/admin/events/{event.id}/promo/codes", data)
    assert response.status_code == 400
    assert response.context["errors"][field].startswith(message)
    assert 'value="BOTH"' in response.text
    assert session.exec(select(AccessCode)).all() == []


def test_unlocks_offers_hidden_ticket_types_only(forms, event, members):
    page = forms.client.get(f"/admin/events/{event.id}/promo")
    assert [t.name for t in page.context["hidden_types"]] == ["London Society members"]
    select_html = page.text.split('id="unlocks"', 1)[1].split("</select>", 1)[0]
    assert "London Society members" in select_html and "Standard" not in select_html


def test_delete_an_unused_code_but_not_a_used_one(forms, client, session, event, members):
    hidden, code = members
    with forms.client.app.state.services.db.write_session() as s:
        other = access_codes.create(s, event_id=event.id, code="SPARE", discount_percent=5)
    response = forms.post(f"/admin/events/{event.id}/promo/codes/{other.id}/delete")
    assert "SPARE is deleted" in notice(forms, response)
    assert fresh_missing(session, other.id)
    buy_with(client, event, {hidden.id: 1}, code="LONSOC")
    response = forms.post(f"/admin/events/{event.id}/promo/codes/{code.id}/delete")
    assert "cannot be deleted. Switch it off instead" in notice(forms, response)
    assert fresh(session, AccessCode, code.id).active


def fresh_missing(session, code_id) -> bool:  # type: ignore[no-untyped-def]
    return session.exec(select(AccessCode).where(AccessCode.id == code_id)).first() is None


def test_edit_switch_off_and_delete_a_link(forms, client, session, event, link):
    response = forms.post(
        f"/admin/events/{event.id}/promo/links/{link.id}",
        {"label": "Islington CLP article", "organisation_id": "", "access_code_id": ""},
    )
    assert f"/t/{link.code} is saved" in notice(forms, response)
    assert fresh(session, PromoLink, link.id).label == "Islington CLP article"
    response = forms.post(
        f"/admin/events/{event.id}/promo/links/{link.id}/active", {"active": "no"}
    )
    assert "switched off" in notice(forms, response)
    assert client.get(f"/t/{link.code}").headers["location"] == "/?notice=unknown-link"
    response = forms.post(f"/admin/events/{event.id}/promo/links/{link.id}/delete")
    assert "is deleted" in notice(forms, response)
    assert session.exec(select(PromoLink)).all() == []


def test_a_followed_link_cannot_be_deleted(forms, client, session, event, link):
    client.headers["User-Agent"] = "Mozilla/5.0 (iPhone) Safari/604.1"
    client.get(f"/t/{link.code}")
    assert session.exec(select(PromoVisit)).all()
    response = forms.post(f"/admin/events/{event.id}/promo/links/{link.id}/delete")
    assert "cannot be deleted" in notice(forms, response)
    assert fresh(session, PromoLink, link.id)


def test_a_label_is_needed(forms, event, link):
    response = forms.post(
        f"/admin/events/{event.id}/promo/links/{link.id}",
        {"label": "  ", "organisation_id": "", "access_code_id": ""},
    )
    assert response.status_code == 400
    assert response.context["errors"]["label"].startswith("Enter a label")
