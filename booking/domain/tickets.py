"""Ticket codes: random and signed, so a door device can tell a forged code without the database.

A code is 16 bytes, 10 random and 6 of HMAC-SHA256 over them, written as 26 characters of
Crockford base32 (upper case, so a QR code uses its compact alphanumeric mode). Staff can
type the first 8 characters, shown as "K7QF-29XM", as the ticket's short reference.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_CANONICAL = str.maketrans({"I": "1", "L": "1", "O": "0"})
RANDOM_BYTES = 10
TAG_BYTES = 6
CODE_LENGTH = 26
REFERENCE_LENGTH = 8


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A key for one purpose, derived from the app's SECRET_KEY."""
    return hmac.new(secret_key.encode(), f"booking:{purpose}".encode(), hashlib.sha256).digest()


def _b32encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    bits = len(data) * 8
    length = -(-bits // 5)
    number <<= length * 5 - bits
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(length)))


def _b32decode(text: str, nbytes: int) -> bytes:
    number = 0
    for char in text:
        number = number * 32 + _DECODE[char]
    number >>= len(text) * 5 - nbytes * 8
    return number.to_bytes(nbytes, "big")


def _tag(key: bytes, body: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha256).digest()[:TAG_BYTES]


def new_code(key: bytes) -> str:
    body = secrets.token_bytes(RANDOM_BYTES)
    return _b32encode(body + _tag(key, body))


def normalise(text: str) -> str:
    """Upper-case, without spaces or dashes, as a scanner or a person might give it."""
    return "".join(c for c in text.upper() if c not in " -\t\r\n")


def verify(code: str, key: bytes) -> bool:
    """True when the code is well formed and signed by `key` (no database needed)."""
    code = normalise(code)
    if len(code) != CODE_LENGTH or any(c not in _DECODE for c in code):
        return False
    raw = _b32decode(code, RANDOM_BYTES + TAG_BYTES)
    if _b32encode(raw) != code.translate(_CANONICAL):
        return False  # the 2 padding bits must be zero, or two spellings would pass
    body, tag = raw[:RANDOM_BYTES], raw[RANDOM_BYTES:]
    return hmac.compare_digest(tag, _tag(key, body))


def reference(code: str) -> str:
    """The short reference staff can type: the first 8 characters, as "K7QF-29XM"."""
    return f"{code[:4]}-{code[4:REFERENCE_LENGTH]}"


def grouped(code: str) -> str:
    """The whole code in groups of four for reading aloud."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def new_order_reference() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def new_token() -> str:
    """An unguessable link token: 192 bits."""
    return secrets.token_urlsafe(24)
