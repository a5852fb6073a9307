"""The waiting list for readers: join from the event page, see or leave one's place, and
take up an offer from its email link (the offer's secret order token)."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking import checkout
from booking.domain import orders, waitlist, waitlist_offers
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.payments import LineItem, PaymentError
from booking.web import attribution
from booking.web.orders import PRIVATE, TOKEN_RE, token_route
from booking.web.public import event_context, load_event_page
from booking.web.services import absolute_url, render, services

FIELDS = {
    "wl-name": "name",
    "wl-email": "email",
    "wl-quantity": "quantity",
    "wl-type": "ticket_type",
}
NAMES = {domain: html for html, domain in FIELDS.items()}


def _values(form: FormData) -> dict[str, str]:
    return {k: str(v)[:300] for k, v in form.items() if k in FIELDS and isinstance(v, str)}


async def _event_page(request: Request, slug: str, **extra: object) -> dict[str, object]:
    page = await load_event_page(request, slug)
    view = await attribution.apply_code(request, page, "")
    context = event_context(request, page, view)
    context.update(values={}, errors={}, **extra)
    return context


async def join(request: Request) -> Response:
    svc = services(request)
    slug = request.path_params["slug"]
    page = await load_event_page(request, slug)
    assert page.event.id is not None
    values = _values(await request.form())
    if not waitlist.is_open(page):
        return RedirectResponse(request.url_for("event", slug=slug).path, 303)
    wanted, errors = waitlist.validate(page, {d: values.get(h, "") for h, d in FIELDS.items()})
    if not errors:
        try:
            entry = await svc.write(
                waitlist.join, event_id=page.event.id, request=wanted, now=svc.now()
            )
        except InvalidInput as exc:
            errors = exc.errors
        except NotFound:
            raise HTTPException(404) from None
        except BookingError as exc:
            errors = {"email": exc.message}
        else:
            return RedirectResponse(request.url_for("waitlist_entry", token=entry.token).path, 303)
    shown = {NAMES.get(k, k): v for k, v in errors.items()}
    context = await _event_page(request, slug, waitlist_values=values, waitlist_errors=shown)
    context["errors"] = shown  # the page's error summary links to the list's fields
    return render(request, "public/event.html", context, status_code=400)


def _token(request: Request) -> str:
    token = str(request.path_params["token"])
    if not TOKEN_RE.fullmatch(token):
        raise NotFound("No place on a waiting list at this address")
    return token


@token_route
async def entry_page(request: Request) -> Response:
    svc = services(request)
    token = _token(request)
    if request.method == "POST":
        await svc.write(waitlist.leave, token=token, now=svc.now())
        return RedirectResponse(request.url_for("waitlist_entry", token=token).path, 303)
    place = await svc.read(waitlist.place, token=token)
    return render(request, "public/waitlist_entry.html", {"place": place, "event": place.event})


@token_route
async def offer_page(request: Request) -> Response:
    svc = services(request)
    token = _token(request)
    seen = await svc.read(waitlist_offers.view, token=token, now=svc.now())
    if seen.state == "taken":
        return RedirectResponse(request.url_for("order", token=token).path, 303)
    error = ""
    if request.method == "POST" and seen.state == "open":
        try:
            return await _take_up(request, seen)
        except (BookingError, checkout.CheckoutUnavailable) as exc:
            error = getattr(exc, "message", "") or (
                "We could not reach our payment provider, so nothing has been charged. Your "
                "seats are still held for you: try again in a minute."
            )
        seen = await svc.read(waitlist_offers.view, token=token, now=svc.now())
    status = 200 if not error else 503
    return render(
        request,
        "public/waitlist_offer.html",
        {"offer": seen, "order": seen.order, "event": seen.event, "error": error},
        status_code=status,
        headers=PRIVATE,
    )


async def _take_up(request: Request, seen: waitlist_offers.OfferView) -> Response:
    """Continue to payment for the held seats (or confirm them, when free)."""
    svc = services(request)
    order = await svc.write(waitlist_offers.take_up, token=seen.order.token, now=svc.now())
    assert order.id is not None
    if order.total == 0:
        await svc.write(
            orders.confirm_free, order_id=order.id, now=svc.now(), code_key=svc.ticket_key
        )
        return RedirectResponse(request.url_for("order", token=order.token).path, 303)
    if order.stripe_session_id:  # made before: send them back to it, or settle it
        try:
            session = await checkout.payments(svc).retrieve_checkout(order.stripe_session_id)
        except PaymentError as exc:
            raise checkout.CheckoutUnavailable(str(exc)) from exc
        if session.status == "open" and session.url:
            return RedirectResponse(session.url, 303)
        await checkout.settle(svc, session)
        return RedirectResponse(request.url_for("order", token=order.token).path, 303)
    lines = [
        LineItem(
            name=f"{line.name} ticket: {seen.event.title}",
            unit_amount=line.unit_price,
            quantity=line.quantity,
            currency=order.currency,
        )
        for line in seen.lines
    ]
    success = absolute_url(request, request.url_for("checkout_success").path)
    url = await checkout.start(
        svc,
        order=order,
        lines=lines,
        event_title=seen.event.title,
        success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=absolute_url(request, request.url_for("waitlist_offer", token=order.token).path),
        release_on_error=False,
    )
    return RedirectResponse(url, 303)


routes = [
    Route("/events/{slug:str}/waitlist", join, methods=["POST"], name="waitlist_join"),
    Route("/waitlist/{token:str}", entry_page, methods=["GET", "POST"], name="waitlist_entry"),
    Route("/offers/{token:str}", offer_page, methods=["GET", "POST"], name="waitlist_offer"),
]
