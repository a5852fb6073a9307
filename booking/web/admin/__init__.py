"""The organisers' back office under /admin: one module per area, all behind the organiser guard."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from booking.models import Role
from booking.web.auth import RequireRole


def routes() -> list[BaseRoute]:
    from booking.web.admin import events, mail, orders, users

    area = [*events.routes, *orders.routes, *mail.routes, *users.routes]
    return [
        Mount("/admin", routes=area, middleware=[Middleware(RequireRole, roles=[Role.ORGANISER])])
    ]
