"""Back office: the events list (the back office's home page), creating and editing an event,
its overview page, publishing, and previewing it as the public will see it."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import catalogue, event_admin, event_forms, event_overview
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import EventStatus
from booking.web import public
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import render, services


async def home(request: Request) -> Response:
    svc = services(request)
    rows = await svc.read(event_overview.listing, now=svc.now())
    return page(request, "admin/events.html", {"rows": rows})


async def event_page(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    except NotFound:
        raise HTTPException(404) from None
    return page(request, "admin/event.html", {"view": view, "activity": view.activity})


async def _form_page(
    request: Request,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    event: Any = None,
) -> Response:
    venues, organisations = await services(request).read(event_admin.choices)
    context = {
        "values": values,
        "errors": errors,
        "event": event,
        "venues": venues,
        "organisations": organisations,
        "new_venue": event_forms.NEW,
    }
    return page(request, "admin/event_form.html", context, status=400 if errors else 200)


async def _read(request: Request) -> tuple[dict[str, Any], event_forms.EventFields, dict[str, str]]:
    form = await request.form()
    values: dict[str, Any] = values_of(form)
    organisers = [str(v) for v in form.getlist("organisers")][:50]
    values["organisers"] = organisers
    fields, errors = event_forms.read_form(values, organisers, zone=services(request).settings.tz)
    return values, fields, errors


async def new_event(request: Request) -> Response:
    svc = services(request)
    values: dict[str, Any] = {"buyer_cancel_cutoff_hours": "48", "organisers": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, fields, errors = await _read(request)
        if not errors:
            try:
                event = await svc.write(
                    event_admin.create, fields=fields, actor=await actor(request), now=svc.now()
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"“{event.title}” is saved as a draft. Add ticket types next.")
                return redirect(request, "admin_event", event_id=event.id)
    return await _form_page(request, values=values, errors=errors)


async def edit_event(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    except NotFound:
        raise HTTPException(404) from None
    event = view.event
    ids = [o.id for o in view.organisers if o.id is not None]
    values: dict[str, Any] = event_forms.form_values(event, ids, svc.settings.tz)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, fields, errors = await _read(request)
        if not errors:
            try:
                await svc.write(
                    event_admin.update,
                    event_id=event_id,
                    fields=fields,
                    actor=await actor(request),
                    now=svc.now(),
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, "Your changes are saved.")
                return redirect(request, "admin_event", event_id=event_id)
    return await _form_page(request, values=values, errors=errors, event=event)


async def publish(request: Request) -> Response:
    return await _status(
        request,
        event_admin.publish,
        "The event is published: the public can see it and buy tickets.",
    )


async def unpublish(request: Request) -> Response:
    return await _status(
        request, event_admin.unpublish, "The event is back to a draft: the public cannot see it."
    )


async def _status(request: Request, change: Any, message: str) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        await svc.write(change, event_id=event_id, actor=await actor(request), now=svc.now())
    except NotFound:
        raise HTTPException(404) from None
    except Conflict as exc:
        message = exc.message
    flash(request, message)
    return redirect(request, "admin_event", event_id=event_id)


async def preview(request: Request) -> Response:
    """The public page of this event, drafts included, with a banner for drafts."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
        page_ = await svc.read(
            catalogue.event_page, slug=view.event.slug, now=svc.now(), include_drafts=True
        )
    except NotFound:
        raise HTTPException(404) from None
    context = public.event_context(request, page_)
    context.update(values={}, errors={}, preview=True)
    headers = {"X-Robots-Tag": "noindex"}
    if page_.event.status != EventStatus.PUBLISHED:
        headers["Cache-Control"] = "no-store"
    return render(request, "public/event.html", context, headers=headers)


routes = [
    Route("/", home, name="admin_home"),
    Route("/events/new", new_event, methods=["GET", "POST"], name="admin_event_new"),
    Route("/events/{event_id:id}", event_page, name="admin_event"),
    Route(
        "/events/{event_id:id}/edit", edit_event, methods=["GET", "POST"], name="admin_event_edit"
    ),
    Route("/events/{event_id:id}/publish", publish, methods=["POST"], name="admin_event_publish"),
    Route(
        "/events/{event_id:id}/unpublish",
        unpublish,
        methods=["POST"],
        name="admin_event_unpublish",
    ),
    Route("/events/{event_id:id}/preview", preview, name="admin_event_preview"),
]
