"""Refunds against a PaymentIntent's charge."""

from typing import TYPE_CHECKING, Any

from . import objects
from .catalog import REFUND_CREATE_PARAMS
from .errors import ApiError
from .money import format_amount
from .params import as_enum, as_expand, as_int, as_metadata, as_str, reject_unknown

if TYPE_CHECKING:
    from .state import StandIn

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def create(store: "StandIn", params: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/refunds``."""
    reject_unknown(params, REFUND_CREATE_PARAMS)
    ch = _charge(store, params)
    amount = as_int(params, "amount", "amount", minimum=1)
    reason = as_enum(params, "reason", "reason", REASONS)
    metadata = as_metadata(params)
    remaining = ch["amount"] - ch["amount_refunded"]
    if remaining <= 0:
        raise ApiError(
            400, f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded"
        )
    if amount is None:
        amount = remaining
    if amount > remaining:
        cur = ch["currency"]
        if ch["amount_refunded"]:
            limit = f"unrefunded amount on charge ({format_amount(remaining, cur)})"
        else:
            limit = f"charge amount ({format_amount(ch['amount'], cur)})"
        raise ApiError(
            400,
            f"Refund amount ({format_amount(amount, cur)}) is greater than {limit}",
            code="amount_too_large",
            param="amount",
        )
    refund = store.put(
        objects.refund(amount, ch, reason, metadata, store.refund_status, store.now())
    )
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
    store.emit("refund.created", refund, request)
    store.emit("charge.refunded", ch, request)
    return store.render(refund, as_expand(params))


def finish(store: "StandIn", refund: dict[str, Any], succeeded: bool) -> dict[str, Any]:
    """Move a refund to ``succeeded`` (from pending) or ``failed``."""
    before = refund["status"]
    if succeeded and before != "pending":
        raise ApiError(400, f"Refund {refund['id']} is {before}, not pending.")
    if not succeeded and before not in ("pending", "succeeded"):
        raise ApiError(400, f"Refund {refund['id']} is {before} and cannot fail.")
    if succeeded:
        refund["status"] = "succeeded"
    else:
        refund.update(status="failed", failure_reason="expired_or_canceled_card")
        ch = store.get("charge", refund["charge"])
        ch["amount_refunded"] -= refund["amount"]
        ch["refunded"] = False
        store.emit("refund.failed", refund)
    store.emit("refund.updated", refund, previous={"status": before})
    store.emit("charge.refund.updated", refund, previous={"status": before})
    return store.render(refund)


def _charge(store: "StandIn", params: dict[str, Any]) -> dict[str, Any]:
    pi_id = as_str(params, "payment_intent", "payment_intent")
    ch_id = as_str(params, "charge", "charge")
    if not pi_id and not ch_id:
        raise ApiError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            code="parameter_missing",
        )
    if pi_id:
        pi = store.get("payment_intent", pi_id, "payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise ApiError(
                400,
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                code="charge_not_refundable",
                param="payment_intent",
            )
        ch = store.get("charge", pi["latest_charge"])
        if ch_id and ch_id != ch["id"]:
            raise ApiError(400, "The charge does not belong to this PaymentIntent.", param="charge")
        return ch
    ch = store.get("charge", ch_id or "", "charge")
    if ch["status"] != "succeeded":
        raise ApiError(
            400,
            f"Charge {ch['id']} has not succeeded and cannot be refunded.",
            code="charge_not_refundable",
            param="charge",
        )
    return ch
