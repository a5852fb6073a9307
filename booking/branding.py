"""The brand as the web pages and emails wear it: defaults from Settings, a per-process cache,
the stylesheet that sets its colours, the logo upload (PNG re-encoded, SVG sanitised) and the
favicon and apple-touch icon."""

from __future__ import annotations

import io
import logging
import re
import secrets
import time
import warnings
import xml.etree.ElementTree as ET  # noqa: S405 (DOCTYPEs and entities are refused first)
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from booking.domain import brand
from booking.settings import Settings

log = logging.getLogger("booking.branding")
CACHE_SECONDS = 30.0
LOGO_MAX_BYTES = 512 * 1024
LOGO_BOX = (800, 200)
LOGO_FOLDER = "brand"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def defaults(settings: Settings) -> brand.Brand:
    """The brand from Settings (environment or .env), worn until an organiser saves one."""
    return brand.Brand(
        site_name=settings.site_name,
        brand_colour=settings.brand_colour.lower(),
        link_colour=settings.link_colour.lower(),
        privacy_url=settings.privacy_url,
        terms_url=settings.terms_url,
        contact_url=settings.contact_url,
        legal_name=settings.legal_name,
        postal_address=settings.postal_address.replace("\\n", "\n"),
    )


def current(svc: Any) -> brand.Brand:
    """The brand for this request, read at most every CACHE_SECONDS per process.

    `svc` is the web Services (settings, db, extras)."""
    cached = svc.extras.get("brand")
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        hit: brand.Brand = cached[1]
        return hit
    with svc.db.session() as session:
        found = brand.current(session, default=defaults(svc.settings))
    svc.extras["brand"] = (time.monotonic(), found)
    return found


def forget(svc: Any) -> None:
    """Drop this process's cached brand (after an organiser saved a new one)."""
    svc.extras.pop("brand", None)
    svc.extras.pop("icons", None)


def stylesheet(b: brand.Brand) -> str:
    """The brand's colours as CSS custom properties, served as /brand.css."""
    return (
        f":root {{ --brand: {b.brand_colour}; --link: {b.link_colour}; }}\n"
        f".ticket-summary {{ border-top-color: {b.brand_colour}; }}\n"
    )


async def tell_standin(svc: Any) -> None:
    """In test mode, give the Stripe stand-in the site's name to show on its payment page,
    as Stripe Checkout shows the account's business name (set in Stripe's dashboard)."""
    settings = svc.settings
    if not settings.uses_stripe_standin:
        return
    name = current(svc).site_name
    url = f"http://127.0.0.1:{settings.stripe_standin_port}/_test/account"
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            await client.post(url, json={"display_name": name})
    except httpx.HTTPError as exc:
        log.info("the Stripe stand-in did not take the site's name: %s", exc)


# Logos -----------------------------------------------------------------------------------


class LogoRejected(ValueError):
    """The upload is not a logo we take; the message says why, for people."""


SVG_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "title", "desc", "defs", "lineargradient", "radialgradient", "stop", "clippath",
    "mask", "use", "symbol",
}  # fmt: skip
SVG_ATTRIBUTES = {
    "id", "class", "viewbox", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy",
    "r", "rx", "ry", "d", "points", "fill", "fill-opacity", "fill-rule", "clip-rule", "stroke",
    "stroke-width", "stroke-opacity", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
    "stroke-dasharray", "stroke-dashoffset", "opacity", "transform", "offset", "stop-color",
    "stop-opacity", "gradientunits", "gradienttransform", "spreadmethod", "fx", "fy",
    "clip-path", "mask", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "letter-spacing", "preserveaspectratio", "role",
    "aria-label", "aria-hidden", "version", "maskunits", "clippathunits",
}  # fmt: skip


def _local(name: str) -> tuple[str, str]:
    """("{ns}tag" or "tag") -> (namespace, lower-case local name)."""
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local.lower()
    return "", name.lower()


def _safe_value(value: str) -> bool:
    lowered = re.sub(r"\s", "", value.lower())
    if "javascript:" in lowered or "data:" in lowered or "@import" in lowered:
        return False
    # url() may only point inside the file (gradients, clip paths): url(#id).
    return all(ref.startswith("#") for ref in re.findall(r"url\(['\"]?([^)'\"]*)", lowered))


