"""Uploaded images (event heroes, speaker photos): checked with Pillow, re-encoded, stored.

Only JPEG, PNG and WebP are accepted, up to MAX_BYTES, MAX_SIDE pixels a side and
MAX_PIXELS in all, and the size is read from the header before any pixels are decoded: a
PNG of flat colour compresses a thousandfold, so 8000 × 8000 pixels (about 1 GB decoded)
fit in 258 kB. One image is decoded at a time per process. Every image is decoded and saved
again as a fresh JPEG (no metadata, no trailing bytes, no script in disguise) under a random
name in the media directory, which is served at /media/.
"""

from __future__ import annotations

import io
import secrets
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 25 * 1024 * 1024  # phones take photos of 10 MB and more; all are re-encoded
MAX_SIDE = 8000
MAX_PIXELS = 25_000_000  # a 6000 × 4000 photo; decoded as RGBA about 100 MB
MIN_SIDE = 100
FORMATS = ("JPEG", "PNG", "WEBP")
URL_PREFIX = "/media/"


# Decoding and re-encoding take a lot of memory for a moment: one image at a time.
_decoding = threading.Lock()


class ImageRejected(ValueError):
    """The upload is not an image we take; the message says why, for people."""


@dataclass(frozen=True)
class Kind:
    """How to store one sort of image: fit within a box, or crop to a square."""

    folder: str
    width: int
    height: int
    crop: bool
    min_side: int = MIN_SIDE


HERO = Kind("events", 1600, 900, crop=False, min_side=400)
PHOTO = Kind("speakers", 480, 480, crop=True)


def process(data: bytes, kind: Kind) -> bytes:
    """The upload as a re-encoded JPEG sized for `kind`, one image at a time per process.
    Raises ImageRejected."""
    if not data:
        raise ImageRejected("Select an image file")
    if len(data) > MAX_BYTES:
        raise ImageRejected(f"The image must be smaller than {MAX_BYTES // (1024 * 1024)} MB")
    with _decoding:
        return _process(data, kind)


def _process(data: bytes, kind: Kind) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        with image:
            width, height = image.size  # from the header: nothing decoded yet
            if max(width, height) > MAX_SIDE:
                raise ImageRejected(f"The image must be at most {MAX_SIDE} pixels wide and high")
            if width * height > MAX_PIXELS:
                raise ImageRejected(
                    f"The image must be at most {MAX_PIXELS // 1_000_000} megapixels, "
                    "like 6000 by 4000 pixels"
                )
            if min(width, height) < kind.min_side:
                raise ImageRejected(
                    f"The image must be at least {kind.min_side} pixels wide and high"
                )
            image.seek(0)  # the first frame of an animation
            image.load()
            picture = ImageOps.exif_transpose(image)
    except ImageRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ImageRejected("The selected file must be a JPG, PNG or WebP image") from None
    return _encode(_flatten(picture), kind)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: transparency and palettes do not survive JPEG."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image: Image.Image, kind: Kind) -> bytes:
    if kind.crop:
        image = ImageOps.fit(image, (kind.width, kind.height), Image.Resampling.LANCZOS)
    else:
        image = ImageOps.contain(image, (kind.width, kind.height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def store(data: bytes, kind: Kind, *, media_dir: str | Path) -> str:
    """Save processed bytes under a random name; returns the public path, /media/…/….jpg."""
    folder = Path(media_dir) / kind.folder
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(16)}.jpg"
    (folder / name).write_bytes(data)
    return f"{URL_PREFIX}{kind.folder}/{name}"


def remove(path: str, *, media_dir: str | Path) -> None:
    """Delete a stored image by its public path; anything outside the media directory is left."""
    if not path.startswith(URL_PREFIX):
        return
    root = Path(media_dir).resolve()
    target = (root / path.removeprefix(URL_PREFIX)).resolve()
    if target.is_relative_to(root) and target.is_file():
        target.unlink()
