"""HTTP handlers, one module per audience; `routes()` lists them all."""

from __future__ import annotations

from starlette.routing import BaseRoute

from booking.web import boundary  # noqa: F401 (registers the {name:id} path convertor)


def routes() -> list[BaseRoute]:
    from booking.web import (
        admin,
        api,
        auth,
        brand,
        chair,
        checkout,
        door,
        orders,
        promo,
        public,
        waitlist,
        webhooks,
    )

    return [
        *promo.routes,
        *public.routes,
        *brand.routes,
        *checkout.routes,
        *orders.routes,
        *chair.routes,
        *waitlist.routes,
        *webhooks.routes,
        *auth.routes,
        *door.routes,
        *admin.routes(),
        *api.routes,
    ]
