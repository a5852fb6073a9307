"""Door staff: the scanning screen and the check-in API it talks to."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from booking.domain import catalogue, checkin
from booking.models import Event, Role, User
from booking.web.auth import RequireRole, current_user
from booking.web.services import render, services

DOOR_ROLES = (Role.STAFF, Role.ORGANISER)
MAX_BULK = 500


async def _event(request: Request) -> Event:
    svc = services(request)
    event = await svc.read(checkin.event_for_door, slug=request.path_params["slug"])
    if event is None:
        raise HTTPException(404)
    return event


async def _user(request: Request) -> User:
    user = await current_user(request)
    assert user is not None  # RequireRole ran first
    return user


def _outcome_json(outcome: checkin.Outcome, code: str) -> dict[str, Any]:
    ticket = outcome.ticket
    return {
        "result": outcome.result,
        "message": outcome.message,
        "code": ticket.code if ticket else code,
        "ticket": None
        if ticket is None
        else {"name": ticket.name, "type": ticket.type, "reference": ticket.reference},
        "checked_in_at": outcome.checked_in_at.isoformat() if outcome.checked_in_at else None,
        "by": outcome.by,
        "checkin_id": outcome.checkin_id,
    }


def _counts_json(counts: checkin.Counts) -> dict[str, Any]:
    return {
        "admitted": counts.admitted,
        "expected": counts.expected,
        "conflicts": counts.conflicts,
        "by_type": [
            {"name": t.name, "admitted": t.admitted, "expected": t.expected} for t in counts.by_type
        ],
    }


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "Send a JSON object") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "Send a JSON object")
    return body


# Pages ----------------------------------------------------------------------------------


async def door_home(request: Request) -> Response:
    svc = services(request)
    upcoming, past = await svc.read(catalogue.upcoming_and_past, now=svc.now())
    return render(request, "door/index.html", {"events": upcoming, "past": past[:5]})


async def door_event(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    query = request.query_params.get("q", "")[:100]
    counts = await svc.read(checkin.counts, event_id=event.id)
    attendees = await svc.read(checkin.search, event_id=event.id, query=query) if query else []
    return render(
        request,
        "door/scan.html",
        {
            "event": event,
            "counts": _counts_json(counts),
            "attendees": attendees,
            "query": query,
            "autostart": request.query_params.get("camera") == "on",
        },
    )


async def door_admit(request: Request) -> Response:
    """The no-JavaScript fallback: admit a typed code and show the result page."""
    svc = services(request)
    event = await _event(request)
    form = await request.form()
    code = str(form.get("code", ""))[:100]
    user = await _user(request)
    outcome = await svc.write(
        checkin.admit,
        event_id=event.id,
        code=code,
        nonce=f"form-{svc.now().timestamp()}-{user.id}-{code}",
        device="form",
        by=user,
        now=svc.now(),
        key=svc.ticket_key,
    )
    return render(request, "door/result.html", {"event": event, "outcome": outcome})


# API ------------------------------------------------------------------------------------


async def api_checkins(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    if request.method == "GET":
        counts = await svc.read(checkin.counts, event_id=event.id)
        return JSONResponse({**_counts_json(counts), "server_time": svc.now().isoformat()})
    body = await _json_body(request)
    code = str(body.get("code", ""))[:100]
    nonce = str(body.get("nonce", ""))[:100]
    if not code or not nonce:
        return JSONResponse({"error": "invalid", "message": "Send a code and a nonce"}, 400)
    outcome = await svc.write(
        checkin.admit,
        event_id=event.id,
        code=code,
        nonce=nonce,
        device=str(body.get("device", ""))[:100],
        by=await _user(request),
        now=svc.now(),
        key=svc.ticket_key,
    )
    return JSONResponse(_outcome_json(outcome, code))


async def api_bulk(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    body = await _json_body(request)
    admissions = body.get("admissions")
    if (
        not isinstance(admissions, list)
        or len(admissions) > MAX_BULK
        or not all(isinstance(a, dict) for a in admissions)
    ):
        return JSONResponse(
            {"error": "invalid", "message": f"Send up to {MAX_BULK} admissions as a list"}, 400
        )
    results = await svc.write(
        checkin.sync_offline,
        event_id=event.id,
        admissions=admissions,
        device=str(body.get("device", ""))[:100],
        by=await _user(request),
        now=svc.now(),
        key=svc.ticket_key,
    )
    return JSONResponse({"results": [r.__dict__ for r in results]})


async def api_undo(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    body = await _json_body(request)
    done = await svc.write(
        checkin.undo,
        event_id=event.id,
        code=str(body.get("code", ""))[:100],
        by=await _user(request),
        now=svc.now(),
    )
    return JSONResponse({"ok": done, "message": "" if done else "That ticket was not admitted"})


async def api_attendees(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    found = await svc.read(
        checkin.search, event_id=event.id, query=request.query_params.get("q", "")[:100]
    )
    return JSONResponse(
        {
            "attendees": [
                {
                    **a.__dict__,
                    "checked_in_at": a.checked_in_at.isoformat() if a.checked_in_at else None,
                }
                for a in found
            ]
        }
    )


async def api_tickets(request: Request) -> Response:
    svc = services(request)
    event = await _event(request)
    listing = await svc.read(checkin.ticket_list, event_id=event.id)
    return JSONResponse(
        {"tickets": listing, "server_time": svc.now().isoformat()},
        headers={"Cache-Control": "no-store"},
    )


guard = [Middleware(RequireRole, roles=DOOR_ROLES)]
api_guard = [Middleware(RequireRole, roles=DOOR_ROLES, api=True)]

routes = [
    Mount(
        "/door",
        routes=[
            Route("/", door_home, name="door_home"),
            Route("/{slug:str}", door_event, name="door_event"),
            Route("/{slug:str}/admit", door_admit, methods=["POST"], name="door_admit"),
        ],
        middleware=guard,
    ),
    Mount(
        "/api/events/{slug:str}",
        routes=[
            Route("/checkins", api_checkins, methods=["GET", "POST"], name="api_checkins"),
            Route("/checkins/bulk", api_bulk, methods=["POST"], name="api_checkins_bulk"),
            Route("/checkins/undo", api_undo, methods=["POST"], name="api_checkins_undo"),
            Route("/attendees", api_attendees, name="api_attendees"),
            Route("/tickets", api_tickets, name="api_tickets"),
        ],
        middleware=api_guard,
    ),
]
