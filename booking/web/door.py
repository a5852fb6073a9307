"""Door staff: the scanning screen and the check-in API it talks to (staff and organisers)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from booking.domain import attendance, catalogue, checkin, devices, users
from booking.domain.errors import InvalidInput
from booking.models import Event, Role, User
from booking.web import boundary
from booking.web.auth import RequireRole, current_user
from booking.web.pagecache import etag_matches
from booking.web.services import render, services

DOOR_ROLES = (Role.STAFF, Role.ORGANISER)
MAX_BULK = 500
MAX_TEXT = checkin.MAX_TEXT
EARLIEST_SINCE = datetime(2000, 1, 1, tzinfo=UTC)


async def _event(request: Request) -> Event:
    event, _ = await _door(request)
    return event


async def _door(request: Request, device: str = "") -> tuple[Event, dict[str, str]]:
    """The event whose door this is (404, or 403 for staff limited to other events), and the
    name of `device` if it has one: one read."""
    svc = services(request)
    user = await _user(request)
    slug = request.path_params["slug"]

    def read(session: Session) -> tuple[Event | None, bool, dict[str, str]]:
        event, allowed = checkin.event_for_door(session, slug=slug, user=user)
        if event is None or not allowed or not device:
            return event, allowed, {}
        return event, allowed, devices.names(session, keys=[device])

    event, allowed, names = await svc.read(read)
    if event is None:
        raise HTTPException(404)
    if not allowed:
        raise HTTPException(403, "Your account cannot check people in at this event")
    return event, names


async def _user(request: Request) -> User:
    user = await current_user(request)
    assert user is not None  # RequireRole ran first
    return user


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def _outcome_json(
    outcome: checkin.Outcome, code: str, names: dict[str, str] | None = None
) -> dict[str, Any]:
    ticket = outcome.ticket
    return {
        "result": outcome.result,
        "reason": outcome.reason or None,
        "message": outcome.message,
        "code": ticket.code if ticket else code,
        "ticket": None
        if ticket is None
        else {
            "name": ticket.name,
            "type": ticket.type,
            "reference": ticket.reference,
            "access": ticket.access,
        },
        "checked_in_at": _iso(outcome.checked_in_at),
        "by": outcome.by,
        "device": outcome.device,
        "device_name": devices.label(names or {}, outcome.device) if outcome.device else "",
        "checkin_id": outcome.checkin_id,
    }


def _counts_json(counts: attendance.Counts) -> dict[str, Any]:
    return {
        "admitted": counts.admitted,
        "expected": counts.expected,
        "conflicts": counts.conflicts,
        "by_type": [
            {"name": t.name, "admitted": t.admitted, "expected": t.expected} for t in counts.by_type
        ],
    }


def _invalid(message: str) -> JSONResponse:
    return JSONResponse({"error": "invalid", "message": message}, 400)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await boundary.read_json(request)
    except boundary.Refused as exc:
        raise HTTPException(400, str(exc)) from None
    if not isinstance(body, dict):
        raise HTTPException(400, "Send a JSON object")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value[:MAX_TEXT] if isinstance(value, str) else ""


# Pages ----------------------------------------------------------------------------------


async def door_home(request: Request) -> Response:
    svc = services(request)
    upcoming, past = await svc.read(catalogue.upcoming_and_past, now=svc.now())
    user = await _user(request)
    if user.role != Role.ORGANISER and user.id is not None:
        allowed = await svc.read(users.door_event_ids, user_id=user.id)
        if allowed:  # staff limited to named events see only those
            upcoming = [e for e in upcoming if e.id in allowed]
            past = [e for e in past if e.id in allowed]
    context = {
        "events": upcoming,
        "past": past[:5],
        "flash": request.session.pop("admin_flash", None),  # e.g. "you are signed in"
    }
    return render(request, "door/index.html", context)


async def door_event(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    query = request.query_params.get("q", "")[:MAX_TEXT]
    counts = await svc.read(attendance.counts, event_id=event.id)
    found = await svc.read(attendance.search, event_id=event.id, query=query) if query else []
    return render(
        request,
        "door/scan.html",
        {
            "event": event,
            "counts": _counts_json(counts),
            "attendees": found,
            "query": query,
            "form_nonce": secrets.token_urlsafe(12),
            "autostart": request.query_params.get("camera") == "on",
            "status_words": STATUS_WORDS,
        },
        headers={"Cache-Control": "no-store"},
    )


STATUS_WORDS = {
    "cancelled": "Cancelled or refunded",
    "returned": "Released by its holder",
    "released": "Not paid",
    "held": "Not paid",
}


async def door_list(request: Request) -> Response:
    """The event's valid tickets on paper: name, reference, type and a box to tick."""
    svc = services(request)
    event = await _event(request)
    rows = await svc.read(attendance.door_list, event_id=event.id)
    return render(
        request,
        "door/list.html",
        {"event": event, "rows": rows, "printed_at": svc.now()},
        headers={"Cache-Control": "no-store"},
    )


