"""Checkout flows that cross the Stripe edge: start, settle, cancel, sweep.

Each step keeps database transactions short and never holds one across a Stripe call:
hold seats (one transaction), create the Checkout Session, then remember it (another).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from booking import attaching
from booking.domain import orders, refunds, stripe_events, stripe_refunds, waitlist_offers
from booking.domain.errors import NotFound
from booking.models import Order, OrderStatus
from booking.payments import CheckoutSession, LineItem, PaymentError, Payments, Refund
from booking.runtime import Services

log = logging.getLogger("booking.checkout")
# Stripe keeps an idempotency key for at least 24 hours; past this age a refund sent again
# under its key might be made twice, so it is looked for first (an hour's margin).
KEYS_KEPT = timedelta(hours=23)
# How many times one send replaces a refund Stripe refused as too large before leaving the
# replacement to the refunds job.
MAX_REPLACEMENTS = 2


@dataclass(frozen=True)
class Started:
    order: Order
    redirect_url: str


class CheckoutUnavailable(Exception):
    """Stripe could not be reached or refused; the hold has been released."""


def payments(svc: Services) -> Payments:
    adapter: Payments = svc.extras["payments"]
    return adapter


async def start(
    svc: Services,
    *,
    order: Order,
    lines: list[LineItem],
    event_title: str,
    success_url: str,
    cancel_url: str,
    release_on_error: bool = True,
) -> str:
    """Create the Checkout Session for a held order and return where to send the buyer.

    On a Stripe error or timeout the hold is released (unless `release_on_error` is off, as
    for a waiting-list offer, whose seats stay held for its person to try again) and
    CheckoutUnavailable raised.
    """
    assert order.id is not None
    try:
        session = await payments(svc).create_checkout(
            order_ref=order.reference,
            lines=lines,
            customer_email=order.buyer_email,
            expires_at=order.expires_at,
            success_url=success_url,
            cancel_url=cancel_url,
            metadata={"order_reference": order.reference, "order_id": str(order.id)},
            idempotency_key=f"checkout:{order.reference}",
            description=event_title,
        )
    except PaymentError as exc:
        log.warning("checkout session for %s failed: %s", order.reference, exc)
        if not release_on_error:
            raise CheckoutUnavailable(str(exc)) from exc
        await svc.write(
            orders.release,
            order_id=order.id,
            now=svc.now(),
            note="payment provider unavailable",
            status=OrderStatus.EXPIRED,
        )
        raise CheckoutUnavailable(str(exc)) from exc
    await attaching.attach(svc, order_id=order.id, checkout_session_id=session.id)
    if not session.url:
        raise CheckoutUnavailable("Stripe returned no payment page")
    return session.url


async def settle(svc: Services, checkout: CheckoutSession) -> orders.Fulfilment:
    """Run fulfilment for a session as Stripe reports it now."""
    return await svc.write(orders.fulfil, checkout=checkout, now=svc.now(), code_key=svc.ticket_key)


async def settle_event(
    svc: Services, *, event_id: str, event_type: str, checkout: CheckoutSession
) -> str:
    """Fulfil from a webhook, recording the event id in the same transaction."""

    def work(session: Session) -> str:
        with session.begin():
            if not stripe_events.claim(
                session, event_id=event_id, event_type=event_type, now=svc.now()
            ):
                return "duplicate"
            return orders.fulfil_in(
                session, checkout=checkout, now=svc.now(), code_key=svc.ticket_key
            ).outcome

    try:
        return await svc.write(work)
    except IntegrityError:
        return "duplicate"


async def release_event(
    svc: Services, *, event_id: str, event_type: str, checkout_session_id: str, status: OrderStatus
) -> str:
    """Release a hold from a webhook (session expired, delayed payment failed)."""

    def work(session: Session) -> str:
        with session.begin():
            if not stripe_events.claim(
                session, event_id=event_id, event_type=event_type, now=svc.now()
            ):
                return "duplicate"
            try:
                order = orders.by_checkout_session(session, checkout_session_id=checkout_session_id)
            except NotFound:
                return "unknown_order"
            released = orders.release_in(
                session, order=order, status=status, note=event_type, now=svc.now()
            )
            return "released" if released else "unchanged"

    try:
        return await svc.write(work)
    except IntegrityError:
        return "duplicate"


async def cancel(svc: Services, order: Order) -> Order:
    """The buyer pressed Back on Stripe's page: expire the session and release the hold.

    If Stripe says the session was paid after all, fulfil instead.
    """
    assert order.id is not None
    if order.status == OrderStatus.PENDING and order.stripe_session_id:
        try:
            session = await payments(svc).expire_checkout(order.stripe_session_id)
        except PaymentError:
            # The session stays open at Stripe for now. End the hold instead of releasing
            # the order: its seats are free at once, and the next sweep expires the session
            # (or fulfils the order, if the buyer paid after all) and then releases it.
            await svc.write(orders.end_hold, order_id=order.id, now=svc.now())
            return await svc.read(orders.by_token, token=order.token)
        if session.status == "complete":
            await settle(svc, session)
            return await svc.read(orders.by_token, token=order.token)
    await svc.write(orders.release, order_id=order.id, now=svc.now(), note="cancelled by the buyer")
    return await svc.read(orders.by_token, token=order.token)


async def sweep_lapsed(svc: Services, *, now: datetime | None = None) -> int:
    """Release holds whose time is up, expiring their Stripe sessions, and holds that never
    got a Checkout Session (the process stopped in between); returns how many.

    One order that fails (Stripe answers strangely, the order cannot be settled) is logged
    and left for the next sweep; it never stops the others.
    """
    now = now or svc.now()
    done = 0
    for order in await svc.read(orders.lapsed_holds, now=now):
        try:
            done += await _sweep_one(svc, order, now)
        except Exception:  # noqa: BLE001 (one bad order must not stall every other hold)
            log.exception("could not sweep the hold of order %s", order.reference)
    return done


async def offer_waiting(svc: Services, *, now: datetime | None = None) -> int:
    """The waiting-list job: close lapsed offers and offer free seats to the people waiting,
    one event per transaction under its lock; returns how many offers were made."""
    now = now or svc.now()
    made = 0
    for event_id in await svc.read(waitlist_offers.events_to_offer, now=now):
        try:
            made += await svc.write(waitlist_offers.offer_free_seats, event_id=event_id, now=now)
        except Exception:  # noqa: BLE001 (one event's list must not stall the others)
            log.exception("could not offer seats for event %s", event_id)
    return made


async def sweep_and_offer(svc: Services) -> int:
    """Release lapsed holds, then offer what came free to the waiting lists."""
    released = await sweep_lapsed(svc)
    return released + await offer_waiting(svc)


async def _sweep_one(svc: Services, order: Order, now: datetime) -> int:
    assert order.id is not None
    note = "hold lapsed"
    if order.stripe_session_id:
        try:
            session = await payments(svc).expire_checkout(order.stripe_session_id)
        except PaymentError as exc:
            log.warning("could not expire %s: %s", order.stripe_session_id, exc)
            return 0
        if session.status == "complete":
            await settle(svc, session)
            return 1
    elif order.expires_at > now:
        note = "no payment page was made for this hold"
    return int(await svc.write(orders.release, order_id=order.id, now=now, note=note))


async def _made_before(svc: Services, refund: refunds.Outgoing) -> Refund | None:
    """The refund Stripe already made for this ledger row, found by its metadata among the
    charge's refunds. Raises PaymentError when Stripe cannot be asked."""
    for made in await payments(svc).list_refunds(payment_intent=refund.payment_intent):
        if (
            made.metadata.get("refund") == str(refund.refund_id)
            and made.metadata.get("order_reference") == refund.order_reference
            and made.amount == refund.amount
            and made.status not in ("failed", "canceled")
        ):
            return made
    return None


