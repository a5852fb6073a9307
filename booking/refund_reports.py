"""What Stripe reports of a charge's refunds (charge.refunded, and refund.created or
refund.updated for refunds made in Stripe's dashboard), recorded whatever order the
webhooks arrive in.

The charge and its refunds are read back from Stripe (an event body is a claim, not a
fact). When the charge's payment is not recorded yet (its checkout.session.completed has
not arrived and the buyer has not come back to the success page), the order is found by
the `order_reference` its PaymentIntent carries, its Checkout Session is read back and the
payment recorded first, exactly as the webhook or the success page would; then the
refunds. So a refund that arrives first ends where it would have ended arriving last.
"""

from __future__ import annotations

import logging

from booking import checkout
from booking.domain import orders, stripe_refunds
from booking.models import Order
from booking.payments import Charge
from booking.runtime import Services

log = logging.getLogger("booking.refund_reports")


async def charge_refunded(svc: Services, charge: Charge) -> str:
    """Record the charge's refunds against its order. Raises PaymentError when Stripe
    cannot be asked (the webhook then answers 503 and Stripe sends it again)."""
    if not charge.payment_intent:
        return "ignored"
    if await _record(svc, charge) is not None:
        return "recorded"
    if not await _record_payment(svc, charge):
        log.warning("charge %s is for no payment this app knows", charge.id)
        return "unknown_order"
    return "recorded" if await _record(svc, charge) is not None else "unknown_order"


async def _record(svc: Services, charge: Charge) -> Order | None:
    assert charge.payment_intent is not None
    made = await checkout.payments(svc).list_refunds(payment_intent=charge.payment_intent)
    found: Order | None = await svc.write(
        stripe_refunds.record,
        payment_intent=charge.payment_intent,
        made=made,
        charged=charge.amount,
        reported=charge.amount_refunded,
        now=svc.now(),
    )
    return found


async def _record_payment(svc: Services, charge: Charge) -> bool:
    """Record the payment of the charge's order from its Checkout Session as Stripe has
    it; False when no order of this app is paid by this charge."""
    reference = charge.metadata.get("order_reference", "")
    order = await svc.read(orders.by_reference, reference=reference) if reference else None
    if order is None or not order.stripe_session_id:
        return False
    session = await checkout.payments(svc).retrieve_checkout(order.stripe_session_id)
    if session.payment_intent != charge.payment_intent:
        return False
    await checkout.settle(svc, session)
    return True
