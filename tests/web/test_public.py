import json
import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from booking.db import Database
from booking.models import EventStatus
from tests.factories import NOW, make_event, make_organisation, make_speaker, make_ticket_type


def _jsonld(html: str) -> dict:
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


WINTER = datetime(2036, 12, 4, 19, 0, tzinfo=UTC)  # a Thursday, GMT


@pytest.fixture
def debate(session):
    event = make_event(
        session, title="London and Brexit", more_speakers_tba=True, capacity=200, starts_at=WINTER
    )
    make_organisation(session, event, name="On London")
    make_speaker(session, event, position=0, name="Andrew Adonis", affiliation="Campaigner")
    make_speaker(session, event, position=1, name="Daniel Moylan", affiliation="Adviser")
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    make_ticket_type(session, event, name="Society members", price=700, visible=False, position=2)
    return event


def test_home_lists_upcoming_and_past(client, session):
    make_event(session, title="Coming up")
    make_event(session, title="Long ago", starts_at=NOW - timedelta(days=40))
    make_event(session, title="Secret draft", status=EventStatus.DRAFT)
    html = client.get("/").text
    assert "Coming up" in html and "Long ago" in html and "Secret draft" not in html
    assert html.index("Coming up") < html.index("Past events") < html.index("Long ago")


def test_event_page_shows_everything_a_reader_needs(client, debate):
    response = client.get(f"/events/{debate.slug}")
    assert response.status_code == 200
    html = response.text
    for text in [
        "London and Brexit",
        "Andrew Adonis",
        "Daniel Moylan",
        "and others to be announced",
        "Standard",
        "£10",
        "Concession",
        "£5",
        "On London",
        "Conway Hall",
        "WC1R 4RL",
        "Thursday 4 December 2036, 7pm to 8:30pm",
        "Doors open at 6:30pm",
        "Continue to payment",
        "Add to calendar",
    ]:
        assert text in html, text
    assert "Society members" not in html  # hidden ticket type
    assert html.index("Andrew Adonis") < html.index("Daniel Moylan")
    assert response.context["page"].offers[0].state == "on_sale"


def test_event_times_are_shown_in_london_time(client, session):
    summer = make_event(session, starts_at=datetime(2036, 6, 12, 18, 0, tzinfo=UTC))
    html = client.get(f"/events/{summer.slug}").text
    assert "Thursday 12 June 2036, 7pm to 8:30pm" in html
    assert "+01:00" in _jsonld(html)["startDate"]


def test_jsonld_is_a_schema_org_event(client, debate):
    data = _jsonld(client.get(f"/events/{debate.slug}").text)
    assert data["@type"] == "Event" and data["name"] == "London and Brexit"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", data["startDate"])
    assert data["location"]["@type"] == "Place"
    assert data["location"]["address"]["postalCode"] == "WC1R 4RL"
    assert [p["name"] for p in data["performer"]] == ["Andrew Adonis", "Daniel Moylan"]
    assert data["organizer"][0]["name"] == "On London"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    offer = data["offers"][0]
    assert offer["priceCurrency"] == "GBP" and offer["price"] == "10.00"
    assert offer["availability"] == "https://schema.org/InStock" and "validFrom" in offer


def test_social_and_canonical_tags(client, debate):
    html = client.get(f"/events/{debate.slug}").text
    assert f'<link rel="canonical" href="http://testserver/events/{debate.slug}">' in html
    assert 'property="og:title" content="London and Brexit"' in html
    assert 'name="twitter:card"' in html


def test_draft_is_404_and_unknown_is_404(client, session):
    draft = make_event(session, status=EventStatus.DRAFT)
    for path in (
        f"/events/{draft.slug}",
        "/events/nope",
        f"/events/{draft.slug}.ics",
        f"/api/events/{draft.slug}",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
    assert "Page not found" in client.get("/events/nope").text


def test_cancelled_event_says_so_and_sells_nothing(client, session):
    event = make_event(session, status=EventStatus.CANCELLED)
    make_ticket_type(session, event)
    html = client.get(f"/events/{event.slug}").text
    assert "This event has been cancelled" in html
    assert "Continue to payment" not in html
    assert _jsonld(html)["eventStatus"] == "https://schema.org/EventCancelled"


def test_ics_parses_with_the_right_start(client, debate):
    response = client.get(f"/events/{debate.slug}.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    vevent = next(iter(cal.walk("VEVENT")))
    assert vevent["SUMMARY"] == "London and Brexit"
    assert vevent.decoded("DTSTART") == debate.starts_at
    assert str(vevent.decoded("DTSTART").tzinfo) == "Europe/London"
    assert "Conway Hall" in vevent["LOCATION"]


def test_markdown_is_rendered_safely(client, session):
    event = make_event(
        session, description="**Bold** <script>alert(1)</script> [x](javascript:alert(1))"
    )
    html = client.get(f"/events/{event.slug}").text
    assert "<strong>Bold</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html


def test_titles_are_escaped(client, session):
    event = make_event(session, title='<img src=x onerror="alert(1)">')
    html = client.get(f"/events/{event.slug}").text
    assert "<img src=x onerror" not in html
    assert "\\u003cimg" in html  # inside JSON-LD too


def test_event_page_costs_a_fixed_number_of_queries(client, session, count_queries):
    small = make_event(session)
    make_ticket_type(session, small)
    make_speaker(session, small)
    big = make_event(session)
    for i in range(8):
        make_ticket_type(session, big, name=f"Type {i}")
        make_speaker(session, big, position=i)
        make_organisation(session, big, name=f"Org {i}")
    count_queries.reset()
    client.get(f"/events/{small.slug}")
    small_count = count_queries.count
    count_queries.reset()
    client.get(f"/events/{big.slug}")
    # The event, its ticket types, what is taken, the waiting list's queue, speakers and
    # organisations: never one per row. (The content version, for the page cache, is read
    # on the driver's own cursor, which the counter does not see.)
    assert count_queries.count == small_count <= 6


def test_api_lists_and_describes_events(client, debate):
    listing = client.get("/api/events").json()
    assert [e["slug"] for e in listing["upcoming"]] == [debate.slug]
    detail = client.get(f"/api/events/{debate.slug}").json()
    assert [s["name"] for s in detail["speakers"]] == ["Andrew Adonis", "Daniel Moylan"]
    standard = detail["ticket_types"][0]
    assert standard == {
        **standard,
        "name": "Standard",
        "price": 1000,
        "currency": "GBP",
        "remaining": 200,
        "state": "on_sale",
    }
    assert detail["more_speakers_to_be_announced"] is True


def test_healthz(client, app, monkeypatch):
    assert client.get("/healthz").json() == {"status": "ok"}
    unreachable = Database("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2")
    monkeypatch.setattr(app.state.services, "db", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_security_headers(client, debate):
    headers = client.get(f"/events/{debate.slug}").headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
