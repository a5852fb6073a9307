"""The top of the event page: the price range and what is left, from the domain's summary."""

from __future__ import annotations

import re

from booking.domain import catalogue
from booking.models import utcnow
from tests.factories import make_event, make_speaker, make_ticket_type


def _summary(html: str) -> str:
    found = re.search(r'<div class="ticket-summary">(.*?)</div>', html, re.S)
    assert found, "no ticket summary"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_price_range_and_get_tickets(client, session):
    event = make_event(session)
    make_ticket_type(session, event, price=1000)
    make_ticket_type(session, event, name="Concession", price=500)
    html = client.get(f"/events/{event.slug}").text
    assert _summary(html) == "£5 to £10 Get tickets"
    assert '<a class="button ticket-summary__button" href="#tickets">Get tickets</a>' in html


def test_few_left_sold_out_and_free(client, session):
    event = make_event(session, capacity=3)
    make_ticket_type(session, event, price=0)
    assert _summary(client.get(f"/events/{event.slug}").text) == "Free Only 3 left Get tickets"
    event.capacity = 0
    session.add(event)
    session.commit()
    # Sold out, the page offers the waiting list in the summary's place of "Get tickets".
    assert _summary(client.get(f"/events/{event.slug}").text) == (
        "Free Sold out, waiting list open Join the waiting list"
    )


def test_not_yet_on_sale_says_so(client, session):
    event = make_event(session)
    make_ticket_type(session, event, sales_start=event.starts_at.replace(year=2099))
    # a start in the future of the event is still "not yet on sale" to the reader
    assert "Not on sale yet" in _summary(client.get(f"/events/{event.slug}").text)


def test_summary_counts_seats_across_types_and_the_room(session):
    event = make_event(session, capacity=5)
    make_ticket_type(session, event, capacity=2)
    make_ticket_type(session, event, name="B", capacity=10)
    page = catalogue.event_page(session, slug=event.slug, now=utcnow())
    summary = catalogue.ticket_summary(page.offers, availability=page.availability)
    assert (summary.low, summary.high, summary.left) == (1000, 1000, 5)
    assert summary.state == catalogue.SaleState.FEW_LEFT


def test_the_chair_badge_stands_apart_from_the_name(client, session):
    event = make_event(session)
    make_speaker(session, event, name="Anne Chair", role="chair")
    html = client.get(f"/events/{event.slug}").text
    assert 'Anne Chair <span class="tag">Chair</span>' in html