async def send_refund(svc: Services, refund: refunds.Outgoing, *, replaced: int = 0) -> bool:
    """Send one pending refund to Stripe with its own idempotency key; True once Stripe has
    made it. A lost answer or an outage leaves it pending, to be sent again with the same
    key (Stripe then answers with the refund it already made); a refusal for good marks it
    failed, so it is never sent again. Stripe forgets keys after a day: a refund older than
    KEYS_KEPT is first looked for among the charge's refunds, and adopted if found. A
    refund for more than the charge has left (refunds were made in Stripe's dashboard) is
    replaced by one for what is left, see `_send_what_is_left`."""
    if svc.now() - refund.created_at >= KEYS_KEPT:
        try:
            found = await _made_before(svc, refund)
        except PaymentError as exc:
            log.warning("could not list refunds for %s: %s", refund.order_reference, exc)
            return False  # never send blind what may have been made: try again later
        if found is not None:
            return await svc.write(
                refunds.mark_succeeded,
                refund_id=refund.refund_id,
                stripe_refund_id=found.id,
                amount=found.amount,
                now=svc.now(),
            )
    try:
        made = await payments(svc).refund(
            payment_intent=refund.payment_intent,
            amount=refund.amount,
            idempotency_key=refund.idempotency_key,
            metadata={
                "order_reference": refund.order_reference,
                "refund": str(refund.refund_id),
                "reason": refund.reason[:500],
            },
        )
    except PaymentError as exc:
        log.warning("refund %s for %s failed: %s", refund.refund_id, refund.order_reference, exc)
        if exc.code in stripe_refunds.TOO_LARGE:
            return await _send_what_is_left(svc, refund, exc, replaced=replaced)
        if exc.code in refunds.PERMANENT_ERRORS:
            await svc.write(
                refunds.mark_failed,
                refund_id=refund.refund_id,
                error=f"{exc.code}: {exc}",
                now=svc.now(),
            )
        return False
    await svc.write(
        refunds.mark_succeeded,
        refund_id=refund.refund_id,
        stripe_refund_id=made.id,
        amount=made.amount,
        now=svc.now(),
    )
    return True


