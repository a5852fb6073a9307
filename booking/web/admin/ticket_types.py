"""Back office: an event's ticket types (add, edit, move up or down, hide or show)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import event_overview, ticket_types
from booking.domain.errors import Conflict, InvalidInput
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import services


async def _overview(request: Request, event_id: int) -> event_overview.Overview:
    svc = services(request)
    return await svc.read(event_overview.overview, event_id=event_id, now=svc.now())


def _places() -> list[tuple[str, str]]:
    return [(str(place), label) for place, label in ticket_types.PLACES.items()]


async def add(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await _overview(request, event_id)
    values: dict[str, Any] = {"max_per_order": "10", "visible": "yes", "access_place": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        fields, errors = ticket_types.read_form(values, zone=svc.settings.tz)
        if not errors:
            try:
                tt = await svc.write(
                    ticket_types.add,
                    event_id=event_id,
                    fields=fields,
                    actor=await actor(request),
                    now=svc.now(),
                )
            except InvalidInput as exc:
                errors = exc.errors
            except Conflict as exc:
                flash(request, exc.message)
                return redirect(request, "admin_event", event_id=event_id)
            else:
                flash(request, f"{tt.name} tickets added.")
                return redirect(request, "admin_event", event_id=event_id)
    context = {
        "view": view,
        "values": values,
        "errors": errors,
        "ticket_type": None,
        "places": _places(),
    }
    return page(request, "admin/ticket_type_form.html", context, status=400 if errors else 200)


async def edit(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    type_id = path_id(request, "ticket_type_id")
    view = await _overview(request, event_id)
    row = next((r for r in view.types if r.ticket_type.id == type_id), None)
    if row is None:
        raise HTTPException(404)
    values: dict[str, Any] = ticket_types.form_values(row.ticket_type, svc.settings.tz)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        fields, errors = ticket_types.read_form(values, zone=svc.settings.tz)
        if not errors:
            try:
                tt = await svc.write(
                    ticket_types.update,
                    event_id=event_id,
                    ticket_type_id=type_id,
                    fields=fields,
                    actor=await actor(request),
                    now=svc.now(),
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"{tt.name} tickets saved.")
                return redirect(request, "admin_event", event_id=event_id)
    context = {
        "view": view,
        "values": values,
        "errors": errors,
        "ticket_type": row.ticket_type,
        "taken": row.taken,
        "places": _places(),
    }
    return page(request, "admin/ticket_type_form.html", context, status=400 if errors else 200)


async def move(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    form = await request.form()
    offset = -1 if form.get("direction") == "up" else 1
    await svc.write(
        ticket_types.move,
        event_id=event_id,
        ticket_type_id=path_id(request, "ticket_type_id"),
        offset=offset,
        actor=await actor(request),
        now=svc.now(),
    )
    return redirect(request, "admin_event", event_id=event_id)


async def visibility(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    form = await request.form()
    tt = await svc.write(
        ticket_types.set_visible,
        event_id=event_id,
        ticket_type_id=path_id(request, "ticket_type_id"),
        visible=form.get("visible") == "yes",
        actor=await actor(request),
        now=svc.now(),
    )
    shown = "shown on the public page" if tt.visible else "hidden from the public page"
    flash(request, f"{tt.name} tickets are {shown}.")
    return redirect(request, "admin_event", event_id=event_id)


_BASE = "/events/{event_id:id}/ticket-types"
routes = [
    Route(f"{_BASE}/new", add, methods=["GET", "POST"], name="admin_ticket_type_new"),
    Route(
        f"{_BASE}/{{ticket_type_id:id}}",
        edit,
        methods=["GET", "POST"],
        name="admin_ticket_type_edit",
    ),
    Route(
        f"{_BASE}/{{ticket_type_id:id}}/move",
        move,
        methods=["POST"],
        name="admin_ticket_type_move",
    ),
    Route(
        f"{_BASE}/{{ticket_type_id:id}}/visibility",
        visibility,
        methods=["POST"],
        name="admin_ticket_type_visibility",
    ),
]
