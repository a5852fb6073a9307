"""The event form: what an organiser typed, read and checked field by field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from booking.domain import inputs
from booking.models import Event

MAX_CAPACITY = 100_000
MAX_CUTOFF_HOURS = 24 * 60
MAX_REMINDER_HOURS = 24 * 14
NEW = "new"


@dataclass
class EventFields:
    """An event form, read and checked field by field."""

    title: str = ""
    slug: str = ""
    strapline: str = ""
    description: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    doors_at: datetime | None = None
    venue_id: int | None = None
    new_venue: dict[str, str] | None = None  # name, address, postcode when "A new venue"
    organisation_ids: list[int] = field(default_factory=list)
    new_organisation: str = ""
    capacity: int | None = None
    contact_email: str = ""
    buyer_cancel_allowed: bool = False
    buyer_cancel_cutoff_hours: int = 48
    reminder_on: bool = True
    reminder_hours: int = 24
    thank_you_on: bool = False
    thank_you_came: str = ""
    thank_you_missed: str = ""
    questions_on: bool = False
    questions_close_hours: int = 2


def read_times(
    raw: Mapping[str, Any], zone: ZoneInfo, errors: inputs.Errors
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """The start, end and doors-open times typed as London dates and times (in UTC), with
    an error per field for a missing start, a bad date or time, an end not after the start
    or doors after the start."""
    when: dict[str, datetime | None] = {}
    for name, label, required in (
        ("starts", "start", True),
        ("ends", "end", False),
        ("doors", "doors open", False),
    ):
        when[name] = errors.take(
            f"{name}_date",
            partial(
                inputs.local_datetime,
                raw.get(f"{name}_date"),
                raw.get(f"{name}_time"),
                label=label,
                zone=zone,
                required=required,
            ),
        )
    starts, ends, doors = when["starts"], when["ends"], when["doors"]
    if starts and ends and ends <= starts:
        errors["ends_date"] = "The end must be after the start"
    if starts and doors and doors > starts:
        errors["doors_date"] = "Doors must open at or before the start"
    return starts, ends, doors


def read_form(
    raw: Mapping[str, str], organisers: Sequence[str], *, zone: ZoneInfo
) -> tuple[EventFields, dict[str, str]]:
    """The event form's values and any messages, by field name."""
    errors = inputs.Errors()
    f = EventFields()
    f.title = (
        errors.take(
            "title",
            lambda: inputs.text(raw.get("title"), name="Title", limit=300, missing="Enter a title"),
        )
        or ""
    )
    typed_slug = raw.get("slug", "").strip()
    f.slug = web_address(typed_slug or f.title)
    if len(typed_slug) > 80:
        errors["slug"] = "Web address must be 80 characters or fewer"
    elif typed_slug and not f.slug:
        errors["slug"] = "Web address must use letters, numbers and hyphens, like london-and-brexit"
    elif not f.slug and f.title:
        errors["slug"] = "Enter a web address, like london-and-brexit"
    f.strapline = (
        errors.take(
            "strapline", lambda: inputs.text(raw.get("strapline"), name="Strapline", limit=500)
        )
        or ""
    )
    f.description = (
        errors.take(
            "description",
            lambda: inputs.paragraphs(raw.get("description"), name="Description", limit=20_000),
        )
        or ""
    )
    f.starts_at, f.ends_at, f.doors_at = read_times(raw, zone, errors)
    _read_venue(raw, f, errors)
    for raw_id in organisers:
        org_id = inputs.row_id(raw_id)
        if org_id is not None and org_id not in f.organisation_ids:
            f.organisation_ids.append(org_id)
    f.new_organisation = (
        errors.take(
            "new_organisation",
            lambda: inputs.text(raw.get("new_organisation"), name="Organisation name", limit=200),
        )
        or ""
    )
    f.capacity = errors.take(
        "capacity",
        lambda: inputs.optional_whole_number(
            raw.get("capacity"), name="Capacity", minimum=1, maximum=MAX_CAPACITY
        ),
    )
    f.contact_email = (
        errors.take("contact_email", lambda: inputs.email(raw.get("contact_email"))) or ""
    )
    f.buyer_cancel_allowed = raw.get("buyer_cancel_allowed") == "yes"
    hours = errors.take(
        "buyer_cancel_cutoff_hours",
        lambda: inputs.whole_number(
            raw.get("buyer_cancel_cutoff_hours"),
            name="Hours before the start",
            minimum=0,
            maximum=MAX_CUTOFF_HOURS,
            missing="Enter how many hours before the start cancelling closes",
        ),
    )
    f.buyer_cancel_cutoff_hours = 48 if hours is None else hours
    _read_emails_and_questions(raw, f, errors)
    return f, dict(errors)


