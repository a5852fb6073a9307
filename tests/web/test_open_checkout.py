"""The buy form on a page any cache may keep: it posts without a cookie, with a token that
needs none, and only from this site's own pages."""

from __future__ import annotations

import re
import time

import pytest
from sqlmodel import select

from booking.models import Order, PromoLink
from booking.web.security import OPEN_FORM_HOURS, open_form_token
from tests.helpers import csrf_from, session_id_of, ticket_types

SAME_SITE = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}


def _form(client, event, session):  # type: ignore[no-untyped-def]
    page = client.get(f"/events/{event.slug}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    standard, _ = ticket_types(session, event)
    return {
        "csrf_token": token.group(1),
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        f"qty-{standard.id}": "2",
    }


def test_a_reader_without_any_cookie_can_buy(client, session, event, standin):
    form = _form(client, event, session)
    assert not client.cookies  # the page set none
    response = client.post(f"/events/{event.slug}/checkout", data=form, headers=SAME_SITE)
    assert response.status_code == 303
    assert response.headers["location"].startswith(standin.base_url)
    order = session.exec(select(Order)).one()
    assert order.stripe_session_id == session_id_of(response) and order.buyer_name == "Ada Lovelace"


def test_the_form_works_from_a_browser_that_sends_no_origin(client, session, event, standin):
    form = _form(client, event, session)
    response = client.post(f"/events/{event.slug}/checkout", data=form)
    assert response.status_code == 303


def test_a_reader_with_a_session_still_buys_with_its_token(client, session, event, standin):
    token = csrf_from(client, "/sign-in")  # the sign-in form makes a session and its token
    form = {**_form(client, event, session), "csrf_token": token}
    response = client.post(f"/events/{event.slug}/checkout", data=form, headers=SAME_SITE)
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Origin": "https://evil.example"}, "another site"),
        ({"Origin": "null"}, "another site"),
        ({"Sec-Fetch-Site": "cross-site"}, "another site"),
        ({"Sec-Fetch-Site": "same-site"}, "another site"),
        ({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, "another site"),
    ],
)
def test_a_post_from_another_site_is_refused_and_writes_nothing(
    client, session, event, standin, headers, why
):
    form = _form(client, event, session)
    response = client.post(f"/events/{event.slug}/checkout", data=form, headers=headers)
    assert response.status_code == 403
    assert why in response.text and "nothing was booked" in response.text
    assert session.exec(select(Order)).all() == []


def _other_token(client, session, event):  # type: ignore[no-untyped-def]
    from tests.factories import make_event

    other = make_event(session)
    return open_form_token(client.app.state.services.form_key, f"/events/{other.slug}/checkout")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "123.abc",
        "other event",
        "too old",
        "wrong key",
    ],
)
def test_a_post_with_a_bad_token_is_refused_and_writes_nothing(
    client, session, event, standin, token
):
    form = _form(client, event, session)
    action = f"/events/{event.slug}/checkout"
    key = client.app.state.services.form_key
    if token == "other event":
        token = _other_token(client, session, event)
    elif token == "too old":
        token = open_form_token(key, action, now=time.time() - OPEN_FORM_HOURS * 3600)
    elif token == "wrong key":
        token = open_form_token(b"x" * 32, action)
    form["csrf_token"] = token
    response = client.post(action, data=form, headers=SAME_SITE)
    assert response.status_code == 403 and "expired" in response.text
    assert session.exec(select(Order)).all() == []


def test_a_token_from_a_few_hours_ago_still_works(client, session, event, standin):
    form = _form(client, event, session)
    action = f"/events/{event.slug}/checkout"
    key = client.app.state.services.form_key
    form["csrf_token"] = open_form_token(key, action, now=time.time() - 3 * 3600)
    assert client.post(action, data=form, headers=SAME_SITE).status_code == 303


def test_other_forms_still_need_the_sessions_token(client, session, event):
    token = open_form_token(client.app.state.services.form_key, "/sign-in")
    response = client.post(
        "/sign-in",
        data={"csrf_token": token, "email": "a@example.com", "password": "x"},
        headers=SAME_SITE,
    )
    assert response.status_code == 403


def test_a_promo_link_is_still_credited(client, session, event, standin):
    link = PromoLink(event_id=event.id, code="article", label="The article")
    session.add(link)
    session.commit()
    first = client.get(f"/events/{event.slug}")
    assert "set-cookie" not in first.headers
    landing = client.get("/t/article")
    assert landing.status_code == 303
    form = _form(client, event, session)
    response = client.post(f"/events/{event.slug}/checkout", data=form, headers=SAME_SITE)
    assert response.status_code == 303
    order = session.exec(select(Order)).one()
    assert order.promo_link_id == link.id and order.source == "link:article"
