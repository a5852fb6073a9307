"""QR codes for tickets (segno): PNG, black on opaque white, with the 4-module quiet zone.

Codes are upper-case Crockford base32, so segno uses the compact alphanumeric mode; regular
QR only (`micro=False`), since phone and browser decoders cannot read Micro QR.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

BORDER = 4  # modules of quiet zone (ISO/IEC 18004)
EMAIL_SCALE = 8  # pixels per module: version 2 comes out at 264 px
PAGE_SCALE = 10


@dataclass(frozen=True)
class QRImage:
    png: bytes
    size: int  # width and height in pixels


def ticket_png(code: str, *, scale: int = EMAIL_SCALE) -> QRImage:
    """The ticket's code as a PNG QR code at a whole number of pixels per module."""
    if scale < 1:
        raise ValueError("scale must be a positive whole number")
    qr = segno.make(code, error="m", micro=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale, border=BORDER, dark="#000000", light="#ffffff")
    width, _ = qr.symbol_size(scale=scale, border=BORDER)
    return QRImage(out.getvalue(), int(width))
