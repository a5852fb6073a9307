"""Back office: the mail log (captured, sent and failed emails)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import outbox
from booking.web.services import render, services


async def mail_log(request: Request) -> Response:
    svc = services(request)
    rows = await svc.read(outbox.recent, limit=100)
    return render(request, "admin/mail.html", {"rows": rows})


routes = [Route("/mail", mail_log, name="admin_mail")]
