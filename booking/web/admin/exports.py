"""Back office: an event's attendees as CSV, streamed page by page from the database.

Valid tickets only by default (the list for the door); `?tickets=all` adds the cancelled
and refunded ones. The status comes first, so a sorted sheet groups them.

Cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return) get a leading single quote, so a buyer named "=HYPERLINK(...)" stays text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from booking.db import Database
from booking.domain import reports
from booking.domain.tickets import reference
from booking.models import TicketStatus
from booking.web.admin.common import path_id
from booking.web.services import services

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = [
    "Status",
    "Name",
    "Email",
    "Ticket type",
    "Ticket code",
    "Ticket reference",
    "Order reference",
    "Complimentary",
    "Checked in at",
    "Access needs",
]
VALID_ONLY = (TicketStatus.VALID,)
PAGE = 500
BOM = "\ufeff"  # so Excel reads the file as UTF-8 (names with accents stay intact)


def spreadsheet_safe(value: str) -> str:
    """The cell as text a spreadsheet will not run: a quote before a formula's first sign."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """Each row as one CSV line, every cell spreadsheet-safe, after a byte order mark."""
    yield BOM
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _local(when: datetime | None, zone: ZoneInfo) -> str:
    return "" if when is None else when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def attendee_rows(
    db: Database,
    *,
    event_id: int,
    zone: ZoneInfo,
    statuses: tuple[TicketStatus, ...] = VALID_ONLY,
) -> Iterator[list[str]]:
    """The header, then every attendee, reading PAGE tickets at a time (a short read each)."""
    yield HEADER
    after = 0
    while True:
        with db.session() as session:
            page = reports.attendees(
                session, event_id=event_id, after=after, limit=PAGE, statuses=statuses
            )
        for a in page:
            yield [
                a.state,
                a.name,
                a.email,
                a.ticket_type,
                a.code or "",
                reference(a.code) if a.code else "",
                a.order_reference,
                "Yes" if a.complimentary else "No",
                _local(a.checked_in_at, zone),
                a.access_needs,
            ]
        if len(page) < PAGE:
            return
        after = page[-1].ticket_id


async def attendees_csv(request: Request) -> Response:
    svc = services(request)
    event = await svc.read(reports.get_event, event_id=path_id(request, "event_id"))
    assert event.id is not None
    slug = re.sub(r"[^a-z0-9-]", "", event.slug.lower()) or "event"
    stamp = svc.now().astimezone(svc.settings.tz).strftime("%Y%m%d-%H%M")
    every = request.query_params.get("tickets") == "all"
    statuses = reports.SOLD if every else VALID_ONLY
    lines = csv_lines(
        attendee_rows(svc.db, event_id=event.id, zone=svc.settings.tz, statuses=statuses)
    )
    which = "all-tickets" if every else "attendees"
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}-{which}-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


routes = [
    Route("/events/{event_id:id}/attendees.csv", attendees_csv, name="admin_event_attendees"),
]
