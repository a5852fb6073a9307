"""The QR codes staff scan: short, regular QR (never Micro QR), error-corrected, with a quiet
zone, at whole pixels per module, and readable back to the ticket's code."""

from __future__ import annotations

import io

import segno
import zxingcpp
from PIL import Image

from booking import qr
from booking.domain import tickets
from tests.door.conftest import KEY


def test_a_ticket_qr_is_version_2_with_error_correction_and_a_quiet_zone():
    code = tickets.new_code(KEY)
    symbol = segno.make(code, error="m", micro=False)
    assert (symbol.version, symbol.mode, symbol.is_micro) == (2, "alphanumeric", False)
    assert symbol.error in ("M", "Q")  # boosted to Q when the data leaves room
    image = qr.ticket_png(code)
    assert qr.EMAIL_SCALE >= 8 and qr.BORDER == 4
    assert image.size == (25 + 2 * qr.BORDER) * qr.EMAIL_SCALE
    png = Image.open(io.BytesIO(image.png)).convert("L")
    assert png.size == (image.size, image.size)
    quiet = qr.BORDER * qr.EMAIL_SCALE
    assert png.crop((0, 0, image.size, quiet)).getextrema() == (255, 255)  # white margin
    [read] = zxingcpp.read_barcodes(png)
    assert (read.text, read.format) == (code, zxingcpp.BarcodeFormat.QRCode)


def test_a_damaged_screen_still_scans():
    """A blot over a 5 x 5 module patch in the middle: error correction reads through it."""
    code = tickets.new_code(KEY)
    image = qr.ticket_png(code)
    png = Image.open(io.BytesIO(image.png)).convert("L")
    start = (qr.BORDER + 10) * qr.EMAIL_SCALE
    png.paste(255, (start, start, start + 5 * qr.EMAIL_SCALE, start + 5 * qr.EMAIL_SCALE))
    [read] = zxingcpp.read_barcodes(png)
    assert read.text == code


def test_the_reference_is_the_first_eight_characters():
    code = tickets.new_code(KEY)
    assert tickets.reference(code) == f"{code[:4]}-{code[4:8]}"