MAX_PARTY = 20  # codes one "Admit all on this order" form may send


async def door_admit(request: Request) -> Response:
    """Admit a typed code, or everyone on an order, from the page's forms: the screen
    without JavaScript."""
    svc = services(request)
    event = await _event(request)
    form = await request.form()
    codes = [str(c)[:MAX_TEXT] for c in form.getlist("code")[:MAX_PARTY]] or [""]
    form_nonce = form.get("nonce") or secrets.token_urlsafe(12)
    outcomes = []
    for code in codes:
        # The same form sent twice (a reload) is one admission; another code is another.
        seed = f"{form_nonce}:{checkin.canonical(code)}"
        outcomes.append(
            await svc.write(
                checkin.admit,
                event_id=event.id,
                code=code,
                nonce="form-" + hashlib.sha256(seed.encode()).hexdigest()[:32],
                device=devices.FORM,
                by=await _user(request),
                now=svc.now(),
                key=svc.ticket_key,
            )
        )
    if len(outcomes) > 1:
        return render(request, "door/result_all.html", {"event": event, "outcomes": outcomes})
    return render(request, "door/result.html", {"event": event, "outcome": outcomes[0]})


# API ------------------------------------------------------------------------------------


async def api_checkins(request: Request) -> Response:
    """GET: counts (and, with ?since=, the admissions changed since). POST: admit a code."""
    if request.method == "GET":
        return await _counts(request)
    svc = services(request)
    body = await _json_body(request)
    code, nonce, device = _text(body, "code"), _text(body, "nonce"), _text(body, "device")
    event, names = await _door(request, device)  # this device's name, read with the event
    if not code.strip() or not nonce:
        return _invalid("Send a code and a nonce")
    outcome = await svc.write(
        checkin.admit,
        event_id=event.id,
        code=code,
        nonce=nonce,
        device=device,
        by=await _user(request),
        now=svc.now(),
        key=svc.ticket_key,
    )
    if outcome.device and outcome.device != device:  # another device's admission
        names = await svc.read(devices.names, keys=[outcome.device])
    return JSONResponse(_outcome_json(outcome, code, names))


