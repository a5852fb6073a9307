"""Random identifiers with Stripe's prefixes."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """Return ``prefix`` followed by ``length`` random alphanumerics."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def session_id() -> str:
    """A Checkout Session id shaped like Stripe's test-mode ones."""
    return new_id("cs_test_a1", 56)
