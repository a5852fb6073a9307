"""RFC 5545 calendar files for events and orders (icalendar), and add-to-calendar links."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import icalendar

from booking.domain.venues import address
from booking.models import Event, EventStatus, Order, Venue

PRODID = "-//booking//event tickets//EN"


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
    vevent.add("dtstart", event.starts_at.astimezone(zone))
    vevent.add("dtend", _end(event).astimezone(zone))
    vevent.add("summary", event.title)
    vevent.add("location", location_text(venue))
    vevent.add("url", url)
    vevent.add("description", description)
    vevent.add("status", "CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED")
    cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()


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
    return dt.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


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
    utc = ZoneInfo("UTC")
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
