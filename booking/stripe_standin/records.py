"""Records the stand-in keeps beside the Stripe-shaped objects."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SessionRecord:
    """A Checkout Session plus what Stripe keeps about it but does not show."""

    obj: dict[str, Any]
    line_items: list[dict[str, Any]]
    intent_data: dict[str, Any] = field(default_factory=dict)
    payment_intent: str | None = None