def sanitise_svg(data: bytes) -> bytes:
    """An SVG with only drawing elements and attributes kept: no scripts, event handlers,
    styles, foreign objects or links out of the file. Raises LogoRejected."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise LogoRejected("The SVG must not contain a DOCTYPE or entities")
    try:
        root = ET.fromstring(data)  # noqa: S314 (no DOCTYPE, so no entity expansion)
    except ET.ParseError:
        raise LogoRejected("The selected file must be an SVG or PNG image") from None
    ns, tag = _local(root.tag)
    if ns != SVG_NS or tag != "svg":
        raise LogoRejected("The selected file must be an SVG or PNG image")

    def clean(element: ET.Element) -> None:
        for child in list(element):
            child_ns, child_tag = _local(child.tag) if isinstance(child.tag, str) else ("", "")
            if child_ns != SVG_NS or child_tag not in SVG_ELEMENTS:
                element.remove(child)
                continue
            clean(child)
        for key, value in list(element.attrib.items()):
            attr_ns, attr = _local(key)
            if attr == "href" and attr_ns in ("", XLINK_NS) and value.startswith("#"):
                continue  # a link to a shape in this file (<use href="#a">)
            if attr_ns == XML_NS and attr == "space":
                continue
            if attr_ns or attr not in SVG_ATTRIBUTES or not _safe_value(value):
                del element.attrib[key]

    clean(root)
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    svg: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return svg


def process_logo(data: bytes) -> tuple[bytes, str]:
    """(bytes, "svg" or "png") for an uploaded logo. Raises LogoRejected."""
    if not data:
        raise LogoRejected("Select a logo file")
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRejected(f"The logo must be smaller than {LOGO_MAX_BYTES // 1024} KB")
    if data.lstrip()[:1] == b"<":
        return sanitise_svg(data), "svg"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=("PNG",))
        with image:
            if max(image.size) > 4000:
                raise LogoRejected("The logo must be at most 4000 pixels wide and high")
            image.load()
            picture = ImageOps.contain(image.convert("RGBA"), LOGO_BOX)
    except LogoRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise LogoRejected("The selected file must be an SVG or PNG image") from None
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue(), "png"


def store_logo(data: bytes, ext: str, *, media_dir: str | Path) -> str:
    """Save a processed logo under a random name; returns its public path /media/brand/…"""
    folder = Path(media_dir) / LOGO_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(12)}.{ext}"
    (folder / name).write_bytes(data)
    return f"/media/{LOGO_FOLDER}/{name}"


# Icons -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Icons:
    favicon: bytes  # .ico with 16, 32 and 48 pixel images
    touch: bytes  # 180 x 180 PNG for the iPhone home screen


def _square(b: brand.Brand, *, media_dir: str | Path, size: int) -> Image.Image:
    """A PNG logo centred on white, or the site's initial in white on the brand colour."""
    if b.logo.endswith(".png"):
        path = Path(media_dir) / b.logo.removeprefix("/media/")
        try:
            with Image.open(path, formats=("PNG",)) as logo:
                art = ImageOps.contain(logo.convert("RGBA"), (int(size * 0.9),) * 2)
            canvas = Image.new("RGBA", (size, size), (255, 255, 255, 255))
            canvas.alpha_composite(art, ((size - art.width) // 2, (size - art.height) // 2))
            return canvas.convert("RGB")
        except (OSError, ValueError):
            log.warning("logo %s could not be read for the icons", b.logo)
    canvas = Image.new("RGB", (size, size), b.brand_colour)
    letter = (b.site_name.strip()[:1] or "?").upper()
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=int(size * 0.62))
    draw.text((size / 2, size / 2), letter, fill="#ffffff", font=font, anchor="mm")
    return canvas


def icons(svc: Any) -> Icons:
    """The favicon and apple-touch icon for the current brand, made once per brand."""
    b = current(svc)
    cached = svc.extras.get("icons")
    if cached is not None and cached[0] == b.version:
        made: Icons = cached[1]
        return made
    big = _square(b, media_dir=svc.settings.media_dir, size=180)
    touch = io.BytesIO()
    big.save(touch, "PNG", optimize=True)
    favicon = io.BytesIO()
    big.save(favicon, "ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    made = Icons(favicon.getvalue(), touch.getvalue())
    svc.extras["icons"] = (b.version, made)
    return made
