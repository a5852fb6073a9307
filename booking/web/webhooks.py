"""POST /stripe/webhook: verify the signature on the raw body, then act once per event id."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking import checkout, refund_reports
from booking.domain import refunds
from booking.domain.errors import BookingError
from booking.models import OrderStatus
from booking.payments import InvalidWebhook, PaymentError, is_missing
from booking.web.services import Services, services

log = logging.getLogger("booking.webhooks")
FULFIL = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
RELEASE = {
    "checkout.session.expired": OrderStatus.EXPIRED,
    "checkout.session.async_payment_failed": OrderStatus.FAILED,
}
MAX_BODY = 512 * 1024
REFUND_MADE = {"refund.created", "refund.updated"}


async def _refund_made(svc: Services, refund: dict[str, Any]) -> str:
    """Stripe made a refund this app asked for (its metadata names our refund): mark it
    succeeded, in case the answer to our request was lost. "not_ours" for one made
    elsewhere (Stripe's dashboard)."""
    metadata = refund.get("metadata") or {}
    ours, reference = metadata.get("refund", ""), metadata.get("order_reference")
    stripe_id, amount = refund.get("id"), refund.get("amount")
    if not (isinstance(ours, str) and ours.isdigit() and len(ours) < 10):
        return "not_ours"
    if refund.get("status") == "failed" or not isinstance(stripe_id, str):
        return "ignored"
    if not isinstance(amount, int) or not isinstance(reference, str):
        return "ignored"
    marked = await svc.write(
        refunds.mark_succeeded,
        refund_id=int(ours),
        stripe_refund_id=stripe_id,
        amount=amount,
        now=svc.now(),
        order_reference=reference,
    )
    return "recorded" if marked else "unchanged"


async def _charge_refunded(svc: Services, event_id: str, charge_id: str) -> Response:
    """Record a charge's refunds, read back from Stripe (the body is a claim, the charge as
    Stripe has it is the fact), even before its payment was recorded (booking.refund_reports)."""
    try:
        charge = await checkout.payments(svc).retrieve_charge(charge_id)
        outcome = await refund_reports.charge_refunded(svc, charge)
    except PaymentError as exc:
        if not is_missing(exc):
            return JSONResponse({"error": "stripe unavailable, retry later"}, 503)
        log.warning("webhook %s names charge %s, which Stripe does not know", event_id, charge_id)
        outcome = "unknown_charge"
    return JSONResponse({"received": True, "outcome": outcome})


class TooLarge(Exception):
    """The body is over MAX_BODY (or says it will be)."""


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, read chunk by chunk and given up on past `limit` bytes.

    A Content-Length over the limit is refused before anything is read. Raises TooLarge.
    """
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge
    return bytes(body)


async def stripe_webhook(request: Request) -> Response:
    svc = services(request)
    try:
        body = await read_capped(request)
    except TooLarge:
        reason = f"webhook bodies are limited to {MAX_BODY // 1024} KiB"
        return JSONResponse({"error": "payload too large", "reason": reason}, 413)
    try:
        event = checkout.payments(svc).parse_webhook(body, request.headers.get("stripe-signature"))
    except InvalidWebhook as exc:
        return JSONResponse({"error": "invalid signature", "reason": str(exc)}, 400)
    if event.type in FULFIL:
        try:
            # Trust no event body: read the session back from Stripe.
            session = await checkout.payments(svc).retrieve_checkout(event.object_id)
        except PaymentError as exc:
            if not is_missing(exc):
                return JSONResponse({"error": "stripe unavailable, retry later"}, 503)
            # Retrying cannot help: acknowledge it, and leave a trace for whoever looks.
            log.warning(
                "webhook %s names session %s, which Stripe does not know", event.id, event.object_id
            )
            return JSONResponse({"received": True, "outcome": "unknown_session"})
        try:
            outcome = await checkout.settle_event(
                svc, event_id=event.id, event_type=event.type, checkout=session
            )
        except BookingError as exc:
            log.warning("webhook %s for %s not acted on: %s", event.id, session.id, exc.message)
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
        return await _charge_refunded(svc, event.id, event.object_id)
    elif event.type in REFUND_MADE:
        outcome = await _refund_made(svc, event.object)
        charge = event.object.get("charge")
        if outcome == "not_ours" and isinstance(charge, str):
            # Made in Stripe's dashboard: as charge.refunded, in case that one is lost.
            return await _charge_refunded(svc, event.id, charge)
    else:
        outcome = "ignored"
    return JSONResponse({"received": True, "outcome": outcome})


routes = [Route("/stripe/webhook", stripe_webhook, methods=["POST"], name="stripe_webhook")]
