"""The organisers' back office under /admin: one module per area, all behind the organiser guard."""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from booking.models import Role
from booking.web.auth import RequireRole


def routes() -> list[BaseRoute]:
    from booking.web.admin import (
        announcements,
        cancel,
        dashboard,
        event_pages,
        events,
        exports,
        guests,
        mail,
        media,
        messages,
        order_actions,
        orders,
        promo,
        promo_edit,
        questions,
        site,
        speakers,
        ticket_types,
        users,
        venues,
        waitlist,
    )

    area = [*events.routes, *orders.routes, *mail.routes, *users.routes, *promo.routes]
    area += [
        *ticket_types.routes,
        *speakers.routes,
        *announcements.routes,
        *media.routes,
        *cancel.routes,
    ]
    area += [*order_actions.routes, *dashboard.routes, *exports.routes, *site.routes]
    area += [*guests.routes, *messages.routes, *questions.routes, *waitlist.routes]
    area += [*event_pages.routes, *venues.routes, *promo_edit.routes]
    return [
        Mount("/admin", routes=area, middleware=[Middleware(RequireRole, roles=[Role.ORGANISER])]),
        *users.public_routes,  # /invitation/{token}: for people who cannot sign in yet
    ]
