"""Back office: an event's waiting list. Who is waiting and in what order, the offers open
and closed; offer seats to someone now, move someone up, pause the automatic offers, set how
long an offer holds its seats, and export the list."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from booking.domain import reports, waitlist, waitlist_offers
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.models import WaitlistEntry
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.admin.exports import csv_lines
from booking.web.services import services


def _state(session: Session, *, event_id: int, now: Any) -> dict[str, Any]:
    event = reports.get_event(session, event_id=event_id)
    rows = waitlist.rows(session, event_id=event_id, now=now)
    return {"event": event, "rows": rows, "now": now}


async def _load(request: Request, event_id: int) -> dict[str, Any]:
    svc = services(request)
    try:
        return await svc.read(_state, event_id=event_id, now=svc.now())
    except NotFound:
        raise HTTPException(404) from None


async def waiting_list(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    state = await _load(request, event_id)
    event = state["event"]
    values = {"offer_hours": str(event.waitlist_offer_hours)}
    values["paused"] = "yes" if event.waitlist_paused else ""
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = values_of(await request.form())
        try:
            await svc.write(
                waitlist.configure,
                event_id=event_id,
                paused=values.get("paused") == "yes",
                hours_text=values.get("offer_hours", ""),
                actor=await actor(request),
                now=svc.now(),
            )
        except NotFound:
            raise HTTPException(404) from None
        except InvalidInput as exc:
            errors, status = exc.errors, 400
        else:
            flash(request, "The waiting list's settings are saved.")
            return redirect(request, "admin_event_waitlist", event_id=event_id)
    context = {**state, "values": values, "errors": errors}
    return page(request, "admin/waitlist.html", context, status=status)


def _entry_of(session: Session, *, event_id: int, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.event_id != event_id:
        raise NotFound("No one on this event's waiting list with this number")
    return entry


async def act(request: Request) -> Response:
    """Offer now, or move up: one button per row, each its own POST."""
    svc = services(request)
    event_id, entry_id = path_id(request, "event_id"), path_id(request, "entry_id")
    try:
        entry = await svc.read(_entry_of, event_id=event_id, entry_id=entry_id)
    except NotFound:
        raise HTTPException(404) from None
    what = request.path_params["action"]
    who = await actor(request)
    try:
        if what == "offer":
            order = await svc.write(
                waitlist_offers.offer_now, entry_id=entry_id, actor=who, now=svc.now()
            )
            flash(
                request,
                f"Seats are held for {entry.name} until "
                f"{order.expires_at.astimezone(svc.settings.tz):%H:%M on %d %B}; "
                f"the link is on its way to {entry.email}.",
            )
        else:
            await svc.write(waitlist.move_up, entry_id=entry_id, actor=who, now=svc.now())
            flash(request, f"{entry.name} moved up the waiting list.")
    except NotFound:
        raise HTTPException(404) from None
    except BookingError as exc:
        state = await _load(request, event_id)
        event = state["event"]
        values = {"offer_hours": str(event.waitlist_offer_hours)}
        values["paused"] = "yes" if event.waitlist_paused else ""
        context = {**state, "values": values, "errors": {f"entry-{entry_id}": exc.message}}
        return page(request, "admin/waitlist.html", context, status=exc.status)
    return redirect(request, "admin_event_waitlist", event_id=event_id)


async def export(request: Request) -> Response:
    svc = services(request)
    state = await _load(request, path_id(request, "event_id"))
    event = state["event"]
    slug = re.sub(r"[^a-z0-9-]", "", event.slug.lower()) or "event"
    stamp = svc.now().astimezone(svc.settings.tz).strftime("%Y%m%d-%H%M")
    rows = waitlist.export_rows(state["rows"], zone=svc.settings.tz)
    return StreamingResponse(
        csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}-waiting-list-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


routes = [
    Route(
        "/events/{event_id:id}/waitlist",
        waiting_list,
        methods=["GET", "POST"],
        name="admin_event_waitlist",
    ),
    Route("/events/{event_id:id}/waitlist.csv", export, name="admin_event_waitlist_csv"),
    Route(
        "/events/{event_id:id}/waitlist/{entry_id:id}/{action:str}",
        act,
        methods=["POST"],
        name="admin_event_waitlist_act",
    ),
]
