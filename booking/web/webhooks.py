"""POST /stripe/webhook: verify the signature on the raw body, then act once per event id."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking import checkout
from booking.domain import orders
from booking.domain.errors import BookingError
from booking.models import OrderStatus
from booking.payments import InvalidWebhook, PaymentError
from booking.web.services import services

log = logging.getLogger("booking.webhooks")
FULFIL = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
RELEASE = {
    "checkout.session.expired": OrderStatus.EXPIRED,
    "checkout.session.async_payment_failed": OrderStatus.FAILED,
}
MAX_BODY = 512 * 1024


async def stripe_webhook(request: Request) -> Response:
    svc = services(request)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "payload too large"}, 413)
    try:
        event = checkout.payments(svc).parse_webhook(body, request.headers.get("stripe-signature"))
    except InvalidWebhook as exc:
        return JSONResponse({"error": "invalid signature", "reason": str(exc)}, 400)
    if event.type in FULFIL:
        try:
            # Trust no event body: read the session back from Stripe.
            session = await checkout.payments(svc).retrieve_checkout(event.object_id)
        except PaymentError:
            return JSONResponse({"error": "stripe unavailable, retry later"}, 503)
        try:
            outcome = await checkout.settle_event(
                svc, event_id=event.id, event_type=event.type, checkout=session
            )
        except BookingError as exc:
            log.info("webhook %s ignored: %s", event.id, exc.message)
            outcome = exc.code
    elif event.type in RELEASE:
        outcome = await checkout.release_event(
            svc,
            event_id=event.id,
            event_type=event.type,
            checkout_session_id=event.object_id,
            status=RELEASE[event.type],
        )
    elif event.type == "charge.refunded":
        pi = event.object.get("payment_intent")
        amount = event.object.get("amount_refunded")
        if isinstance(pi, str) and isinstance(amount, int):
            await svc.write(
                orders.record_charge_refunded,
                payment_intent=pi,
                amount_refunded=amount,
                now=svc.now(),
            )
        outcome = "recorded"
    else:
        outcome = "ignored"
    return JSONResponse({"received": True, "outcome": outcome})


routes = [Route("/stripe/webhook", stripe_webhook, methods=["POST"], name="stripe_webhook")]
