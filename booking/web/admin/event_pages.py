"""Back office: an event's tabs that only list things: its ticket types and its attendees."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import event_overview, reports
from booking.web.admin.common import page, path_id
from booking.web.services import services

ATTENDEES_SHOWN = 500


async def _overview(request: Request) -> event_overview.Overview:
    svc = services(request)
    return await svc.read(
        event_overview.overview, event_id=path_id(request, "event_id"), now=svc.now()
    )


async def ticket_types(request: Request) -> Response:
    return page(request, "admin/ticket_types.html", {"view": await _overview(request)})


async def attendees(request: Request) -> Response:
    svc = services(request)
    view = await _overview(request)
    rows = await svc.read(
        reports.attendees, event_id=view.event.id, after=0, limit=ATTENDEES_SHOWN + 1
    )
    context = {"view": view, "rows": rows[:ATTENDEES_SHOWN], "more": len(rows) > ATTENDEES_SHOWN}
    return page(request, "admin/attendees.html", context)


routes = [
    Route("/events/{event_id:id}/ticket-types", ticket_types, name="admin_ticket_types"),
    Route("/events/{event_id:id}/attendees", attendees, name="admin_event_attendee_list"),
]
