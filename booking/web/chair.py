"""The chair's private link: the accepted questions for the panel, read-only, in the order
the organisers set, and a print view. No sign-in; the link is the key, and the organisers
can replace or revoke it."""

from __future__ import annotations

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import questions
from booking.domain.errors import NotFound
from booking.domain.tickets import derive_key
from booking.web.services import render, services

PRIVATE = {"X-Robots-Tag": "noindex", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _load(session: Session, *, key: bytes, event_id: int, token: str) -> dict[str, object]:
    event = questions.chair_event(session, key=key, event_id=event_id, token=token)
    assert event.id is not None
    return {"event": event, "rows": questions.running_order(session, event_id=event.id)}


async def _state(request: Request) -> dict[str, object]:
    svc = services(request)
    token = str(request.path_params["token"])[:100]
    try:
        return await svc.read(
            _load,
            key=derive_key(svc.settings.secret_key, "chair"),
            event_id=int(request.path_params["event_id"]),
            token=token,
        )
    except NotFound:
        raise HTTPException(404) from None


async def chair(request: Request) -> Response:
    state = await _state(request)
    token = request.path_params["token"]
    print_url = request.url_for(
        "chair_print", event_id=request.path_params["event_id"], token=token
    )
    context = {**state, "print_url": print_url.path}
    return render(request, "chair/questions.html", context, headers=PRIVATE)


async def chair_print(request: Request) -> Response:
    return render(request, "chair/print.html", await _state(request), headers=PRIVATE)


routes = [
    Route("/chair/{event_id:id}/{token:str}", chair, name="chair"),
    Route("/chair/{event_id:id}/{token:str}/print", chair_print, name="chair_print"),
]