async def _send_what_is_left(
    svc: Services, refund: refunds.Outgoing, refused: PaymentError, *, replaced: int
) -> bool:
    """Stripe refused the refund as more than its charge has left: read the charge and its
    refunds back, record those made elsewhere, and send what is left of this one in its
    place (a few times at most: a dashboard refund can land in between). If Stripe cannot
    be asked, the refund stays pending and is refused and looked at again next time."""
    try:
        made = await payments(svc).list_refunds(payment_intent=refund.payment_intent)
        charge = await payments(svc).charge_of(refund.payment_intent)
    except PaymentError as exc:
        log.warning("could not read the charge of %s: %s", refund.order_reference, exc)
        return False
    order_id = await svc.write(
        stripe_refunds.replace_refused,
        refund_id=refund.refund_id,
        error=f"{refused.code}: {refused}",
        made=made,
        charged=charge.amount if charge else 0,
        now=svc.now(),
    )
    if order_id is None or replaced >= MAX_REPLACEMENTS:
        return False  # settled meanwhile, or the refunds job sends what replaced it
    sent = 0
    for pending in await svc.read(refunds.outgoing, order_id=order_id):
        sent += await send_refund(svc, pending, replaced=replaced + 1)
    return sent > 0


async def send_refunds_for(svc: Services, *, order_id: int) -> int:
    """Send an order's pending refunds now (after the transaction that opened them)."""
    sent = 0
    for refund in await svc.read(refunds.outgoing, order_id=order_id):
        sent += await send_refund(svc, refund)
    return sent


async def settle_refunds(svc: Services) -> int:
    """The refunds job: send every pending refund (again), oldest first, after opening one
    for any money owed from before refunds had rows. Returns how many Stripe made."""
    for order_id in await svc.read(refunds.owed_without_refund):
        await svc.write(refunds.open_owed, order_id=order_id, now=svc.now())
    done = 0
    for refund in await svc.read(refunds.outgoing):
        done += await send_refund(svc, refund)
    return done


def hold_duration(svc: Services) -> timedelta:
    return timedelta(minutes=svc.settings.hold_minutes)
