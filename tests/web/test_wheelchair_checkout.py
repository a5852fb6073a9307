"""The buy form and wheelchair spaces: the page says what a space includes, and a space
that does not fit is refused with the reason, before and under the lock."""

from __future__ import annotations

from sqlmodel import select

from booking.models import AccessPlace, Order, Ticket
from tests.factories import make_event, make_ticket_type
from tests.helpers import buy


def _room(session, capacity):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=capacity, contact_email="access@example.org")
    seat = make_ticket_type(session, event, name="Standard")
    chair = make_ticket_type(
        session,
        event,
        name="Wheelchair space",
        capacity=2,
        access_place=AccessPlace.WHEELCHAIR,
        companion_free=True,
    )
    make_ticket_type(
        session,
        event,
        name="Companion seat",
        price=0,
        visible=False,
        access_place=AccessPlace.COMPANION,
    )
    return event, seat, chair


def test_a_space_needs_its_companions_seat_too(client, session):
    event, seat, chair = _room(session, capacity=3)
    page = client.get(f"/events/{event.slug}")
    assert "A wheelchair space, with a free seat beside it for a companion" in page.text
    assert "Companion seat" not in page.text  # never sold on its own
    assert buy(client, event, {seat.id: 2}).status_code == 303
    refused = buy(client, event, {chair.id: 1})
    assert refused.status_code == 409
    assert "Only 1 seat is left, and each wheelchair space needs a second seat" in refused.text
    assert len(session.exec(select(Order)).all()) == 1


def test_no_spaces_left_says_whom_to_ask(client, session):
    event, _, chair = _room(session, capacity=50)
    assert buy(client, event, {chair.id: 2}).status_code == 303
    tickets = session.exec(select(Ticket)).all()
    assert len(tickets) == 4  # two spaces, two companions
    page = client.get(f"/events/{event.slug}")
    assert "No wheelchair spaces left." in page.text
    assert 'href="mailto:access@example.org"' in page.text
    refused = buy(client, event, {chair.id: 1})
    assert refused.status_code == 409 and "No wheelchair spaces are left" in refused.text
