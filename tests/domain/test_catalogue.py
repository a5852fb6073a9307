from datetime import timedelta

import pytest

from booking.domain import catalogue
from booking.domain.catalogue import SaleState
from booking.domain.errors import NotFound
from booking.models import EventStatus
from tests.factories import NOW, make_event, make_speaker, make_ticket_type


def test_listing_puts_upcoming_soonest_first_and_past_apart(session):
    later = make_event(session, starts_at=NOW + timedelta(days=20))
    sooner = make_event(session, starts_at=NOW + timedelta(days=2))
    past = make_event(session, starts_at=NOW - timedelta(days=2))
    make_event(session, status=EventStatus.DRAFT)
    upcoming, previous = catalogue.upcoming_and_past(session, now=NOW)
    assert [e.id for e in upcoming] == [sooner.id, later.id]
    assert [e.id for e in previous] == [past.id]


def test_draft_is_not_found_unless_previewed(session):
    draft = make_event(session, status=EventStatus.DRAFT)
    with pytest.raises(NotFound):
        catalogue.event_page(session, slug=draft.slug, now=NOW)
    page = catalogue.event_page(session, slug=draft.slug, now=NOW, include_drafts=True)
    assert page.event.id == draft.id


def test_speakers_come_in_their_order_and_hidden_ones_stay_hidden(session):
    event = make_event(session)
    second = make_speaker(session, event, position=2, name="Second")
    first = make_speaker(session, event, position=1, name="First")
    make_speaker(session, event, position=0, name="Hidden", visibility="hidden")
    page = catalogue.event_page(session, slug=event.slug, now=NOW)
    assert [item.speaker.id for item in page.speakers] == [first.id, second.id]


@pytest.mark.parametrize(
    ("overrides", "state"),
    [
        ({}, SaleState.ON_SALE),
        ({"capacity": 5}, SaleState.FEW_LEFT),
        ({"capacity": 0}, SaleState.SOLD_OUT),
        ({"sales_start": NOW + timedelta(days=1)}, SaleState.NOT_YET),
        ({"sales_end": NOW - timedelta(minutes=1)}, SaleState.ENDED),
    ],
)
def test_sale_states(session, overrides, state):
    event = make_event(session, capacity=None)
    make_ticket_type(session, event, **overrides)
    page = catalogue.event_page(session, slug=event.slug, now=NOW)
    assert page.offers[0].state == state


def test_a_cancelled_event_sells_nothing(session):
    event = make_event(session, status=EventStatus.CANCELLED)
    make_ticket_type(session, event)
    page = catalogue.event_page(session, slug=event.slug, now=NOW)
    assert page.is_cancelled
    assert page.offers[0].state == SaleState.UNAVAILABLE


def test_room_capacity_caps_every_type(session):
    event = make_event(session, capacity=3)
    make_ticket_type(session, event, capacity=100)
    page = catalogue.event_page(session, slug=event.slug, now=NOW)
    assert page.offers[0].remaining == 3
    assert page.offers[0].max_quantity == 3
