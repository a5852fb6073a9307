"""Pages for readers: the event list, an event page and its calendar file."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import ics
from booking.domain import catalogue, questions, waitlist
from booking.models import Event, Venue
from booking.templating import site_path
from booking.web import attribution, pagecache, seo
from booking.web.security import open_form_token
from booking.web.services import absolute_url, render, services

NAME_SLOTS = 10  # at most this many "Name on ticket N" fields on the buy form
LANDING_KEY = "land_on_tickets"


async def home(request: Request) -> Response:
    if pagecache.anonymous(request):
        return await pagecache.serve(request, ("home",), lambda: _home(request))
    return pagecache.private(await _home(request))


async def _home(request: Request) -> Response:
    svc = services(request)

    def load(session: Session) -> tuple[list[Event], list[Event], dict[int | None, Venue]]:
        upcoming, past = catalogue.upcoming_and_past(session, now=svc.now())
        return upcoming, past, catalogue.venues_by_id(session, upcoming + past)

    upcoming, past, venues = await svc.read(load)
    return render(
        request, "public/home.html", {"upcoming": upcoming, "past": past, "venues": venues}
    )


async def load_event_page(
    request: Request, slug: str, *, recent: bool = False
) -> catalogue.EventPage:
    """The event page's data. `recent`: this process's copy, as current as the cached page
    (organisers' changes at once, sale states within pagecache.FRESH_SECONDS), for pages
    and checks whose decision is taken again under the event's lock."""
    svc = services(request)

    async def load() -> catalogue.EventPage:
        return await svc.read(catalogue.event_page, slug=slug, now=svc.now())

    if recent:
        return await pagecache.recent(request, ("event-page", slug), load)
    return await load()


def event_context(
    request: Request, page: catalogue.EventPage, view: attribution.CodeView | None = None
) -> dict[str, object]:
    svc = services(request)
    url = absolute_url(request, site_path(request.app.router, "event", slug=page.event.slug))
    image = absolute_url(request, page.event.hero_image) if page.event.hero_image else None
    details = f"{page.event.strapline}\n\n{url}".strip()
    offers = view.offers if view else page.offers
    prices = view.prices if view else {}
    buyable = [o for o in offers if o.state.buyable] if not page.is_cancelled else []
    checkout = site_path(request.app.router, "checkout_start", slug=page.event.slug)
    return {
        "page": page,
        "event": page.event,
        "canonical_url": url,
        "og_image": image,
        "jsonld": seo.jsonld_script(
            seo.event_jsonld(page, url=url, zone=svc.settings.tz, image=image)
        ),
        "google_calendar": ics.google_calendar_link(page.event, venue=page.venue, details=details),
        "outlook_calendar": ics.outlook_calendar_link(
            page.event, venue=page.venue, details=details
        ),
        "hold_minutes": svc.settings.hold_minutes,
        "questions_open": questions.open_for(page.event, now=svc.now()),
        "question_limit": questions.MAX_LENGTH,
        "offers": offers,
        "access_code": view.code if view else None,
        "prices": prices,
        "summary": catalogue.ticket_summary(offers, availability=page.availability, prices=prices),
        # One ticket type on sale: its quantity starts at 1, so a reader types only two fields.
        "default_quantity": {buyable[0].ticket_type.id: "1"} if len(buyable) == 1 else {},
        "pays": any(prices.get(o.ticket_type.id or 0, o.ticket_type.price) for o in buyable),
        "name_slots": min(NAME_SLOTS, sum(o.max_quantity for o in buyable)),
        "tickets_first": False,
        "waitlist_open": waitlist.is_open(page),
        "waitlist_types": waitlist.choices(page),
        "waitlist_max": waitlist.max_quantity(page),
        # Needs no cookie, so the page with the buy form can be cached (booking.web.security).
        "checkout_token": open_form_token(svc.form_key, checkout),
        "waitlist_token": open_form_token(
            svc.form_key, site_path(request.app.router, "waitlist_join", slug=page.event.slug)
        ),
    }


async def event(request: Request) -> Response:
    slug = request.path_params["slug"]
    if pagecache.anonymous(request):
        return await pagecache.serve(request, ("event", slug), lambda: _first_visit(request, slug))
    return pagecache.private(await _personal(request, slug))


async def _first_visit(request: Request, slug: str) -> Response:
    """The page every first visitor gets: no code, no promo link, nothing from a session.
    Built only when the process has no current copy, so its data is read afresh."""
    page = await load_event_page(request, slug)
    context = event_context(request, page)
    context.update(values={"code": ""}, errors={})
    return render(request, "public/event.html", context)


async def _personal(request: Request, slug: str) -> Response:
    page = await load_event_page(request, slug, recent=True)
    await attribution.record_arrival(request, page.event)
    assert page.event.id is not None
    code = request.query_params.get("code", "")[:40] or attribution.carried_code(
        request, page.event.id
    )
    view = await attribution.apply_code(request, page, code)
    context = event_context(request, page, view)
    errors = {"code": view.error} if view.error else {}
    context.update(values={"code": code}, errors=errors)
    # A reader who came by a promo link has read the article: the ticket form comes first.
    landed = request.session.pop(LANDING_KEY, None) == page.event.id
    context["tickets_first"] = landed or bool(request.query_params.get("promo"))
    status = 429 if view.limited else 400 if errors else 200
    return render(request, "public/event.html", context, status_code=status)


async def event_ics(request: Request) -> Response:
    slug = request.path_params["slug"]
    # The calendar's UIDs name the host the file was asked from.
    key = ("ics", slug, request.url.hostname)
    return await pagecache.serve(request, key, lambda: _event_ics(request))


async def _event_ics(request: Request) -> Response:
    svc = services(request)
    page = await load_event_page(request, request.path_params["slug"])
    url = absolute_url(request, site_path(request.app.router, "event", slug=page.event.slug))
    body = ics.event_calendar(
        page.event,
        venue=page.venue,
        url=url,
        zone=svc.settings.tz,
        uid_domain=request.url.hostname or "booking",
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{page.event.slug}.ics"'},
    )


routes = [
    Route("/", home, name="home"),
    Route("/events/{slug:str}.ics", event_ics, name="event_ics"),
    Route("/events/{slug:str}", event, name="event"),
]
