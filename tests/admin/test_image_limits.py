"""Image uploads within the byte and side limits can still decode to a gigabyte: decoded
pixels are capped and images are decoded one at a time per process."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from booking import images
from tests.admin.test_speakers import png


def flat_png(width: int, height: int) -> bytes:
    """A valid grey PNG of `width` × `height`, compressed row by row (little memory)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    packer = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_a_small_file_of_too_many_pixels_is_refused_before_decoding():
    bomb = flat_png(8000, 8000)
    assert len(bomb) < 300_000 and len(bomb) < images.MAX_BYTES
    assert Image.open(io.BytesIO(bomb)).size == (8000, 8000)  # a real, readable image
    started = time.perf_counter()
    with pytest.raises(images.ImageRejected, match="at most 25 megapixels"):
        images.process(bomb, images.HERO)
    assert time.perf_counter() - started < 0.5


def test_an_ordinary_large_photo_is_still_taken():
    photo = flat_png(6000, 4000)
    result = Image.open(io.BytesIO(images.process(photo, images.HERO)))
    assert result.size == (1350, 900)


def test_images_are_decoded_one_at_a_time(monkeypatch):
    busy = 0
    most = 0
    lock = threading.Lock()
    real = images._flatten

    def watched(image):  # type: ignore[no-untyped-def]
        nonlocal busy, most
        with lock:
            busy += 1
            most = max(most, busy)
        time.sleep(0.05)
        try:
            return real(image)
        finally:
            with lock:
                busy -= 1

    monkeypatch.setattr(images, "_flatten", watched)
    upload = png(800, 600)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: images.process(upload, images.HERO), range(8)))
    assert len(results) == 8 and most == 1