async def _counts(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    now = svc.now()
    answer: dict[str, Any] = {}
    since_text = request.query_params.get("since")
    if since_text is not None:
        try:
            since = datetime.fromisoformat(since_text.replace(" ", "+").replace("Z", "+00:00"))
            # In UTC, which a time at the calendar's very ends cannot be.
            since = since.astimezone(UTC) if since.tzinfo else since
        except (ValueError, OverflowError):
            return _invalid("since must be a time as ISO 8601, e.g. the last server_time")
        if since.tzinfo is None:
            return _invalid("since needs a time zone, e.g. the last server_time")
        since = max(since, EARLIEST_SINCE)  # anything earlier asks for every change
        answer["changes"] = await svc.read(attendance.changes, event=event, since=since)
    counts = await svc.read(attendance.counts, event_id=event.id)
    return JSONResponse(
        {**_counts_json(counts), **answer, "server_time": now.isoformat()},
        headers={"Cache-Control": "no-store"},
    )


async def api_bulk(request: Request) -> Response:
    """Sync admissions a device made offline (see `checkin.sync_offline`)."""
    svc = services(request)
    event = await _event(request)
    body = await _json_body(request)
    admissions = body.get("admissions")
    device = _text(body, "device")
    if (
        not device
        or not isinstance(admissions, list)
        or len(admissions) > MAX_BULK
        or not all(isinstance(a, dict) for a in admissions)
    ):
        return _invalid(f"Send a device and up to {MAX_BULK} admissions as a list")
    results = await svc.write(
        checkin.sync_offline,
        event_id=event.id,
        admissions=admissions,
        device=device,
        by=await _user(request),
        now=svc.now(),
        key=svc.ticket_key,
    )
    names = await svc.read(
        devices.names, keys=[d for r in results for d in (r.first_device, r.later_device)]
    )
    return JSONResponse(
        {
            "results": [
                {
                    "nonce": r.nonce,
                    "result": r.result,
                    "reason": r.reason or None,
                    "message": r.message,
                    "code": r.code,
                    "first": None
                    if r.first_at is None
                    else {
                        "at": _iso(r.first_at),
                        "by": r.first_by,
                        "device": r.first_device,
                        "device_name": devices.label(names, r.first_device),
                    },
                    "later": None
                    if r.later_at is None
                    else {
                        "at": _iso(r.later_at),
                        "by": r.later_by,
                        "device": r.later_device,
                        "device_name": devices.label(names, r.later_device),
                    },
                }
                for r in results
            ]
        }
    )


async def api_undo(request: Request) -> Response:
    """Undo one admission, named by the nonce its device made (or by its checkin_id)."""
    svc = services(request)
    event = await _event(request)
    body = await _json_body(request)
    checkin_id = body.get("checkin_id")
    if checkin_id is not None and not boundary.is_id(checkin_id):
        return _invalid("checkin_id must be a number")
    nonce = _text(body, "nonce")
    if not nonce and checkin_id is None:
        return _invalid("Send the nonce of the admission to undo")
    done = await svc.write(
        checkin.undo,
        event_id=event.id,
        code=_text(body, "code"),
        nonce=nonce or None,
        checkin_id=checkin_id,
        by=await _user(request),
        now=svc.now(),
    )
    return JSONResponse(
        {
            "ok": done.ok,
            "message": done.message,
            "checkin_id": done.checkin_id,
            "duplicate": done.duplicate,
            "still_in": done.still_in,
        }
    )


async def api_device(request: Request) -> Response:
    """Name this device ("Main door phone"): {device, name}."""
    svc = services(request)
    await _event(request)
    body = await _json_body(request)
    try:
        device = await svc.write(
            devices.rename,
            key=_text(body, "device"),
            name=body.get("name") if isinstance(body.get("name"), str) else "",
            by=await _user(request),
            now=svc.now(),
        )
    except InvalidInput as exc:
        return JSONResponse({"error": "invalid", "message": exc.message, "errors": exc.errors}, 400)
    return JSONResponse({"device": device.key, "name": device.name})


async def api_attendees(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    found = await svc.read(
        attendance.search, event_id=event.id, query=request.query_params.get("q", "")[:MAX_TEXT]
    )
    return JSONResponse(
        {"attendees": [{**a.__dict__, "checked_in_at": _iso(a.checked_in_at)} for a in found]},
        headers={"Cache-Control": "no-store"},
    )


async def api_tickets(request: Request) -> Response:
    """The event's tickets for the device's offline list; 304 when the device's copy
    (If-None-Match) is current."""
    svc = services(request)
    event = await _event(request)
    listing = await svc.read(attendance.ticket_list, event=event)
    body = json.dumps(
        {
            "event": event.slug,
            "salt": listing.salt,
            "expires_at": listing.expires_at.isoformat(),
            "tickets": listing.tickets,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    # Compressed on the way out, the ETag reaches the device weak: compare weakly (RFC 9110).
    if etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    stamped = body[:-1] + f',"server_time":"{svc.now().isoformat()}"}}'.encode()
    return Response(stamped, media_type="application/json", headers=headers)


guard = [Middleware(RequireRole, roles=DOOR_ROLES)]
api_guard = [Middleware(RequireRole, roles=DOOR_ROLES, api=True)]

routes = [
    Mount(
        "/door",
        routes=[
            Route("/", door_home, name="door_home"),
            Route("/{slug:str}", door_event, name="door_event"),
            Route("/{slug:str}/admit", door_admit, methods=["POST"], name="door_admit"),
            Route("/{slug:str}/list", door_list, name="door_list"),
        ],
        middleware=guard,
    ),
    Mount(
        "/api/events/{slug:str}",
        routes=[
            Route("/checkins", api_checkins, methods=["GET", "POST"], name="api_checkins"),
            Route("/checkins/bulk", api_bulk, methods=["POST"], name="api_checkins_bulk"),
            Route("/checkins/undo", api_undo, methods=["POST"], name="api_checkins_undo"),
            Route("/device", api_device, methods=["POST"], name="api_device"),
            Route("/attendees", api_attendees, name="api_attendees"),
            Route("/tickets", api_tickets, name="api_tickets"),
        ],
        middleware=api_guard,
    ),
]
