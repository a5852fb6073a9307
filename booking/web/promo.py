"""Public ends of promo links: /t/{code} and the embeddable ticket box for articles."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import promo
from booking.web import attribution, pagecache
from booking.web.public import LANDING_KEY, load_event_page
from booking.web.services import absolute_url, render, services

# The ticket box may be framed by any article page; everything else on the site may not.
EMBED_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "frame-ancestors *; form-action 'none'; base-uri 'none'"
)


async def short_link(request: Request) -> Response:
    """Land on the link's event page; an unknown or switched-off code lands on the list.

    The redirect is built from the event's slug only: nothing in the request can send the
    reader to another site.
    """
    event = await attribution.arrive_by_link(request, request.path_params["code"])
    if event is None:
        return RedirectResponse(request.url_for("home").path + "?notice=unknown-link", 303)
    request.session[LANDING_KEY] = event.id
    return RedirectResponse(request.url_for("event", slug=event.slug).path, 303)


async def embed(request: Request) -> Response:
    """The same for every reader of an article: kept in every cache, per promo code."""
    slug = request.path_params["slug"]
    code = request.query_params.get("promo", "")[:40]
    return await pagecache.serve(request, ("embed", slug, code), lambda: _embed(request, code))


async def _embed(request: Request, code: str) -> Response:
    svc = services(request)
    page = await load_event_page(request, request.path_params["slug"])
    link = await svc.read(promo.resolve, code=code) if code else None
    target = request.url_for("event", slug=page.event.slug).path
    if link and link[1].id == page.event.id:
        target = request.url_for("promo_link", code=link[0].code).path
    return render(
        request,
        "public/embed.html",
        {"page": page, "event": page.event, "buy_url": absolute_url(request, target)},
        headers={"Content-Security-Policy": EMBED_CSP},
    )


routes = [
    Route("/t/{code:str}", short_link, name="promo_link"),
    Route("/events/{slug:str}/embed", embed, name="event_embed"),
]
