"""Every page of an event carries the same row of tabs, with the current one marked."""

import re

import pytest

from tests.factories import make_speaker

TABS = [
    "Overview",
    "Ticket types",
    "Speakers",
    "Promo links and codes",
    "Orders",
    "Dashboard",
    "Attendees",
    "Guest list",
    "Waiting list",
    "Messages",
    "Questions",
    "Check-ins",
    "Door",
]


def tabs_of(html: str) -> list[tuple[str, str, bool]]:
    nav = re.search(r'<nav class="event-tabs".*?</nav>', html, re.S)
    assert nav, "no tab row"
    return [
        (label, href, bool(current))
        for href, current, label in re.findall(
            r'<a class="event-tabs__link" href="([^"]+)"( aria-current="page")?>([^<]+)</a>',
            nav.group(0),
        )
    ]


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("", "Overview"),
        ("/ticket-types", "Ticket types"),
        ("/speakers", "Speakers"),
        ("/promo", "Promo links and codes"),
        ("/orders", "Orders"),
        ("/dashboard", "Dashboard"),
        ("/attendees", "Attendees"),
        ("/guests", "Guest list"),
        ("/messages", "Messages"),
        ("/questions", "Questions"),
        ("/checkins", "Check-ins"),
    ],
)
def test_each_event_page_has_the_tabs(admin, session, event, path, current):
    make_speaker(session, event, name="Sadiq Khan")
    response = admin.get(f"/admin/events/{event.id}{path}")
    assert response.status_code == 200
    tabs = tabs_of(response.text)
    assert [label for label, _, _ in tabs] == TABS
    assert [label for label, _, on in tabs if on] == [current]
    hrefs = dict((label, href) for label, href, _ in tabs)
    assert hrefs["Door"] == f"/door/{event.slug}"
    for label, href in hrefs.items():
        if label != "Door":
            assert admin.get(href).status_code == 200, label


def test_the_dashboard_links_to_the_promo_page_when_there_are_no_links(admin, event):
    html = admin.get(f"/admin/events/{event.id}/dashboard").text
    assert "This event has no promo links yet." in html
    assert f'<a href="/admin/events/{event.id}/promo">Make a promo link</a>' in html


def test_back_links_return_to_the_event(admin, event):
    for path in ("/promo", "/dashboard", "/orders", "/speakers", "/ticket-types"):
        html = admin.get(f"/admin/events/{event.id}{path}").text
        back = re.search(r'<a class="back-link" href="([^"]+)"', html)
        assert back and back.group(1) == f"/admin/events/{event.id}", path
