"""Back office: the events list (the back office's home page)."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.models import Event
from booking.web.services import render, services


def _all_events(session: Session) -> list[Event]:
    return list(session.exec(select(Event).order_by(col(Event.starts_at).desc())).all())


async def home(request: Request) -> Response:
    svc = services(request)
    events = await svc.read(_all_events)
    return render(request, "admin/events.html", {"events": events})


routes = [Route("/", home, name="admin_home")]
