"""Back office: an event's guest list. Issue tickets without payment (name, email, ticket
type, how many) and cancel them again, with a confirmation step."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import guest_list, reports
from booking.domain.errors import BookingError, InvalidInput, NotFound
from booking.models import Event, Order, TicketType
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import services


def _state(session: Session, *, event_id: int) -> dict[str, Any]:
    event = reports.get_event(session, event_id=event_id)
    types = list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )
    return {
        "event": event,
        "types": types,
        "entries": guest_list.entries(session, event_id=event_id),
    }


async def guests(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    state = await svc.read(_state, event_id=event_id)
    values: dict[str, str] = {"quantity": "1"}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = values_of(await request.form())
        type_ids = {t.id for t in state["types"] if t.id}
        guest, errors = guest_list.read_form(values, ticket_type_ids=type_ids)
        if guest is not None:
            try:
                order = await svc.write(
                    guest_list.issue,
                    event_id=event_id,
                    guest=guest,
                    actor=await actor(request),
                    now=svc.now(),
                    code_key=svc.ticket_key,
                )
            except NotFound:
                raise  # answered by booking.app.booking_error
            except InvalidInput as exc:
                errors = exc.errors
            except BookingError as exc:
                errors = {"name": exc.message}
            else:
                many = "ticket" if guest.quantity == 1 else "tickets"
                flash(
                    request,
                    f"{guest.quantity} complimentary {many} issued to {order.buyer_name}. "
                    f"The tickets are on their way to {order.buyer_email}.",
                )
                return redirect(request, "admin_event_guests", event_id=event_id)
        status = 400
    context = {**state, "values": values, "errors": errors}
    return page(request, "admin/guests.html", context, status=status)


def _guest_order(session: Session, *, event_id: int, order_id: int) -> dict[str, Any]:
    order = session.get(Order, order_id)
    if order is None or order.event_id != event_id or not order.complimentary:
        raise NotFound("No guest-list order with this number")
    event = session.get(Event, event_id)
    entry = next(
        (e for e in guest_list.entries(session, event_id=event_id) if e.order.id == order_id),
        None,
    )
    return {"event": event, "order": order, "entry": entry}


async def cancel(request: Request) -> Response:
    svc = services(request)
    event_id, order_id = path_id(request, "event_id"), path_id(request, "order_id")
    state = await svc.read(_guest_order, event_id=event_id, order_id=order_id)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            await svc.write(
                guest_list.cancel, order_id=order_id, actor=await actor(request), now=svc.now()
            )
        except NotFound:
            raise  # answered by booking.app.booking_error
        except BookingError as exc:
            errors, status = {"cancel": exc.message}, exc.status
        else:
            flash(
                request,
                f"The guest-list tickets of {state['order'].buyer_name} are cancelled; "
                "their seats are back on sale.",
            )
            return redirect(request, "admin_event_guests", event_id=event_id)
    context = {**state, "errors": errors}
    return page(request, "admin/guest_cancel.html", context, status=status)


routes = [
    Route(
        "/events/{event_id:id}/guests",
        guests,
        methods=["GET", "POST"],
        name="admin_event_guests",
    ),
    Route(
        "/events/{event_id:id}/guests/{order_id:id}/cancel",
        cancel,
        methods=["GET", "POST"],
        name="admin_event_guest_cancel",
    ),
]
