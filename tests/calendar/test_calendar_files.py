"""Every calendar file booking writes, read by two parsers that did not write it: vobject
(Python) and Mozilla's ical.js (under node). Each must find the event at the right instant,
in winter, in summer and across a clock change; the Google and Outlook links must agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import vobject
from sqlmodel import select

from booking import ics
from booking.models import Order
from tests.factories import make_event, make_ticket_type
from tests.helpers import buy
from tests.mail.flows import deliver, sender

ROOT = Path(__file__).resolve().parents[2]
READER = Path(__file__).with_name("read_ics.mjs")
LONDON = ZoneInfo("Europe/London")

# (name, start, end) in UTC: 7pm GMT; 7pm BST; and two nights that cross a clock change.
CASES = [
    (
        "winter",
        datetime(2026, 12, 30, 19, 0, tzinfo=UTC),
        datetime(2026, 12, 30, 21, 0, tzinfo=UTC),
    ),
    ("summer", datetime(2027, 7, 15, 18, 0, tzinfo=UTC), datetime(2027, 7, 15, 19, 30, tzinfo=UTC)),
    # 00:30 GMT to 03:00 BST on the night the clocks go forward.
    ("spring", datetime(2027, 3, 28, 0, 30, tzinfo=UTC), datetime(2027, 3, 28, 2, 0, tzinfo=UTC)),
    # 23:30 BST to 02:00 GMT on the night the clocks go back.
    (
        "autumn",
        datetime(2027, 10, 30, 22, 30, tzinfo=UTC),
        datetime(2027, 10, 31, 2, 0, tzinfo=UTC),
    ),
]


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "ical.js").is_dir():
        pytest.skip("node and ical.js are needed (npm ci installs ical.js)")
    return node


def read_with_icaljs(body: bytes) -> list[tuple[datetime, datetime]]:
    out = subprocess.run(
        [_node(), str(READER)], input=body, capture_output=True, check=True, cwd=ROOT, timeout=60
    )
    return [
        (datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
        for e in json.loads(out.stdout)
    ]


def read_with_vobject(body: bytes) -> list[tuple[datetime, datetime]]:
    calendar = vobject.readOne(body.decode("utf-8"))
    return [
        (e.dtstart.value.astimezone(UTC), e.dtend.value.astimezone(UTC))
        for e in calendar.vevent_list
    ]


def assert_read_right(body: bytes, start: datetime, end: datetime) -> None:
    assert read_with_vobject(body) == [(start, end)]
    assert read_with_icaljs(body) == [(start, end)]


def _free_event(session, start, end):  # type: ignore[no-untyped-def]
    event = make_event(session, starts_at=start, ends_at=end, doors_at=None, capacity=None)
    make_ticket_type(session, event, name="Free", price=0)
    return event


@pytest.mark.parametrize(("name", "start", "end"), CASES, ids=[c[0] for c in CASES])
def test_every_calendar_file_gives_the_right_instant(
    client, session, smtp, settings, db, clock, name, start, end
):
    event = _free_event(session, start, end)
    assert_read_right(client.get(f"/events/{event.slug}.ics").content, start, end)

    free = event_type_id(session, event)
    response = buy(client, event, {free: 1})
    assert response.status_code == 303, response.text
    order = session.exec(select(Order).where(Order.event_id == event.id)).one()
    assert_read_right(client.get(f"/orders/{order.token}/calendar.ics").content, start, end)

    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 1
    [message] = smtp.messages
    [attachment] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert_read_right(attachment.get_payload(decode=True), start, end)


def event_type_id(session, event) -> int:  # type: ignore[no-untyped-def]
    from booking.models import TicketType

    return session.exec(select(TicketType.id).where(TicketType.event_id == event.id)).one()


@pytest.mark.parametrize(("name", "start", "end"), CASES, ids=[c[0] for c in CASES])
def test_the_time_zone_has_yearly_rules_not_a_list_of_dates(name, start, end):
    body = _calendar(start, end, LONDON).decode()
    assert "RDATE" not in body
    assert body.count("BEGIN:STANDARD") == 1 and body.count("BEGIN:DAYLIGHT") == 1
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in body
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in body
    local = start.astimezone(LONDON)
    assert f"DTSTART;TZID=Europe/London:{local:%Y%m%dT%H%M%S}" in body


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Australia/Sydney", "Europe/Berlin", "Asia/Tokyo", "UTC"]
)
def test_other_zones_read_right_too(zone):
    for _, start, end in CASES:
        assert_read_right(_calendar(start, end, ZoneInfo(zone)), start, end)


def test_a_zone_without_clock_changes_is_written_in_utc():
    body = _calendar(CASES[0][1], CASES[0][2], ZoneInfo("Asia/Tokyo")).decode()
    assert "VTIMEZONE" not in body and "DTSTART:20261230T190000Z" in body


def _calendar(start: datetime, end: datetime, zone: ZoneInfo) -> bytes:
    from booking.models import Event

    event = Event(id=1, title="T", slug="t", starts_at=start, ends_at=end, updated_at=start)
    return ics.event_calendar(
        event, venue=None, url="https://x.example/", zone=zone, uid_domain="x"
    )


@pytest.mark.parametrize(("name", "start", "end"), CASES, ids=[c[0] for c in CASES])
def test_google_and_outlook_links_carry_the_same_instant(name, start, end):
    from booking.models import Event

    event = Event(id=1, title="T", slug="t", starts_at=start, ends_at=end, updated_at=start)
    google = parse_qs(urlsplit(ics.google_calendar_link(event, venue=None, details="")).query)
    outlook = parse_qs(urlsplit(ics.outlook_calendar_link(event, venue=None, details="")).query)
    g_start, g_end = (
        datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        for v in google["dates"][0].split("/")
    )
    o_start = datetime.fromisoformat(outlook["startdt"][0])
    o_end = datetime.fromisoformat(outlook["enddt"][0])
    assert (g_start, g_end) == (o_start, o_end) == (start, end)
