"""The buy flow: event page form -> hold -> Stripe Checkout -> order page."""

from __future__ import annotations

import dataclasses
import logging
import re

from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking import checkout
from booking.domain import catalogue, orders, questions
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.payments import LineItem, PaymentError
from booking.web import attribution, pagecache
from booking.web.public import NAME_SLOTS, event_context, load_event_page
from booking.web.security import CSRF_FIELD
from booking.web.services import absolute_url, render, services

log = logging.getLogger("booking.checkout")
CHECKOUT_SESSION_RE = re.compile(r"^cs_[A-Za-z0-9_]{1,250}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
FORM_FIELDS = ("name", "email", "promo", "code", "question", "question_full_name")


def _values(form: FormData) -> dict[str, str]:
    return {
        k: str(v)[:300]
        for k, v in form.items()
        if k != CSRF_FIELD
        and isinstance(v, str)
        and (k in FORM_FIELDS or k.startswith(("qty-", "attendee-")))
    }


async def _rerender(
    request: Request,
    slug: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int,
    *,
    fresh: bool = True,
    page: catalogue.EventPage | None = None,
) -> Response:
    """The event page again with the errors; reloaded when the hold changed what is left."""
    if fresh or page is None:
        page = await load_event_page(request, slug)
    view = await attribution.apply_code(request, page, values.get("code", ""))
    context = event_context(request, page, view)
    context.update(values=values, errors=errors)
    return pagecache.private(render(request, "public/event.html", context, status_code=status))


def _ticket_names(values: dict[str, str]) -> dict[int, str]:
    """The optional "Name on ticket N" fields, by N."""
    found = {}
    for key, text in values.items():
        number = key.removeprefix("attendee-")
        if key.startswith("attendee-") and number.isdigit() and 0 < int(number) <= NAME_SLOTS:
            found[int(number)] = text
    return found


async def start(request: Request) -> Response:
    svc = services(request)
    slug = request.path_params["slug"]
    page = await load_event_page(request, slug, recent=True)
    assert page.event.id is not None
    form = await request.form()
    values = _values(form)
    view = await attribution.apply_code(request, page, values.get("code", ""))
    offered = {o.ticket_type.id: o.ticket_type for o in view.offers if o.ticket_type.id is not None}
    raw = {type_id: values.get(f"qty-{type_id}", "") for type_id in offered}
    quantities, errors = orders.parse_quantities(raw)
    buyer, buyer_errors = orders.validate_buyer(values.get("name", ""), values.get("email", ""))
    names, name_errors = orders.validate_ticket_names(
        _ticket_names(values), tickets=sum(quantities.values())
    )
    buyer = dataclasses.replace(buyer, ticket_names=names)
    if view.error:
        errors["code"] = view.error
    if not quantities and not errors:
        errors["quantity"] = "Select how many tickets you want"
    errors.update(
        orders.quantity_errors(
            offered,
            quantities,
            unlocked=set(offered),
        )
    )
    errors.update(buyer_errors)
    if quantities:
        errors.update(name_errors)
    asked, question_errors = questions.read_form(values)
    errors.update(question_errors)
    if errors:
        return await _rerender(request, slug, values, errors, 400, fresh=False, page=page)
    # What the page just read is enough to refuse a sold-out request without taking the
    # write lock; a request that might fit is checked again under the lock by reserve().
    gone = catalogue.shortfall(page, view.offers, quantities)
    if gone:
        return await _rerender(request, slug, values, gone, 409, fresh=False, page=page)
    came = attribution.attribution(
        request, page.event.id, code=values.get("code", ""), promo_field=values.get("promo", "")
    )
    try:
        held = await svc.write(
            orders.take_seats,
            event_id=page.event.id,
            quantities=quantities,
            buyer=buyer,
            now=svc.now(),
            hold=checkout.hold_duration(svc),
            attribution=came,
        )
    except InvalidInput as exc:
        return await _rerender(request, slug, values, exc.errors, 400)
    except NotFound:
        raise  # answered by booking.app.booking_error
    except BookingError as exc:
        return await _rerender(
            request, slug, values, {exc.field or "quantity": exc.message}, exc.status
        )
    order = held.order
    assert order.id is not None
    if asked is not None:  # kept with the first ticket; it counts once the order is paid
        await svc.write(questions.ask_with_order, order_id=order.id, asked=asked, now=svc.now())
    if order.total == 0:
        await svc.write(
            orders.confirm_free, order_id=order.id, now=svc.now(), code_key=svc.ticket_key
        )
        return RedirectResponse(request.url_for("order", token=order.token).path, 303)
    # Prices come from the order's own lines, as the database priced them.
    lines = [
        LineItem(
            name=f"{line.name} ticket: {page.event.title}",
            unit_amount=line.unit_price,
            quantity=line.quantity,
            currency=order.currency,
        )
        for line in held.lines
    ]
    success = absolute_url(request, request.url_for("checkout_success").path)
    try:
        url = await checkout.start(
            svc,
            order=order,
            lines=lines,
            event_title=page.event.title,
            success_url=success + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url(
                request, request.url_for("checkout_cancel", token=order.token).path
            ),
        )
    except checkout.CheckoutUnavailable:
        message = (
            "We could not reach our payment provider, so nothing has been charged and your "
            "tickets have been released. Try again in a minute."
        )
        return await _rerender(request, slug, values, {"quantity": message}, 503)
    return RedirectResponse(url, 303)


async def success(request: Request) -> Response:
    """Stripe sends the buyer here; fulfil now rather than wait for the webhook."""
    svc = services(request)
    session_id = request.query_params.get("session_id", "")
    if not CHECKOUT_SESSION_RE.match(session_id):
        raise HTTPException(404)
    order = await svc.read(orders.by_checkout_session, checkout_session_id=session_id)
    try:
        session = await checkout.payments(svc).retrieve_checkout(session_id)
        await checkout.settle(svc, session)
    except PaymentError:
        pass  # the order page says "confirming"; the webhook or the sweeper finishes it
    except BookingError as exc:
        log.warning("success page for %s not settled: %s", session_id, exc.message)
    return RedirectResponse(request.url_for("order", token=order.token).path, 303)


async def cancel(request: Request) -> Response:
    svc = services(request)
    if not TOKEN_RE.match(request.path_params["token"]):
        raise HTTPException(404)
    order = await svc.read(orders.by_token, token=request.path_params["token"])
    order = await checkout.cancel(svc, order)
    if order.status == "paid":
        return RedirectResponse(request.url_for("order", token=order.token).path, 303)
    slug = await svc.read(_event_slug, event_id=order.event_id)
    return RedirectResponse(request.url_for("event", slug=slug).path + "?cancelled=1", 303)


def _event_slug(session: Session, *, event_id: int) -> str:
    from booking.models import Event

    event = session.get(Event, event_id)
    return event.slug if event else ""


routes = [
    Route("/events/{slug:str}/checkout", start, methods=["POST"], name="checkout_start"),
    Route("/checkout/success", success, name="checkout_success"),
    Route("/checkout/cancel/{token:str}", cancel, name="checkout_cancel"),
]
