"""Back office: what an organiser does to one order. Resend the confirmation, change the
buyer's email address or a name, refund some tickets, cancel with a full refund. Refunds
take two steps (choose, then confirm the amount); the second writes the refund, then sends
it through Stripe."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import checkout
from booking.domain import order_admin, order_refunds
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.domain.order_search import parse_id
from booking.templating import money_exact
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.admin.orders import detail_context, load_detail
from booking.web.services import Services, services

MAX_AMOUNT_DIGITS = 9


async def resend(request: Request) -> Response:
    svc = services(request)
    order_id = path_id(request, "order_id")
    try:
        order = await svc.write(
            order_admin.resend, order_id=order_id, actor=await actor(request), now=svc.now()
        )
    except NotFound:
        raise  # answered by booking.app.booking_error
    except BookingError as exc:
        context = detail_context(await load_detail(request), errors={"resend": exc.message})
        return page(request, "admin/order.html", context, status=exc.status)
    flash(request, f"The confirmation email will be sent again to {order.buyer_email}")
    return redirect(request, "admin_order", order_id=order_id)


async def rename(request: Request) -> Response:
    svc = services(request)
    order_id, ticket_id = path_id(request, "order_id"), path_id(request, "ticket_id")
    detail = await load_detail(request)
    line = next((t.line for t in detail.valid_tickets if t.line.ticket.id == ticket_id), None)
    if line is None:
        raise HTTPException(404)
    values = {"name": line.ticket.attendee_name}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {"name": values_of(await request.form()).get("name", "")}
        try:
            await svc.write(
                order_admin.rename,
                order_id=order_id,
                ticket_id=ticket_id,
                name=values["name"],
                actor=await actor(request),
                now=svc.now(),
            )
        except NotFound:
            raise  # answered by booking.app.booking_error
        except InvalidInput as exc:
            errors, status = exc.errors, 400
        except BookingError as exc:
            errors, status = {"name": exc.message}, exc.status
        else:
            flash(request, f"Ticket {line.number} is now in the name of {values['name'].strip()}")
            return redirect(request, "admin_order", order_id=order_id)
    context = detail_context(detail, line=line, values=values, errors=errors)
    return page(request, "admin/order_name.html", context, status=status)


async def change_email(request: Request) -> Response:
    svc = services(request)
    order_id = path_id(request, "order_id")
    detail = await load_detail(request)
    values = {"email": detail.order.buyer_email}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {"email": values_of(await request.form()).get("email", "")}
        try:
            order = await svc.write(
                order_admin.change_email,
                order_id=order_id,
                email=values["email"],
                actor=await actor(request),
                now=svc.now(),
            )
        except InvalidInput as exc:
            errors, status = exc.errors, 400
        else:
            resend_hint = (
                " Resend the confirmation email to send the tickets there."
                if detail.order.status == "paid"
                else ""
            )
            flash(request, f"The order's email address is now {order.buyer_email}.{resend_hint}")
            return redirect(request, "admin_order", order_id=order_id)
    context = detail_context(detail, values=values, errors=errors)
    return page(request, "admin/order_email.html", context, status=status)


def _ticket_ids(form: FormData) -> set[int]:
    return {i for raw in form.getlist("ticket") if (i := parse_id(raw)) is not None}


def _amount(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= MAX_AMOUNT_DIGITS else None


def _done_message(quote: order_refunds.Quote, sent: int, buyer: str) -> str:
    money = money_exact(quote.amount, quote.order.currency)
    what = "Order cancelled" if quote.cancels_order else f"{len(quote.tickets)} ticket(s) cancelled"
    if quote.refund is None:
        return f"{what}. Nothing was refunded: nothing was left to refund through Stripe"
    if sent:
        return f"{what} and {money} refunded to {buyer}'s card"
    return (
        f"{what}. The refund of {money} has not been confirmed by Stripe yet; it will be "
        "sent again automatically"
    )


async def _quote(
    svc: Services, *, order_id: int, whole: bool, selected: set[int]
) -> order_refunds.Quote:
    if whole:
        return await svc.read(order_refunds.quote_cancel, order_id=order_id)
    return await svc.read(order_refunds.quote_tickets, order_id=order_id, ticket_ids=selected)


async def _money_action(request: Request, *, whole: bool) -> Response:
    """Refund chosen tickets (`whole` False) or cancel the order (`whole` True)."""
    svc = services(request)
    order_id = path_id(request, "order_id")
    detail = await load_detail(request)
    state: dict[str, Any] = {"whole": whole, "values": {"reason": ""}, "selected": set()}

    def show(step: str, errors: dict[str, str], status: int, quote: Any = None) -> Response:
        context = detail_context(detail, step=step, errors=errors, quote=quote, **state)
        return page(request, "admin/order_refund.html", context, status=status)

    if request.method == "GET":
        return show("choose", {}, 200)
    form = await request.form()
    state.update(values=values_of(form), selected=_ticket_ids(form))
    reason, errors = order_refunds.clean_reason(state["values"].get("reason", ""))
    where = {"order_id": order_id, "whole": whole, "selected": state["selected"]}
    try:
        quote = await _quote(svc, **where)
        if errors:
            raise InvalidInput(errors)
        if state["values"].get("confirm") != "yes":
            return show("confirm", {}, 200, quote)
        args: dict[str, Any] = {
            "order_id": order_id,
            "reason": reason,
            "actor": await actor(request),
            "now": svc.now(),
            "expected_amount": _amount(state["values"].get("amount", "")),
        }
        if whole:
            made = await svc.write(order_refunds.cancel_order, **args)
        else:
            partial = (
                order_refunds.refund_tickets_and_tell_buyer
                if state["values"].get("notify") == "yes"
                else order_refunds.refund_tickets
            )
            made = await svc.write(partial, ticket_ids=state["selected"], **args)
    except NotFound:
        raise  # answered by booking.app.booking_error
    except order_refunds.AlreadyRefunded as exc:
        flash(request, exc.message)  # sent twice: the first one did it
        return redirect(request, "admin_order", order_id=order_id)
    except InvalidInput as exc:
        return show("choose", {**exc.errors, **errors}, 400)
    except order_refunds.AmountChanged as exc:
        try:
            quote = await _quote(svc, **where)
        except BookingError as again:
            return show("choose", {"tickets": again.message}, again.status)
        return show("confirm", {"amount": exc.message}, exc.status, quote)
    except BookingError as exc:
        return show("choose", {"tickets": exc.message}, exc.status)
    # The refund is written; send it now. If Stripe fails, the refunds job sends it again.
    sent = await checkout.send_refunds_for(svc, order_id=order_id)
    flash(request, _done_message(made, sent, detail.order.buyer_name))
    return redirect(request, "admin_order", order_id=order_id)


async def refund(request: Request) -> Response:
    return await _money_action(request, whole=False)


async def cancel(request: Request) -> Response:
    return await _money_action(request, whole=True)


routes = [
    Route("/orders/{order_id:id}/resend", resend, methods=["POST"], name="admin_order_resend"),
    Route(
        "/orders/{order_id:id}/refund", refund, methods=["GET", "POST"], name="admin_order_refund"
    ),
    Route(
        "/orders/{order_id:id}/cancel", cancel, methods=["GET", "POST"], name="admin_order_cancel"
    ),
    Route(
        "/orders/{order_id:id}/email",
        change_email,
        methods=["GET", "POST"],
        name="admin_order_email",
    ),
    Route(
        "/orders/{order_id:id}/tickets/{ticket_id:id}/name",
        rename,
        methods=["GET", "POST"],
        name="admin_order_ticket_name",
    ),
]
