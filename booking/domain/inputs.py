"""Reading what organisers type into back-office forms: text, whole numbers, pounds, dates.

Each reader takes the raw text and returns the value, or raises ValueError with a message
for people that reuses the field's label (GOV.UK error wording).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_POUNDS = 100_000
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %m %Y", "%d.%m.%Y")
_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?$")


def text(raw: object, *, name: str, limit: int, missing: str = "") -> str:
    """One line of text: control characters dropped, runs of spaces collapsed.

    `name` starts the too-long message ("Title must be …"); `missing`, if given, is the
    message for an empty value ("Enter a title").
    """
    value = " ".join(_printable(raw).split())
    if missing and not value:
        raise ValueError(missing)
    if len(value) > limit:
        raise ValueError(f"{name} must be {limit:,} characters or fewer")
    return value


def paragraphs(raw: object, *, name: str, limit: int, missing: str = "") -> str:
    """Several lines of text (Markdown, notes): line breaks kept, trailing spaces trimmed."""
    lines = [line.rstrip() for line in _printable(raw, keep_newlines=True).splitlines()]
    value = "\n".join(lines).strip()
    if missing and not value:
        raise ValueError(missing)
    if len(value) > limit:
        raise ValueError(f"{name} must be {limit:,} characters or fewer")
    return value


def _printable(raw: object, *, keep_newlines: bool = False) -> str:
    value = str(raw or "").replace("\r\n", "\n").replace("\r", "\n")
    keep = "\n\t" if keep_newlines else ""
    return "".join(
        c if unicodedata.category(c)[0] != "C" or c in keep else " " for c in value
    ).replace("\t", " ")


def whole_number(raw: object, *, name: str, minimum: int, maximum: int, missing: str) -> int:
    """A whole number typed as digits (spaces and thousands commas ignored)."""
    value = str(raw or "").strip().replace(",", "").replace(" ", "")
    if not value:
        raise ValueError(missing)
    if not re.fullmatch(r"[0-9]{1,9}", value):
        raise ValueError(f"{name} must be a whole number, like {max(minimum, 1) * 10}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"{name} must be {minimum} or more")
    if number > maximum:
        raise ValueError(f"{name} must be {maximum:,} or fewer")
    return number


def optional_whole_number(raw: object, *, name: str, minimum: int, maximum: int) -> int | None:
    """A whole number, or None when left empty."""
    if not str(raw or "").strip():
        return None
    return whole_number(raw, name=name, minimum=minimum, maximum=maximum, missing="")


def row_id(raw: object) -> int | None:
    """A row id picked from a list (a select, checkboxes), or None for anything else."""
    value = str(raw or "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,9}", value) else None


def pence(raw: object, *, name: str, missing: str, maximum: int = MAX_POUNDS) -> int:
    """Pounds as typed ("7.50", "£7", "0") to pence, at most `maximum` pounds.

    The one reader of money typed into a form: not float(), which takes "inf", "1e3" and
    "nan". Raises ValueError.
    """
    value = str(raw or "").strip().replace(" ", "").removeprefix("£")
    if not value:
        raise ValueError(missing)
    if "," in value:
        # Only as a thousands separator: "7,50" is someone's £7.50, not £750.
        if not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?", value):
            raise ValueError(f"{name} must be an amount of money, like 7.50")
        value = value.replace(",", "")
    if not re.fullmatch(r"[0-9]+(\.[0-9]{1,2})?|\.[0-9]{1,2}", value) or len(value) > 12:
        raise ValueError(f"{name} must be an amount of money, like 7.50")
    amount = Decimal(value)
    if amount > maximum:
        raise ValueError(f"{name} must be £{maximum:,} or less")
    return int(amount * 100)


def pounds(amount: int) -> str:
    """Pence back to what an organiser would type: 750 -> "7.50"."""
    return f"{amount // 100}.{amount % 100:02d}"


def email(raw: object, *, missing: str = "") -> str:
    """An email address in lower case, or "" when empty and not `missing`."""
    value = str(raw or "").strip().lower()
    if not value:
        if missing:
            raise ValueError(missing)
        return ""
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("Enter an email address in the correct format, like name@example.com")
    return value


def local_datetime(
    raw_date: object, raw_time: object, *, label: str, zone: ZoneInfo, required: bool
) -> datetime | None:
    """A date and a time typed in `zone` (Europe/London) to an aware UTC datetime.

    `label` names the moment ("start", "doors open"). Both empty is None, or
    "Enter the start date" when required. Raises ValueError.
    """
    date_text = str(raw_date or "").strip()
    time_text = str(raw_time or "").strip().lower().replace(" ", "")
    if not date_text and not time_text:
        if required:
            raise ValueError(f"Enter the {label} date")
        return None
    if not date_text:
        raise ValueError(f"Enter the {label} date")
    if not time_text:
        raise ValueError(f"Enter the {label} time")
    day = _date(date_text, label)
    clock = _time(time_text, label)
    local = datetime.combine(day, clock).replace(tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC"))


def _date(value: str, label: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(value[:20], fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
        if 2000 <= day.year <= 2100:
            return day
    raise ValueError(f"The {label} date must be a real date, like 27/3/2027")


def _time(value: str, label: str) -> time:
    match = _TIME_RE.match(value[:10])
    message = f"The {label} time must be a real time, like 19:30"
    if not match:
        raise ValueError(message)
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(message)
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(message)
    return time(hour, minute)


def local_parts(value: datetime | None, zone: ZoneInfo) -> tuple[str, str]:
    """A stored UTC datetime as an organiser would type it: ("2027-03-27", "19:30")."""
    if value is None:
        return "", ""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


def slug(raw: object) -> str:
    """A web address part from a title: lower case letters, digits and hyphens."""
    value = unicodedata.normalize("NFKD", str(raw or "")).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return value[:80].rstrip("-")


class Errors(dict[str, str]):
    """Field name -> message, filled while reading a form field by field."""

    def take(self, field: str, read: Callable[[], T]) -> T | None:
        """`read()`, or None with its message kept for `field` if it raised ValueError."""
        try:
            return read()
        except ValueError as exc:
            self.setdefault(field, str(exc))
            return None