def _hours(raw: Mapping[str, str], errors: inputs.Errors, name: str, default: int) -> int:
    found = errors.take(
        name,
        lambda: inputs.optional_whole_number(
            raw.get(name), name="Hours before the start", minimum=0, maximum=MAX_REMINDER_HOURS
        ),
    )
    return default if found is None else found


def _text(raw: Mapping[str, str], errors: inputs.Errors, name: str, label: str) -> str:
    found = errors.take(name, lambda: inputs.paragraphs(raw.get(name), name=label, limit=5000))
    return found or ""


def _read_emails_and_questions(
    raw: Mapping[str, str], f: EventFields, errors: inputs.Errors
) -> None:
    """The reminder, thank-you and questions settings (blank hours take the defaults)."""
    f.reminder_on = raw.get("reminder_on") == "yes"
    f.reminder_hours = _hours(raw, errors, "reminder_hours", 24)
    if f.reminder_on and f.reminder_hours == 0:
        errors["reminder_hours"] = "Hours before the start must be 1 or more"
    f.thank_you_on = raw.get("thank_you_on") == "yes"
    f.thank_you_came = _text(raw, errors, "thank_you_came", "Text for those who came")
    f.thank_you_missed = _text(raw, errors, "thank_you_missed", "Text for those who did not come")
    f.questions_on = raw.get("questions_on") == "yes"
    f.questions_close_hours = _hours(raw, errors, "questions_close_hours", 2)


def web_address(text: str) -> str:
    """The end of an event's link from a title or what was typed: "London's buses" and
    "London's Buses" both give londons-buses (apostrophes go, capitals are lowered)."""
    return inputs.slug(re.sub(r"['\u2019\u2018`]", "", text))


def _read_venue(raw: Mapping[str, str], f: EventFields, errors: inputs.Errors) -> None:
    choice = raw.get("venue", "").strip()
    if choice == NEW:
        name = errors.take(
            "venue_name",
            lambda: inputs.text(
                raw.get("venue_name"),
                name="Venue name",
                limit=200,
                missing="Enter the venue's name",
            ),
        )
        address = errors.take(
            "venue_address",
            lambda: inputs.text(raw.get("venue_address"), name="Address", limit=500),
        )
        postcode = errors.take(
            "venue_postcode",
            lambda: inputs.text(raw.get("venue_postcode"), name="Postcode", limit=20).upper(),
        )
        f.new_venue = {"name": name or "", "address": address or "", "postcode": postcode or ""}
    elif inputs.row_id(choice) is not None:
        f.venue_id = inputs.row_id(choice)
    elif choice:
        errors["venue"] = "Select a venue from the list"


def form_values(event: Event, organisation_ids: list[int], zone: ZoneInfo) -> dict[str, object]:
    """What the edit form shows for a saved event."""
    values: dict[str, object] = {
        "title": event.title,
        "slug": event.slug,
        "strapline": event.strapline,
        "description": event.description,
        "venue": str(event.venue_id or ""),
        "organisers": [str(i) for i in organisation_ids],
        "capacity": "" if event.capacity is None else str(event.capacity),
        "contact_email": event.contact_email,
        "buyer_cancel_allowed": "yes" if event.buyer_cancel_allowed else "",
        "buyer_cancel_cutoff_hours": str(event.buyer_cancel_cutoff_hours),
        "reminder_on": "yes" if event.reminder_on else "",
        "reminder_hours": str(event.reminder_hours),
        "thank_you_on": "yes" if event.thank_you_on else "",
        "thank_you_came": event.thank_you_came,
        "thank_you_missed": event.thank_you_missed,
        "questions_on": "yes" if event.questions_on else "",
        "questions_close_hours": str(event.questions_close_hours),
    }
    for name in ("starts", "ends", "doors"):
        day, clock = inputs.local_parts(getattr(event, f"{name}_at"), zone)
        values[f"{name}_date"], values[f"{name}_time"] = day, clock
    return values
