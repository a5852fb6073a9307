"""Wheelchair spaces and their free companion seats: one check covers the room, the spaces
and the companion seats, under the event's lock."""

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain import catalogue, guest_list, inventory, orders
from booking.domain.errors import InvalidInput, SoldOut
from booking.models import AccessPlace, Order, OrderLine, Ticket
from tests.factories import NOW, make_event, make_ticket_type

HOLD = timedelta(minutes=30)
BUYER = orders.Buyer("Ada Lovelace", "ada@example.com")


def _reserve(db, event, quantities):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return orders.reserve(
            s, event_id=event.id, quantities=quantities, buyer=BUYER, now=NOW, hold=HOLD
        )


def _room(session, *, capacity, spaces=2, companion_capacity=None):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=capacity)
    seat = make_ticket_type(session, event, name="Standard", price=800)
    chair = make_ticket_type(
        session,
        event,
        name="Wheelchair space",
        price=800,
        capacity=spaces,
        access_place=AccessPlace.WHEELCHAIR,
        companion_free=True,
    )
    companion = make_ticket_type(
        session,
        event,
        name="Companion seat",
        price=0,
        visible=False,
        capacity=companion_capacity,
        access_place=AccessPlace.COMPANION,
    )
    return event, seat, chair, companion


def _tickets(session, order):  # type: ignore[no-untyped-def]
    return session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()


def test_a_wheelchair_space_brings_a_free_companion_ticket(db, session):
    event, _, chair, companion = _room(session, capacity=10)
    order = _reserve(db, event, {chair.id: 1})
    made = _tickets(session, order)
    assert sorted((t.ticket_type_id, t.price, t.attendee_name) for t in made) == sorted(
        [(chair.id, 800, "Ada Lovelace"), (companion.id, 0, "Companion of Ada Lovelace")]
    )
    assert order.total == 800
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert {(line.ticket_type_id, line.quantity, line.unit_price) for line in lines} == {
        (chair.id, 1, 800),
        (companion.id, 1, 0),
    }


def test_the_spaces_cannot_be_oversold(db, session):
    event, _, chair, _ = _room(session, capacity=100, spaces=3)
    _reserve(db, event, {chair.id: 2})
    with pytest.raises(SoldOut, match="^Only 1 wheelchair space is left$"):
        _reserve(db, event, {chair.id: 2})
    _reserve(db, event, {chair.id: 1})
    with pytest.raises(SoldOut) as refused:
        _reserve(db, event, {chair.id: 1})
    assert refused.value.message == "No wheelchair spaces are left"
    assert refused.value.field == f"qty-{chair.id}"


def test_no_space_is_sold_when_the_room_has_one_seat_left(db, session):
    event, seat, chair, _ = _room(session, capacity=3)
    _reserve(db, event, {seat.id: 2})
    with pytest.raises(SoldOut) as refused:
        _reserve(db, event, {chair.id: 1})
    assert "companion" in refused.value.message
    assert refused.value.field == f"qty-{chair.id}"
    # The last seat still sells as an ordinary seat.
    _reserve(db, event, {seat.id: 1})
    assert len(session.exec(select(Ticket)).all()) == 3


def test_the_companion_seats_own_limit_holds(db, session):
    event, _, chair, _ = _room(session, capacity=50, spaces=4, companion_capacity=1)
    _reserve(db, event, {chair.id: 1})
    with pytest.raises(SoldOut, match="No companion seat is left"):
        _reserve(db, event, {chair.id: 1})


def test_a_space_without_a_companion_type_is_not_sold(db, session):
    event = make_event(session, capacity=10)
    chair = make_ticket_type(
        session, event, capacity=2, access_place=AccessPlace.WHEELCHAIR, companion_free=True
    )
    with pytest.raises(SoldOut, match="No companion seats are set up"):
        _reserve(db, event, {chair.id: 1})
    assert session.exec(select(Order)).all() == []


def test_a_space_without_a_companion_takes_one_seat(db, session):
    event = make_event(session, capacity=1)
    chair = make_ticket_type(session, event, capacity=2, access_place=AccessPlace.WHEELCHAIR)
    order = _reserve(db, event, {chair.id: 1})
    assert len(_tickets(session, order)) == 1


def test_companion_seats_cannot_be_bought_on_their_own(db, session):
    event, _, _, companion = _room(session, capacity=10)
    with pytest.raises(InvalidInput):
        _reserve(db, event, {companion.id: 1})


def test_the_event_page_counts_what_a_space_needs(db, session):
    event, seat, chair, _ = _room(session, capacity=5, spaces=4)
    _reserve(db, event, {seat.id: 2})
    page = catalogue.event_page(session, slug=event.slug, now=NOW)
    by_id = {o.ticket_type.id: o for o in page.offers}
    assert by_id[seat.id].remaining == 3
    assert by_id[chair.id].remaining == 1  # three seats left: one space and its companion
    assert [o.ticket_type.id for o in page.offers] == [seat.id, chair.id]  # companion hidden
    assert catalogue.shortfall(page, page.offers, {chair.id: 2}) == {
        f"qty-{chair.id}": "Only 3 seats are left, and each wheelchair space needs a second "
        "seat for its companion"
    }


def test_places_adds_one_companion_per_space(session):
    event, seat, chair, companion = _room(session, capacity=None)
    types = {t.id: t for t in (seat, chair, companion)}
    assert inventory.places(types, {seat.id: 2, chair.id: 3}) == {
        seat.id: 2,
        chair.id: 3,
        companion.id: 3,
    }


def _comp(db, event, tt, actor):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return guest_list.issue(
            s,
            event_id=event.id,
            guest=guest_list.Guest("Sam Guest", "sam@example.com", tt.id, 1),
            actor=actor,
            now=NOW,
            code_key=b"k" * 32,
        )


def test_a_guest_list_space_brings_its_companion_and_fits_the_room(db, session, organiser):
    event, seat, chair, companion = _room(session, capacity=4)
    order = _comp(db, event, chair, organiser)
    assert sorted((t.ticket_type_id, t.attendee_name) for t in _tickets(session, order)) == sorted(
        [(chair.id, "Sam Guest"), (companion.id, "Companion of Sam Guest")]
    )
    _reserve(db, event, {seat.id: 1})  # one seat left: not the pair a space needs
    with pytest.raises(InvalidInput) as refused:
        _comp(db, event, chair, organiser)
    assert "companion" in refused.value.errors["quantity"]
