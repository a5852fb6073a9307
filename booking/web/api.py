"""The public JSON API and the health check."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking.domain import catalogue
from booking.models import Event, Venue
from booking.web import openapi, pagecache
from booking.web.services import absolute_url, services


def _event_summary(request: Request, event: Any, venue: Any) -> dict[str, Any]:
    tz = services(request).settings.tz
    return {
        "slug": event.slug,
        "title": event.title,
        "strapline": event.strapline,
        "status": event.status,
        "starts_at": event.starts_at.astimezone(tz).isoformat(),
        "ends_at": event.ends_at.astimezone(tz).isoformat() if event.ends_at else None,
        "doors_at": event.doors_at.astimezone(tz).isoformat() if event.doors_at else None,
        "venue": None
        if venue is None
        else {
            "name": venue.name,
            "address": venue.address,
            "locality": venue.locality,
            "postcode": venue.postcode,
            "map_url": venue.map_url,
        },
        "url": absolute_url(request, request.url_for("event", slug=event.slug).path),
    }


async def list_events(request: Request) -> Response:
    return await pagecache.serve(request, ("api_events",), lambda: _list_events(request))


async def _list_events(request: Request) -> Response:
    svc = services(request)

    def load(session: Session) -> tuple[list[Event], list[Event], dict[int | None, Venue]]:
        upcoming, past = catalogue.upcoming_and_past(session, now=svc.now())
        return upcoming, past, catalogue.venues_by_id(session, upcoming + past)

    upcoming, past, venues = await svc.read(load)
    return JSONResponse(
        {
            "upcoming": [_event_summary(request, e, venues.get(e.venue_id)) for e in upcoming],
            "past": [_event_summary(request, e, venues.get(e.venue_id)) for e in past],
        }
    )


async def event_detail(request: Request) -> Response:
    key = ("api_event", request.path_params["slug"])
    return await pagecache.serve(request, key, lambda: _event_detail(request))


async def _event_detail(request: Request) -> Response:
    svc = services(request)
    page = await svc.read(catalogue.event_page, slug=request.path_params["slug"], now=svc.now())
    data = _event_summary(request, page.event, page.venue)
    data["more_speakers_to_be_announced"] = page.event.more_speakers_tba
    data["organisers"] = [{"name": o.name, "url": o.url} for o in page.organisers]
    data["speakers"] = [
        {"name": s.speaker.name, "affiliation": s.speaker.affiliation, "role": s.role}
        for s in page.speakers
    ]
    data["ticket_types"] = [
        {
            "id": o.ticket_type.id,
            "name": o.ticket_type.name,
            "description": o.ticket_type.description,
            "price": o.ticket_type.price,
            "currency": o.ticket_type.currency,
            "remaining": o.remaining,
            "state": o.state,
            "max_per_order": o.ticket_type.max_per_order,
        }
        for o in page.offers
    ]
    return JSONResponse(data)


async def healthz(request: Request) -> Response:
    svc = services(request)
    ok = await svc.call(svc.db.ping)
    if ok:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "reason": "database not answering"}, 503)


routes = [
    Route("/api/events", list_events, name="api_events"),
    Route("/api/events/{slug:str}", event_detail, name="api_event"),
    Route("/healthz", healthz, name="healthz"),
    Route("/api/openapi.json", openapi.openapi_json, name="api_openapi"),
]
