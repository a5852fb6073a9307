"""Back office: the events list (the back office's home page), creating, editing and copying
an event, its overview page, publishing with its checklist, and previewing it as the public
will see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import images
from booking.domain import (
    access_needs,
    catalogue,
    event_admin,
    event_forms,
    event_overview,
    inputs,
    venues,
)
from booking.domain.errors import Conflict, InvalidInput
from booking.models import EventStatus
from booking.templating import LocalTime
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
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    checklist = await svc.read(event_admin.checklist, event_id=event_id, now=svc.now())
    context = {
        "view": view,
        "activity": view.activity,
        "checklist": checklist,
        "needs": await svc.read(access_needs.tally, event_id=event_id),
        "address": venues.address(view.venue) if view.venue else "",
    }
    return page(request, "admin/event.html", context)


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
    values: dict[str, Any] = {
        "buyer_cancel_cutoff_hours": "48",
        "organisers": [],
        "reminder_on": "yes",
        "reminder_hours": "24",
        "questions_close_hours": "2",
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, fields, errors = await _read(request)
        if not errors:
            try:
                event = await svc.write(
                    event_admin.create, fields=fields, actor=await actor(request), now=svc.now()
                )
            except event_admin.SlugTaken as exc:
                errors, values["slug"] = exc.errors, exc.suggestion
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, f"“{event.title}” is saved as a draft. Add ticket types next.")
                return redirect(request, "admin_event", event_id=event.id)
    return await _form_page(request, values=values, errors=errors)


async def edit_event(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
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
            except event_admin.SlugTaken as exc:
                errors, values["slug"] = exc.errors, exc.suggestion
            except InvalidInput as exc:
                errors = exc.errors
            else:
                flash(request, "Your changes are saved.")
                return redirect(request, "admin_event", event_id=event_id)
    return await _form_page(request, values=values, errors=errors, event=event)


async def publish(request: Request) -> Response:
    """Publish when the checklist is complete; otherwise show what is missing first."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        await svc.write(
            event_admin.publish, event_id=event_id, actor=await actor(request), now=svc.now()
        )
    except event_admin.ChecklistIncomplete:
        return redirect(request, "admin_event_publish_check", event_id=event_id)
    except Conflict as exc:
        flash(request, exc.message)
        return redirect(request, "admin_event", event_id=event_id)
    return await _published(request, event_id)


async def publish_check(request: Request) -> Response:
    """The second step: what is missing, with links, and "Publish anyway"."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    checklist = await svc.read(event_admin.checklist, event_id=event_id, now=svc.now())
    if view.event.status != EventStatus.DRAFT:
        return redirect(request, "admin_event", event_id=event_id)
    return page(request, "admin/publish.html", {"view": view, "checklist": checklist})


async def publish_anyway(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        await svc.write(
            event_admin.publish_anyway,
            event_id=event_id,
            actor=await actor(request),
            now=svc.now(),
        )
    except Conflict as exc:
        flash(request, exc.message)
        return redirect(request, "admin_event", event_id=event_id)
    return await _published(request, event_id)


async def _published(request: Request, event_id: int) -> Response:
    svc = services(request)
    sales = await svc.read(event_admin.sales_now, event_id=event_id, now=svc.now())
    flash(request, published_message(sales, LocalTime(svc.settings.tz)))
    return redirect(request, "admin_event", event_id=event_id)


def published_message(sales: event_admin.SalesNow, clock: LocalTime) -> str:
    """What publishing made true, in words."""
    if sales.on_sale:
        return "The event is published and tickets are on sale now."
    if sales.opens_at is not None:
        when = f"{clock.date(sales.opens_at)} at {clock.time(sales.opens_at)}"
        return f"The event is listed on the public site; tickets go on sale on {when}."
    return (
        "The event is listed on the public site, but no ticket type is on sale: "
        "its page says tickets are not on sale."
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
    except Conflict as exc:
        message = exc.message
    flash(request, message)
    return redirect(request, "admin_event", event_id=event_id)


async def copy_event(request: Request) -> Response:
    """A new draft like this event: the organiser gives it a title, web address and dates."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    original = view.event
    suggested = await svc.read(event_admin.free_slug, slug=original.slug)
    values: dict[str, Any] = {"title": original.title, "slug": suggested}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        fields, errors = _copy_fields(values, svc.settings.tz)
        if not errors and fields is not None:
            hero = await run_in_threadpool(_duplicate_image, original.hero_image, svc)
            try:
                event = await svc.write(
                    event_admin.copy,
                    event_id=event_id,
                    fields=event_admin.CopyFields(**{**vars(fields), "hero_image": hero}),
                    actor=await actor(request),
                    now=svc.now(),
                )
            except event_admin.SlugTaken as exc:
                errors, values["slug"] = exc.errors, exc.suggestion
            except InvalidInput as exc:
                errors = exc.errors
            if errors:
                images.remove(hero, media_dir=svc.settings.media_dir)
            else:
                flash(
                    request,
                    f"“{event.title}” is a new draft copied from the event of "
                    f"{LocalTime(svc.settings.tz).date(original.starts_at)}. "
                    "Check the ticket sale dates, then publish.",
                )
                return redirect(request, "admin_event", event_id=event.id)
    context = {"view": view, "values": values, "errors": errors}
    return page(request, "admin/copy.html", context, status=400 if errors else 200)


def _copy_fields(
    values: dict[str, Any], zone: Any
) -> tuple[event_admin.CopyFields | None, dict[str, str]]:
    found = inputs.Errors()
    title = found.take(
        "title",
        lambda: inputs.text(values.get("title"), name="Title", limit=300, missing="Enter a title"),
    )
    slug = event_forms.web_address(str(values.get("slug") or title or ""))
    if not slug:
        found["slug"] = "Enter a web address, like london-and-brexit"
    starts, ends, doors = event_forms.read_times(values, zone, found)
    if found or not title or not starts:
        return None, dict(found)
    return event_admin.CopyFields(title, slug, starts, ends, doors), {}


def _duplicate_image(path: str, svc: Any) -> str:
    """A copy of a stored image under a new name ("" if there is none), so removing one
    event's image leaves the other's in place."""
    if not path.startswith(images.URL_PREFIX):
        return ""
    root = Path(svc.settings.media_dir).resolve()
    source = (root / path.removeprefix(images.URL_PREFIX)).resolve()
    if not source.is_relative_to(root) or not source.is_file():
        return ""
    return images.store(source.read_bytes(), images.HERO, media_dir=root)


async def preview(request: Request) -> Response:
    """The public page of this event, drafts included, with a banner for drafts."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    page_ = await svc.read(
        catalogue.event_page, slug=view.event.slug, now=svc.now(), include_drafts=True
    )
    context = public.event_context(request, catalogue.as_published(page_))
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
    Route("/events/{event_id:id}/publish/check", publish_check, name="admin_event_publish_check"),
    Route(
        "/events/{event_id:id}/publish/anyway",
        publish_anyway,
        methods=["POST"],
        name="admin_event_publish_anyway",
    ),
    Route(
        "/events/{event_id:id}/copy", copy_event, methods=["GET", "POST"], name="admin_event_copy"
    ),
    Route(
        "/events/{event_id:id}/unpublish",
        unpublish,
        methods=["POST"],
        name="admin_event_unpublish",
    ),
    Route("/events/{event_id:id}/preview", preview, name="admin_event_preview"),
]
