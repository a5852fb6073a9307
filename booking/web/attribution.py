"""Where a reader came from, kept from their first page to the paid order.

A promo link (/t/{code} or ?promo=) or utm_* parameters are recorded as a visit and kept in
the signed session cookie; the buy form also carries the link's code in a hidden field.
Both survive the trip to Stripe and back because the order records them when it is made.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlmodel import Session
from starlette.requests import Request

from booking.domain import access_codes, code_guesses, promo
from booking.domain.catalogue import EventPage, Offer
from booking.domain.errors import InvalidInput
from booking.domain.orders import Attribution
from booking.models import AccessCode, Event, PromoLink
from booking.ratelimit import RateLimited
from booking.web.services import services

SESSION_KEY = "came"


def _visitor(request: Request) -> str:
    vid = request.session.get("vid")
    if not isinstance(vid, str):
        vid = secrets.token_urlsafe(12)
        request.session["vid"] = vid
    return promo.visitor_hash(vid)


async def _remember(
    request: Request, event: Event, *, link: PromoLink | None, source: str, code: str = ""
) -> None:
    svc = services(request)
    assert event.id is not None
    visit = promo.Visit(
        event_id=event.id,
        source=source,
        visitor=_visitor(request),
        bot=promo.is_bot(request.headers.get("user-agent", "")),
        promo_link_id=link.id if link else None,
    )
    await svc.write(promo.record_visit, visit=visit, now=svc.now())
    request.session[SESSION_KEY] = {
        "event": event.id,
        "link": link.id if link else None,
        "source": source,
        "code": code,
    }


def _link_code(session: Session, *, link: PromoLink) -> str:
    if not link.access_code_id:
        return ""
    code = session.get(AccessCode, link.access_code_id)
    return code.code if code and code.active else ""


async def record_arrival(request: Request, event: Event) -> None:
    """Note a promo link (?promo=) or utm_* campaign on an event page, once per visit."""
    svc = services(request)
    params = request.query_params
    code = params.get("promo", "")
    if code:
        found = await svc.read(promo.resolve, code=code)
        if found and found[1].id == event.id:
            link = found[0]
            access = await svc.read(_link_code, link=link)
            await _remember(request, event, link=link, source=f"link:{link.code}", code=access)
            return
    source = promo.utm_source(dict(params))
    if source:
        await _remember(request, event, link=None, source=source)


async def arrive_by_link(request: Request, code: str) -> Event | None:
    """/t/{code}: record the visit and return the event to land on (None if unknown)."""
    svc = services(request)
    found = await svc.read(promo.resolve, code=code)
    if found is None:
        return None
    link, event = found
    access = await svc.read(_link_code, link=link)
    await _remember(request, event, link=link, source=f"link:{link.code}", code=access)
    return event


def attribution(request: Request, event_id: int, *, code: str, promo_field: str) -> Attribution:
    came = request.session.get(SESSION_KEY)
    if isinstance(came, dict) and came.get("event") == event_id:
        return Attribution(
            promo_link_id=came.get("link"),
            source=str(came.get("source", "")),
            code=code or str(came.get("code", "")),
        )
    if promo_field:
        return Attribution(source=f"link:{promo_field[:40]}", code=code)
    return Attribution(code=code)


def carried_code(request: Request, event_id: int) -> str:
    came = request.session.get(SESSION_KEY)
    if isinstance(came, dict) and came.get("event") == event_id:
        return str(came.get("code", ""))
    return ""


@dataclass
class CodeView:
    """The event's offers as this reader sees them, with their code applied."""

    offers: list[Offer]
    code: AccessCode | None = None
    error: str = ""
    prices: dict[int, int] = field(default_factory=dict)
    limited: bool = False  # too many wrong codes from this address


async def apply_code(request: Request, page: EventPage, code_text: str) -> CodeView:
    """The offers with `code_text` applied; each code is looked up once per request, and
    wrong guesses are limited per address (booking.domain.code_guesses)."""
    seen = request.scope.setdefault("booking.codes", {})
    if (page.event.id, code_text) not in seen:
        seen[(page.event.id, code_text)] = await _apply_code(request, page, code_text)
    view: CodeView = seen[(page.event.id, code_text)]
    return view


async def _apply_code(request: Request, page: EventPage, code_text: str) -> CodeView:
    svc = services(request)
    offers = list(page.offers)
    if not code_text.strip():
        return CodeView(offers)
    try:
        code = await svc.write(
            code_guesses.check,
            event_id=page.event.id,
            code=code_text,
            address=request.client.host if request.client else "unknown",
            now=svc.now(),
        )
    except InvalidInput as exc:
        return CodeView(offers, error=exc.errors["code"])
    except RateLimited as exc:
        return CodeView(offers, error=exc.message, limited=True)
    offers += [o for o in page.hidden_offers if o.ticket_type.id == code.unlocks_ticket_type_id]
    prices = {
        o.ticket_type.id: access_codes.price(o.ticket_type.price, code)
        for o in offers
        if o.ticket_type.id is not None
    }
    return CodeView(offers, code, prices=prices)
