"""Back office: orders across events and per event (search, filters, keyset pages), and
one order's page. The actions on an order are in booking.web.admin.order_actions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import order_detail, order_search
from booking.domain.tickets import reference
from booking.models import OrderStatus
from booking.web.admin.common import page, path_id
from booking.web.services import services

STATUS_LABELS = {
    OrderStatus.PENDING: "Awaiting payment",
    OrderStatus.PAID: "Paid",
    OrderStatus.EXPIRED: "Hold expired",
    OrderStatus.FAILED: "Payment failed",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.REFUNDED: "Refunded",
}

ACTION_LABELS = {
    "order.tickets_refunded": "Tickets refunded",
    "order.cancelled": "Order cancelled",
    "order.confirmation_resent": "Confirmation email sent again",
    "order.refund_reported": "Stripe reported refunds on the payment",
    "order.payment_mismatch": "Payment did not match the order: refunded in full",
    "refund.succeeded": "Refund made in Stripe",
    "refund.failed": "Refund refused by Stripe",
    "ticket.renamed": "Name changed",
    "order.email_changed": "Email address changed",
    "order.complimentary_issued": "Guest-list tickets issued",
    "order.complimentary_cancelled": "Guest-list tickets cancelled",
}


def _cursor_url(request: Request, **cursor: int) -> str:
    url = request.url.remove_query_params(["before", "after"]).include_query_params(**cursor)
    return f"{url.path}?{url.query}" if url.query else url.path


async def _list(request: Request, event_id: int | None) -> Response:
    svc = services(request)
    choices = await svc.read(order_search.choices, event_id=event_id)
    params = request.query_params
    filters, errors = order_search.parse_filters(
        params,
        event_id=event_id,
        ticket_type_ids={t.id for t in choices.ticket_types if t.id},
        promo_link_ids={p.id for p in choices.promo_links if p.id},
        event_ids={i for i, _ in choices.events},
    )
    before = order_search.parse_id(params.get("before"))
    after = order_search.parse_id(params.get("after"))
    result = order_search.Page([], None, None)
    if not errors:
        result = await svc.read(
            order_search.search,
            filters=filters,
            before=before,
            after=after,
            size=order_search.PAGE_SIZE,
        )
    context: dict[str, Any] = {
        "choices": choices,
        "event": choices.event,
        "filters": filters,
        "values": {k: params.get(k, "") for k in ("q", "status", "ticket_type", "promo", "event")},
        "errors": errors,
        "result": result,
        "paged": before is not None or after is not None,
        "newest_url": _cursor_url(request),
        "older_url": _cursor_url(request, before=result.older) if result.older else None,
        "newer_url": _cursor_url(request, after=result.newer) if result.newer else None,
        "status_labels": STATUS_LABELS,
    }
    return page(request, "admin/orders.html", context, status=400 if errors else 200)


async def order_list(request: Request) -> Response:
    return await _list(request, None)


async def event_orders(request: Request) -> Response:
    return await _list(request, path_id(request, "event_id"))


def detail_context(detail: order_detail.OrderDetail, **extra: Any) -> dict[str, Any]:
    """What the order page template needs (the actions re-render it with errors)."""
    return {
        "detail": detail,
        "order": detail.order,
        "event": detail.event,
        "ticket_ref": reference,
        "status_labels": STATUS_LABELS,
        "action_labels": ACTION_LABELS,
        "values": {},
        "errors": {},
        **extra,
    }


async def load_detail(request: Request) -> order_detail.OrderDetail:
    """The order named in the path, or 404."""
    svc = services(request)
    return await svc.read(order_detail.load, order_id=path_id(request, "order_id"))


async def order_page(request: Request) -> Response:
    detail = await load_detail(request)
    return page(request, "admin/order.html", detail_context(detail))


routes = [
    Route("/orders", order_list, name="admin_orders"),
    Route("/orders/{order_id:id}", order_page, name="admin_order"),
    Route("/events/{event_id:id}/orders", event_orders, name="admin_event_orders"),
]
