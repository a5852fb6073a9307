"""Charge objects: the record of one payment attempt."""

from typing import Any

from .ids import new_id


def outcome(decline_code: str | None = None, pending: bool = False) -> dict[str, Any]:
    base = {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    if pending:
        base |= {"seller_message": "Payment is pending.", "type": "authorized"}
    if decline_code:
        base |= {
            "advice_code": "try_again_later",
            "network_status": "declined_by_network",
            "reason": decline_code,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }
    return base


def _method_details(pm: dict[str, Any], amount: int) -> dict[str, Any]:
    if pm["type"] == "sepa_debit":
        sepa = pm["sepa_debit"]
        return {
            "sepa_debit": {
                "bank_code": sepa["bank_code"],
                "branch_code": sepa["branch_code"],
                "country": sepa["country"],
                "expected_debit_date": None,
                "fingerprint": sepa["fingerprint"],
                "last4": sepa["last4"],
                "mandate": new_id("mandate_"),
            },
            "type": "sepa_debit",
        }
    card = pm["card"]
    return {
        "card": {
            "amount_authorized": amount,
            "authorization_code": None,
            "brand": card["brand"],
            "checks": card["checks"],
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": new_id("", 15),
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def charge(
    pi: dict[str, Any],
    pm: dict[str, Any],
    *,
    status: str,
    now: int,
    decline_code: str | None = None,
    failure_code: str | None = None,
    failure_message: str | None = None,
) -> dict[str, Any]:
    """A charge for ``pi`` paid with ``pm``; status is succeeded, pending or failed."""
    amount = pi["amount"]
    paid = status == "succeeded"
    return {
        "id": new_id("ch_"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if status != "failed" else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "BOOKING",
        "captured": status != "failed",
        "created": now,
        "currency": pi["currency"],
        "customer": None,
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": outcome(decline_code, pending=status == "pending"),
        "paid": paid,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": _method_details(pm, amount),
        "radar_options": {},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }
