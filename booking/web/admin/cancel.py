"""Back office: cancelling an event, after a confirmation page that says what will happen.
The orders are cancelled, refunded and emailed in the background (booking.bulk)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import cancellation, event_overview, inputs
from booking.domain.errors import Conflict
from booking.web.admin.common import actor, flash, page, path_id, values_of
from booking.web.services import services


def _progress(request: Request, event_id: int) -> Response:
    """To the event's page, where the progress shows (the bulk-jobs job does the work)."""
    url = request.url_for("admin_event", event_id=event_id).path + "#cancellation"
    return RedirectResponse(url, 303)


async def cancel(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    impact = await svc.read(cancellation.impact, event_id=event_id)
    values: dict[str, Any] = {"refund": "yes", "email": "yes", "note": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        errors = inputs.Errors()
        note = errors.take(
            "note", lambda: inputs.paragraphs(values.get("note"), name="Message", limit=1000)
        )
        if not errors:
            try:
                await svc.write(
                    cancellation.start,
                    event_id=event_id,
                    refund=values.get("refund") == "yes",
                    email=values.get("email") == "yes",
                    note=note or "",
                    actor=await actor(request),
                    now=svc.now(),
                )
            except Conflict as exc:
                flash(request, exc.message)
            return _progress(request, event_id)
    context = {"view": view, "impact": impact, "values": values, "errors": dict(errors)}
    return page(request, "admin/cancel.html", context, status=400 if errors else 200)


async def cancel_again(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        await svc.write(
            cancellation.start_again, event_id=event_id, actor=await actor(request), now=svc.now()
        )
    except Conflict as exc:
        flash(request, exc.message)
    return _progress(request, event_id)


routes = [
    Route(
        "/events/{event_id:id}/cancel", cancel, methods=["GET", "POST"], name="admin_event_cancel"
    ),
    Route(
        "/events/{event_id:id}/cancel/again",
        cancel_again,
        methods=["POST"],
        name="admin_event_cancel_again",
    ),
]
