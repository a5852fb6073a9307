"""What happens when the buyer pays on the hosted page (or a test pays for them)."""

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import objects
from .cards import CardInputError, bank_debit_payment_method, card_payment_method, read_card
from .charges import charge, outcome
from .errors import ApiError
from .records import SessionRecord

if TYPE_CHECKING:
    from .state import StandIn

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class PayResult:
    """``ok`` with the success redirect, or the message the page shows."""

    ok: bool
    redirect_url: str | None = None
    error: str | None = None
    code: str | None = None
    decline_code: str | None = None


def pay(
    store: "StandIn",
    record: SessionRecord,
    card: str,
    *,
    email: str | None = None,
    name: str | None = None,
    expiry: str = "",
    cvc: str = "",
    delayed: bool = False,
) -> PayResult:
    """Try one payment. Declines leave the session open; success completes it."""
    session = record.obj
    if session["status"] != "open":
        raise ApiError(
            400,
            f"This Checkout Session is {session['status']} and can no longer be paid.",
            code="checkout_session_inactive",
        )
    email = (session["customer_email"] or email or "").strip()
    if not email:
        return PayResult(False, error="Your email is incomplete.", code="email_incomplete")
    if not _EMAIL.match(email):
        return PayResult(False, error="Your email address is invalid.", code="email_invalid")
    name = (name or "").strip() or None
    now = store.now()
    if delayed:
        method = bank_debit_payment_method(email, name, now)
        card_info = None
    else:
        try:
            card_info = read_card(card, expiry, cvc, year_now=time.gmtime(now).tm_year)
        except CardInputError as exc:
            return PayResult(False, error=str(exc), code=exc.code)
        method = card_payment_method(card_info, email, name, now)
    store.put(method)
    pi = _intent(store, record, now)
    pi["payment_method"] = method["id"]
    if card_info is not None and card_info.outcome != "succeeded":
        return _decline(
            store,
            pi,
            method,
            card_info.failure_code,
            card_info.decline_code,
            card_info.message or "Your card was declined.",
            now,
        )
    status = "pending" if delayed else "succeeded"
    ch = store.put(charge(pi, method, status=status, now=now))
    pi.update(latest_charge=ch["id"], last_payment_error=None)
    if delayed:
        pi["status"] = "processing"
    else:
        pi.update(status="succeeded", amount_received=pi["amount"])
    session.update(
        status="complete",
        payment_status="unpaid" if delayed else "paid",
        url=None,
        payment_intent=pi["id"],
        customer_details=objects.customer_details(email, name, "GB"),
    )
    store.emit(f"charge.{status}", ch)
    store.emit("payment_intent.processing" if delayed else "payment_intent.succeeded", pi)
    store.emit("checkout.session.completed", session)
    redirect = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
    return PayResult(True, redirect_url=redirect)


def settle(store: "StandIn", record: SessionRecord, *, succeeded: bool) -> dict[str, Any]:
    """Finish a delayed payment: ``async_payment_succeeded`` or ``_failed``."""
    session = record.obj
    pi = store.find(record.payment_intent or "")
    if session["payment_status"] != "unpaid" or pi is None or pi["status"] != "processing":
        raise ApiError(400, "This Checkout Session has no payment waiting to settle.")
    ch = store.get("charge", pi["latest_charge"])
    if succeeded:
        ch.update(status="succeeded", paid=True, outcome=outcome())
        pi.update(status="succeeded", amount_received=pi["amount"])
        session["payment_status"] = "paid"
        store.emit("charge.succeeded", ch)
        store.emit("payment_intent.succeeded", pi)
        store.emit("checkout.session.async_payment_succeeded", session)
    else:
        message = "The customer's account has insufficient funds to cover this payment."
        ch.update(
            status="failed",
            captured=False,
            amount_captured=0,
            failure_code="insufficient_funds",
            failure_message=message,
            outcome=outcome("insufficient_funds"),
        )
        pi.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error=_payment_error(
                ch, "insufficient_funds", None, message, "sepa_debit"
            ),
        )
        store.emit("charge.failed", ch)
        store.emit("payment_intent.payment_failed", pi)
        store.emit("checkout.session.async_payment_failed", session)
    return store.render(session)


def _intent(store: "StandIn", record: SessionRecord, now: int) -> dict[str, Any]:
    """Checkout makes the PaymentIntent at the first attempt to pay."""
    if record.payment_intent:
        return store.get("payment_intent", record.payment_intent)
    session = record.obj
    pi = objects.payment_intent(
        session["amount_total"],
        session["currency"],
        dict(record.intent_data.get("metadata") or {}),
        record.intent_data.get("description"),
        now,
    )
    store.put(pi)
    record.payment_intent = pi["id"]
    store.emit("payment_intent.created", pi)
    return pi


def _decline(
    store: "StandIn",
    pi: dict[str, Any],
    method: dict[str, Any],
    failure_code: str | None,
    decline_code: str | None,
    message: str,
    now: int,
) -> PayResult:
    ch = store.put(
        charge(
            pi,
            method,
            status="failed",
            now=now,
            decline_code=decline_code,
            failure_code=failure_code,
            failure_message=message,
        )
    )
    pi.update(
        status="requires_payment_method",
        latest_charge=ch["id"],
        payment_method=None,
        last_payment_error=_payment_error(ch, failure_code, decline_code, message, "card", method),
    )
    store.emit("charge.failed", ch)
    store.emit("payment_intent.payment_failed", pi)
    return PayResult(False, error=message, code=failure_code, decline_code=decline_code)


def _payment_error(
    ch: dict[str, Any],
    code: str | None,
    decline_code: str | None,
    message: str,
    method_type: str,
    method: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "advice_code": None,
        "charge": ch["id"],
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{(code or '').replace('_', '-')}",
        "message": message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": method,
        "payment_method_type": method_type,
        "type": "card_error",
    }
