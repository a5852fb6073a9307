"""Back office: editing a venue (every event held there shows the change)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import inputs, venues
from booking.domain.errors import InvalidInput
from booking.web.admin.common import actor, flash, page, path_id, values_of
from booking.web.services import services


async def edit_venue(request: Request) -> Response:
    svc = services(request)
    venue_id = path_id(request, "venue_id")
    venue = await svc.read(venues.get, venue_id=venue_id)
    held_here = await svc.read(venues.events_at, venue_id=venue_id)
    back_id = inputs.row_id(request.query_params.get("event"))
    back = next((e for e in held_here if e.id == back_id), None)
    values: dict[str, Any] = venues.form_values(venue)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        fields, errors = venues.read_form(values)
        if not errors:
            try:
                await svc.write(
                    venues.update,
                    venue_id=venue_id,
                    fields=fields,
                    actor=await actor(request),
                    now=svc.now(),
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"{fields.name} is saved.")
                target = (
                    request.url_for("admin_event", event_id=back.id).path
                    if back
                    else request.url_for("admin_home").path
                )
                return RedirectResponse(target, 303)
    context = {
        "venue": venue,
        "values": values,
        "errors": errors,
        "events": held_here,
        "back": back,
    }
    return page(request, "admin/venue_form.html", context, status=400 if errors else 200)


routes = [
    Route("/venues/{venue_id:id}", edit_venue, methods=["GET", "POST"], name="admin_venue"),
]
