"""Back office: orders across events."""

from __future__ import annotations

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.models import Order
from booking.web.services import render, services


def _recent(session: Session) -> list[Order]:
    return list(session.exec(select(Order).order_by(col(Order.id).desc()).limit(50)).all())


async def order_list(request: Request) -> Response:
    svc = services(request)
    orders = await svc.read(_recent)
    return render(request, "admin/orders.html", {"orders": orders})


routes = [Route("/orders", order_list, name="admin_orders")]
