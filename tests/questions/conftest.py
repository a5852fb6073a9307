"""A debate that takes questions for the panel, a buyer and a signed-in organiser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from booking.models import Event, Order, TicketType
from tests.conftest import sign_in
from tests.factories import make_event, make_ticket_type
from tests.helpers import csrf_from

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def debate(session, clock) -> Event:  # type: ignore[no-untyped-def]
    event = make_event(
        session,
        starts_at=clock.now + timedelta(days=3),
        title="Who should run London's buses?",
        questions_on=True,
        questions_close_hours=2,
    )
    make_ticket_type(session, event, name="Free seat", price=0)
    return event


@pytest.fixture
def organiser_client(app, organiser) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        assert sign_in(c, organiser).status_code == 303
        yield c


def book_with_question(
    client,
    session,
    event,
    *,
    question="",
    consent=False,
    tickets=2,  # type: ignore[no-untyped-def]
    name="Ada Lovelace",
    email="ada@example.com",
    attendee="",
):
    """Book free tickets through the event page's form, with an optional question."""
    [tt] = session.exec(select(TicketType).where(TicketType.event_id == event.id)).all()
    form = {
        "csrf_token": csrf_from(client, f"/events/{event.slug}"),
        "name": name,
        "email": email,
        f"qty-{tt.id}": str(tickets),
        "question": question,
    }
    if attendee:
        form["attendee-1"] = attendee
    if consent:
        form["question_full_name"] = "yes"
    response = client.post(f"/events/{event.slug}/checkout", data=form)
    return response


def order_of(session, response) -> Order:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    token = response.headers["location"].rsplit("/", 1)[-1]
    return session.exec(select(Order).where(Order.token == token)).one()


def post_form(client, path, data):  # type: ignore[no-untyped-def]
    """POST to `path` with the CSRF token of the page at `path`."""
    return client.post(path, data={"csrf_token": csrf_from(client, path), **data})
