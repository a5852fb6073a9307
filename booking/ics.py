"""RFC 5545 calendar files for events and orders (icalendar), and add-to-calendar links.

Times carry the local zone's TZID with a VTIMEZONE in the form calendar programs expect: one
STANDARD and one DAYLIGHT component, each with a yearly RRULE (icalendar's own VTIMEZONE lists
every changeover as RDATEs, which vobject and ical.js misread). A zone whose changes follow no
such rule gets its times in UTC instead.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import icalendar

from booking.domain.venues import address
from booking.models import Event, EventStatus, Order, Venue

PRODID = "-//booking//event tickets//EN"
UTC = ZoneInfo("UTC")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One yearly clock change: the nth (or last, -1) weekday of a month at a wall time."""

    month: int
    week: int
    weekday: int
    wall: timedelta  # after local midnight, in the time before the change
    before: timedelta
    after: timedelta
    name: str

    def on(self, year: int) -> date:
        days = [
            d
            for d in calendar.Calendar().itermonthdates(year, self.month)
            if d.month == self.month and d.weekday() == self.weekday
        ]
        return days[self.week - 1] if self.week > 0 else days[-1]

    def at(self, year: int) -> datetime:
        """The instant of the change in `year`, in UTC."""
        local = datetime.combine(self.on(year), datetime.min.time()) + self.wall
        return (local - self.before).replace(tzinfo=UTC)


def _changes_in(zone: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta, str]]:
    """(instant, offset before, offset after, name after) for each change in `year`."""
    found = []
    start = datetime(year, 1, 1, tzinfo=UTC)
    previous = start.astimezone(zone).utcoffset()
    for day in range(1, 367):
        moment = start + timedelta(days=day)
        offset = moment.astimezone(zone).utcoffset()
        if offset == previous:
            continue
        step = moment - timedelta(days=1)
        while step.astimezone(zone).utcoffset() == previous:
            step += timedelta(minutes=15)
        after = step.astimezone(zone)
        assert previous is not None and offset is not None
        found.append((step, previous, offset, after.tzname() or ""))
        previous = offset
    return [c for c in found if c[0].year == year]


def _rule(instant: datetime, before: timedelta, after: timedelta, name: str) -> Change:
    wall_clock = (instant + before).replace(tzinfo=None)
    day = wall_clock.date()
    last = day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return Change(
        month=day.month,
        week=-1 if last else (day.day - 1) // 7 + 1,
        weekday=day.weekday(),
        wall=wall_clock - datetime.combine(day, datetime.min.time()),
        before=before,
        after=after,
        name=name,
    )


def yearly_changes(zone: ZoneInfo, year: int) -> list[Change] | None:
    """The zone's two yearly changes as rules that hold for `year` and the years either side,
    or None (no clock changes, or changes no yearly weekday rule describes)."""
    changes = _changes_in(zone, year)
    if len(changes) != 2:
        return None
    rules = [_rule(*c) for c in changes]
    for other in (year - 1, year + 1):
        if [c[0] for c in _changes_in(zone, other)] != [r.at(other) for r in rules]:
            return None
    return rules


def vtimezone(zone: ZoneInfo, rules: list[Change]) -> icalendar.Timezone:
    """A VTIMEZONE with one STANDARD and one DAYLIGHT component, each with a yearly RRULE."""
    tz = icalendar.Timezone()
    tz.add("tzid", zone.key)
    for rule in sorted(rules, key=lambda r: r.after):
        part = (
            icalendar.TimezoneDaylight()
            if rule.after > rule.before
            else (icalendar.TimezoneStandard())
        )
        first = datetime.combine(rule.on(1970), datetime.min.time()) + rule.wall
        part.add("dtstart", first)
        part.add(
            "rrule",
            {
                "freq": "yearly",
                "bymonth": rule.month,
                "byday": (f"{rule.week}{WEEKDAYS[rule.weekday]}"),
            },
        )
        part["tzoffsetfrom"] = icalendar.vUTCOffset(rule.before)
        part["tzoffsetto"] = icalendar.vUTCOffset(rule.after)
        part.add("tzname", rule.name)
        tz.add_component(part)
    return tz


def location_text(venue: Venue | None) -> str:
    if venue is None:
        return ""
    return ", ".join(p for p in (venue.name, address(venue)) if p)


def _end(event: Event) -> datetime:
    return event.ends_at or event.starts_at + timedelta(hours=2)


def _calendar(
    event: Event,
    *,
    uid: str,
    venue: Venue | None,
    url: str,
    zone: ZoneInfo,
    description: str,
    dtstamp: datetime,
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", uid)
    vevent.add("dtstamp", dtstamp)
    rules = yearly_changes(zone, event.starts_at.astimezone(zone).year)
    shown = zone if rules else UTC
    vevent.add("dtstart", event.starts_at.astimezone(shown))
    vevent.add("dtend", _end(event).astimezone(shown))
    vevent.add("summary", event.title)
    vevent.add("location", location_text(venue))
    vevent.add("url", url)
    vevent.add("description", description)
    vevent.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    if rules:
        cal.add_component(vtimezone(zone, rules))
    cal.add_component(vevent)
    data: bytes = cal.to_ical()
    return data


def event_calendar(
    event: Event,
    *,
    venue: Venue | None,
    url: str,
    zone: ZoneInfo,
    uid_domain: str,
    description: str = "",
) -> bytes:
    """A VCALENDAR with one VEVENT; times carry the local zone (with its VTIMEZONE)."""
    return _calendar(
        event,
        uid=f"event-{event.id}@{uid_domain}",
        venue=venue,
        url=url,
        zone=zone,
        description="\n\n".join(p for p in (event.strapline, description, url) if p),
        dtstamp=event.updated_at,
    )


def order_calendar(
    event: Event,
    *,
    order: Order,
    venue: Venue | None,
    order_url: str,
    zone: ZoneInfo,
    uid_domain: str,
    tickets: int,
) -> bytes:
    """The event as one buyer's booking: its own UID, and the order link in DESCRIPTION."""
    noun = "ticket" if tickets == 1 else "tickets"
    description = "\n\n".join(
        p
        for p in (
            event.strapline,
            f"Order {order.reference}: {tickets} {noun}.",
            f"Your tickets and QR codes: {order_url}",
        )
        if p
    )
    return _calendar(
        event,
        uid=f"order-{order.reference}@{uid_domain}",
        venue=venue,
        url=order_url,
        zone=zone,
        description=description,
        dtstamp=max(event.updated_at, order.paid_at or order.created_at),
    )


def _utc_stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_link(event: Event, *, venue: Venue | None, details: str) -> str:
    params = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{_utc_stamp(event.starts_at)}/{_utc_stamp(_end(event))}",
        "details": details,
        "location": location_text(venue),
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(params, quote_via=quote)


def outlook_calendar_link(event: Event, *, venue: Venue | None, details: str) -> str:
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    utc = UTC
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title,
        "startdt": event.starts_at.astimezone(utc).strftime(fmt),
        "enddt": _end(event).astimezone(utc).strftime(fmt),
        "body": details,
        "location": location_text(venue),
    }
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(
        params, quote_via=quote
    )
