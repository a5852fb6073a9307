"""The buyer's order page, reached only through the secret link in their email.

Every route here starts from the order's token. Lookups that find nothing are counted per
client address (booking.ratelimit); after LOOKUP_LIMIT of them in LOOKUP_WINDOW the client
gets 429 for every order link, right or wrong, until the window ends.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking import checkout, ics, qr, ratelimit
from booking.domain import access_needs, order_changes, questions, resale
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.domain.tickets import grouped, reference
from booking.models import OrderStatus
from booking.web.services import absolute_url, render, services

LOOKUP_LIMIT = 20
LOOKUP_WINDOW = timedelta(minutes=10)
PRIVATE = {"X-Robots-Tag": "noindex", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FLASH = "order_flash"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what tickets.new_token() makes
Handler = Callable[[Request], Awaitable[Response]]


def _lookup_key(request: Request) -> str:
    return f"order-lookup:{request.client.host if request.client else 'unknown'}"


def _too_many(request: Request, wait: timedelta) -> Response:
    minutes = max(1, -(-int(wait.total_seconds()) // 60))
    return render(
        request,
        "public/order_limited.html",
        {"minutes": minutes},
        status_code=429,
        headers={**PRIVATE, "Retry-After": str(int(wait.total_seconds()) or 60)},
    )


def token_route(handler: Handler) -> Handler:
    """Rate-limit failed lookups for `handler`, and mark its pages private."""

    async def guarded(request: Request) -> Response:
        svc = services(request)
        key, now = _lookup_key(request), svc.now()
        limits = {"key": key, "window": LOOKUP_WINDOW, "now": now}
        if await svc.read(ratelimit.exceeded, limit=LOOKUP_LIMIT, **limits):
            return _too_many(request, await svc.read(ratelimit.retry_after, **limits))
        try:
            response = await handler(request)
        except NotFound:
            if not await svc.write(ratelimit.hit, limit=LOOKUP_LIMIT, **limits):
                return _too_many(request, LOOKUP_WINDOW)
            raise HTTPException(404) from None
        response.headers.update(PRIVATE)
        return response

    return guarded


def _token(request: Request) -> str:
    """The token from the path; anything that cannot be a token is simply not found."""
    token = str(request.path_params["token"])
    if not TOKEN_RE.fullmatch(token):
        raise NotFound("No order at this address")
    return token


def _order_path(request: Request, token: str, anchor: str = "") -> str:
    return request.url_for("order", token=token).path + anchor


def _flash(request: Request, token: str, what: str) -> None:
    request.session[FLASH] = {"token": token, "what": what}


def _take_flash(request: Request, token: str) -> str:
    flash = request.session.get(FLASH)
    if isinstance(flash, dict) and flash.get("token") == token:
        request.session.pop(FLASH)
        return str(flash.get("what", ""))
    return ""


async def _page(request: Request) -> order_changes.OrderPage:
    svc = services(request)
    return await svc.read(order_changes.load_page, token=_token(request), now=svc.now())


def _calendar_details(request: Request, page: order_changes.OrderPage) -> str:
    url = absolute_url(request, _order_path(request, page.order.token))
    return f"{page.event.strapline}\n\nYour tickets: {url}".strip()


def _page_context(request: Request, page: order_changes.OrderPage, **extra: Any) -> dict[str, Any]:
    details = _calendar_details(request, page)
    return {
        "page": page,
        "order": page.order,
        "event": page.event,
        "venue": page.venue,
        "grouped": grouped,
        "ticket_ref": reference,
        "google_calendar": ics.google_calendar_link(page.event, venue=page.venue, details=details),
        "outlook_calendar": ics.outlook_calendar_link(
            page.event, venue=page.venue, details=details
        ),
        "values": {},
        "errors": {},
        "flash": "",
        "release_terms": resale.terms(page.order, page.event, now=services(request).now()),
        "needs": access_needs.of(page.order),
        **extra,
    }


@token_route
async def order_page(request: Request) -> Response:
    svc = services(request)
    page = await _page(request)
    flash = _take_flash(request, page.order.token)
    assert page.order.id is not None
    asked = await svc.read(questions.for_order, order_id=page.order.id)
    context = _page_context(
        request,
        page,
        flash=flash,
        questions=asked,
        questions_open=questions.open_for(page.event, now=svc.now()),
        questions_deadline=questions.deadline(page.event),
    )
    return render(request, "public/order.html", context)


@token_route
async def ticket_qr(request: Request) -> Response:
    svc = services(request)
    line = await svc.read(
        order_changes.ticket, token=_token(request), number=request.path_params["number"]
    )
    image = await run_in_threadpool(qr.ticket_png, line.ticket.code or "", scale=qr.PAGE_SCALE)
    return Response(image.png, media_type="image/png")


@token_route
async def order_calendar(request: Request) -> Response:
    page = await _page(request)
    if page.order.status != OrderStatus.PAID:
        raise HTTPException(404)
    svc = services(request)
    body = ics.order_calendar(
        page.event,
        order=page.order,
        venue=page.venue,
        order_url=absolute_url(request, _order_path(request, page.order.token)),
        zone=svc.settings.tz,
        uid_domain=request.url.hostname or "booking",
        tickets=len(page.valid_tickets),
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{page.event.slug}.ics"'},
    )


@token_route
async def resend(request: Request) -> Response:
    svc = services(request)
    token = _token(request)
    try:
        await svc.write(order_changes.request_resend, token=token, now=svc.now())
    except NotFound:
        raise
    except BookingError as exc:
        page = await _page(request)
        context = _page_context(request, page, errors={"resend": exc.message})
        return render(request, "public/order.html", context, status_code=exc.status)
    _flash(request, token, "resent")
    return RedirectResponse(_order_path(request, token), 303)


def _ticket_line(page: order_changes.OrderPage, number: int) -> order_changes.TicketLine:
    for line in page.valid_tickets:
        if line.number == number:
            return line
    raise NotFound("No ticket at this address")


@token_route
async def ticket_name(request: Request) -> Response:
    svc = services(request)
    token, number = _token(request), int(request.path_params["number"])
    page = await _page(request)
    line = _ticket_line(page, number)
    values = {"name": line.ticket.attendee_name}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        raw = form.get("name", "")
        values = {"name": raw[:1000] if isinstance(raw, str) else ""}
        try:
            await svc.write(
                order_changes.rename_ticket,
                token=token,
                number=number,
                name=values["name"],
                now=svc.now(),
            )
        except InvalidInput as exc:
            errors, status = exc.errors, 400
        except NotFound:
            raise
        except BookingError as exc:
            errors, status = {"name": exc.message}, exc.status
        else:
            _flash(request, token, "renamed")
            return RedirectResponse(_order_path(request, token, f"#ticket-{number}"), 303)
    context = _page_context(request, page, line=line, values=values, errors=errors)
    return render(request, "public/order_name.html", context, status_code=status)


@token_route
async def access(request: Request) -> Response:
    """The buyer's access needs: checkboxes and a short note, changed at any time until
    the event ends."""
    svc = services(request)
    token = _token(request)
    page = await _page(request)
    if page.order.status != OrderStatus.PAID:
        raise HTTPException(404)
    needs = access_needs.of(page.order)
    chosen, values = list(needs.keys), {"access_note": needs.note}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        chosen = [str(v)[:50] for v in form.getlist("needs")]
        note = form.get("access_note", "")
        values = {"access_note": note[:1000] if isinstance(note, str) else ""}
        given, errors = access_needs.read_form(chosen, values["access_note"])
        if errors:
            status = 400
        else:
            try:
                await svc.write(access_needs.save, token=token, needs=given, now=svc.now())
            except NotFound:
                raise
            except BookingError as exc:
                errors, status = {"needs": exc.message}, exc.status
            else:
                _flash(request, token, "access")
                return RedirectResponse(_order_path(request, token, "#access"), 303)
    context = _page_context(
        request,
        page,
        values=values,
        errors=errors,
        chosen=set(chosen),
        needs_list=list(access_needs.NEEDS.items()),
        max_note=access_needs.MAX_NOTE,
    )
    return render(request, "public/order_access.html", context, status_code=status)


@token_route
async def ticket_question(request: Request) -> Response:
    """Send, change or withdraw the question for the panel that goes with one ticket."""
    svc = services(request)
    token, number = _token(request), int(request.path_params["number"])
    page = await _page(request)
    line = _ticket_line(page, number)
    assert line.ticket.id is not None and page.order.id is not None
    existing = (await svc.read(questions.for_order, order_id=page.order.id)).get(line.ticket.id)
    values = {
        "question": existing.text if existing else "",
        "question_full_name": "yes" if existing and existing.show_full_name else "",
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, ""))[:2000] for k in values}
        asked, errors = questions.read_form(values)
        if errors:
            status = 400
        else:
            try:
                await svc.write(
                    questions.ask, token=token, ticket_id=line.ticket.id, asked=asked, now=svc.now()
                )
            except NotFound:
                raise
            except BookingError as exc:
                errors, status = {"question": exc.message}, exc.status
            else:
                _flash(request, token, "asked" if asked else "withdrawn")
                return RedirectResponse(_order_path(request, token, "#questions"), 303)
    context = _page_context(
        request,
        page,
        line=line,
        values=values,
        errors=errors,
        existing=existing,
        questions_open=questions.open_for(page.event, now=svc.now()),
        questions_deadline=questions.deadline(page.event),
        max_length=questions.MAX_LENGTH,
    )
    return render(request, "public/order_question.html", context, status_code=status)


@token_route
async def cancel(request: Request) -> Response:
    svc = services(request)
    token = _token(request)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            order = await svc.write(order_changes.cancel_by_buyer, token=token, now=svc.now())
        except NotFound:
            raise
        except BookingError as exc:
            errors, status = {"cancel": exc.message}, exc.status
        else:
            # The refund was opened with the cancellation; if Stripe fails now, the
            # refunds job sends it again with the same idempotency key.
            assert order.id is not None
            await checkout.send_refunds_for(svc, order_id=order.id)
            _flash(request, token, "cancelled")
            return RedirectResponse(_order_path(request, token), 303)
    page = await _page(request)
    context = _page_context(request, page, errors=errors)
    return render(request, "public/order_cancel.html", context, status_code=status)


def _numbers(values: list[str]) -> set[int] | None:
    """The ticket numbers chosen ("ticket" fields); None (all of them) when none is given."""
    chosen = {int(v) for v in values if v.isascii() and v.isdigit() and 0 < len(v) < 5}
    if values and not chosen:
        raise InvalidInput({"tickets": "Select the tickets you want to release"})
    return chosen or None


@token_route
async def release(request: Request) -> Response:
    """Can't come? Confirm which tickets to release, told plainly what happens to the money."""
    svc = services(request)
    token = _token(request)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        raw = [str(v) for v in form.getlist("ticket")]
    else:
        raw = request.query_params.getlist("ticket")
    quote = None
    try:
        numbers = _numbers(raw)
        if request.method == "POST":
            done = await svc.write(resale.release, token=token, numbers=numbers, now=svc.now())
            if done.terms.kind == resale.REFUND:
                page = await _page(request)
                assert page.order.id is not None
                await checkout.send_refunds_for(svc, order_id=page.order.id)
            _flash(request, token, "released")
            return RedirectResponse(_order_path(request, token, "#release"), 303)
        quote = await svc.read(resale.quote_for, token=token, numbers=numbers, now=svc.now())
    except NotFound:
        raise
    except InvalidInput as exc:
        errors, status = exc.errors, 400
    except BookingError as exc:
        errors, status = {"tickets": exc.message}, exc.status
    page = await _page(request)
    context = _page_context(request, page, quote=quote, errors=errors, chosen=raw)
    return render(request, "public/order_release.html", context, status_code=status)


routes = [
    Route("/orders/{token:str}", order_page, name="order"),
    Route("/orders/{token:str}/calendar.ics", order_calendar, name="order_calendar"),
    Route("/orders/{token:str}/resend", resend, methods=["POST"], name="order_resend"),
    Route("/orders/{token:str}/access", access, methods=["GET", "POST"], name="order_access"),
    Route("/orders/{token:str}/cancel", cancel, methods=["GET", "POST"], name="order_cancel"),
    Route("/orders/{token:str}/release", release, methods=["GET", "POST"], name="order_release"),
    Route("/orders/{token:str}/tickets/{number:id}.png", ticket_qr, name="order_ticket_qr"),
    Route(
        "/orders/{token:str}/tickets/{number:id}/name",
        ticket_name,
        methods=["GET", "POST"],
        name="order_ticket_name",
    ),
    Route(
        "/orders/{token:str}/tickets/{number:id}/question",
        ticket_question,
        methods=["GET", "POST"],
        name="order_ticket_question",
    ),
]
