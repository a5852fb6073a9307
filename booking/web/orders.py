"""The buyer's order page, reached only through the secret link in their email."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import order_view
from booking.domain.errors import NotFound
from booking.domain.tickets import grouped, reference
from booking.web.services import render, services


async def order_page(request: Request) -> Response:
    svc = services(request)
    try:
        view = await svc.read(order_view.load, token=request.path_params["token"])
    except NotFound:
        raise HTTPException(404) from None
    return render(
        request,
        "public/order.html",
        {
            "view": view,
            "order": view.order,
            "event": view.event,
            "grouped": grouped,
            "ticket_ref": reference,
        },
        headers={
            "X-Robots-Tag": "noindex",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


routes = [Route("/orders/{token:str}", order_page, name="order")]
