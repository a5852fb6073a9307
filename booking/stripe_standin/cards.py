"""Stripe's test cards, card-number checks, and card-shaped objects."""

import re
from dataclasses import dataclass
from typing import Any

from .ids import new_id
from .objects import billing_details

_SUCCESS = "succeeded"
# number -> (outcome, failure code, decline code, buyer-facing message)
TEST_CARDS: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "4242424242424242": (_SUCCESS, None, None, None),
    "4000056655665556": (_SUCCESS, None, None, None),
    "5555555555554444": (_SUCCESS, None, None, None),
    "2223003122003222": (_SUCCESS, None, None, None),
    "378282246310005": (_SUCCESS, None, None, None),
    "4000000000003220": (_SUCCESS, None, None, None),
    "4000000000000002": ("declined", "card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": (
        "declined",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "4000000000009987": ("declined", "card_declined", "lost_card", "Your card was declined."),
    "4000000000009979": ("declined", "card_declined", "stolen_card", "Your card was declined."),
    "4000000000000069": ("declined", "expired_card", "expired_card", "Your card has expired."),
    "4000000000000127": (
        "declined",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    "4000000000000119": (
        "declined",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
}
LIVE_CARD_MESSAGE = (
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing."
)


class CardInputError(ValueError):
    """The buyer typed something that is not a usable card (shown inline, no charge made)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Card:
    number: str
    brand: str
    exp_month: int
    exp_year: int
    cvc_given: bool
    outcome: str
    failure_code: str | None
    decline_code: str | None
    message: str | None

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def funding(self) -> str:
        return "debit" if self.number == "4000056655665556" else "credit"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def brand_of(digits: str) -> str:
    if digits.startswith("4"):
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    if digits[:2] in {"51", "52", "53", "54", "55"} or digits[:1] == "2":
        return "mastercard"
    return "unknown"


def read_card(number: str, expiry: str = "", cvc: str = "", *, year_now: int = 2026) -> Card:
    """Check what the buyer typed; raise CardInputError like Stripe's inline messages."""
    number = number.strip()
    if number in TEST_PAYMENT_METHODS:
        number = TEST_PAYMENT_METHODS[number]
    digits = re.sub(r"[\s-]", "", number)
    if not digits:
        raise CardInputError("Your card number is incomplete.", "incomplete_number")
    if not digits.isdigit() or len(digits) > 19:
        raise CardInputError("Your card number is invalid.", "invalid_number")
    if len(digits) < 13:
        raise CardInputError("Your card number is incomplete.", "incomplete_number")
    if not luhn_ok(digits):
        raise CardInputError("Your card number is invalid.", "incorrect_number")
    month, year = _read_expiry(expiry, year_now)
    cvc = cvc.strip()
    if cvc and not re.fullmatch(r"\d{3,4}", cvc):
        raise CardInputError("Your card's security code is incomplete.", "incomplete_cvc")
    if digits not in TEST_CARDS:
        raise CardInputError(LIVE_CARD_MESSAGE, "card_declined")
    outcome, failure, decline, message = TEST_CARDS[digits]
    return Card(
        digits, brand_of(digits), month, year, bool(cvc), outcome, failure, decline, message
    )


def _read_expiry(expiry: str, year_now: int) -> tuple[int, int]:
    expiry = expiry.strip()
    if not expiry:
        return 12, year_now + 8
    match = re.fullmatch(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", expiry)
    if not match or not 1 <= int(match.group(1)) <= 12:
        raise CardInputError("Your card's expiration date is incomplete.", "incomplete_expiry")
    month, year = int(match.group(1)), int(match.group(2))
    if year < 100:
        year += 2000
    if year < year_now:
        raise CardInputError("Your card's expiration year is in the past.", "invalid_expiry_year")
    return month, year


def card_payment_method(card: Card, email: str, name: str | None, now: int) -> dict[str, Any]:
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "limited",
        "billing_details": billing_details(email, name, "GB"),
        "card": {
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass" if card.cvc_given else None,
            },
            "country": "US",
            "display_brand": card.brand,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": new_id("", 16),
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def bank_debit_payment_method(email: str, name: str | None, now: int) -> dict[str, Any]:
    """A SEPA Direct Debit method: it settles later, like Checkout's delayed methods."""
    return {
        "id": new_id("pm_"),
        "object": "payment_method",
        "allow_redisplay": "limited",
        "billing_details": billing_details(email, name or "Test Buyer", "DE"),
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "sepa_debit": {
            "bank_code": "37040044",
            "branch_code": "",
            "country": "DE",
            "fingerprint": new_id("", 16),
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": "3000",
        },
        "type": "sepa_debit",
    }
