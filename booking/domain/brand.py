"""The publisher's brand: site name, logo, colours checked for contrast, footer links, and the
legal name and postal address printed in emails. One row, set by organisers; until it exists
the site wears the defaults from Settings."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

from sqlmodel import Session

from booking.domain import audit, inputs
from booking.domain.errors import InvalidInput
from booking.models import SiteBrand, User

ROW_ID = 1
WHITE = "#ffffff"
AA = 4.5  # WCAG 2.x AA contrast for body text
COLOUR_RE = re.compile(r"^#?([0-9a-f]{6}|[0-9a-f]{3})$")
TEXT_FIELDS = ("site_name", "legal_name", "postal_address")
URL_FIELDS = ("privacy_url", "terms_url", "contact_url")


@dataclass(frozen=True)
class Brand:
    site_name: str
    brand_colour: str
    link_colour: str
    logo: str = ""
    privacy_url: str = ""
    terms_url: str = ""
    contact_url: str = ""
    legal_name: str = ""
    postal_address: str = ""

    @property
    def version(self) -> str:
        """Changes whenever anything shown changes: for cache-busting the CSS and icons."""
        return hashlib.sha256(repr(sorted(asdict(self).items())).encode()).hexdigest()[:12]

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.postal_address.splitlines() if line.strip()]

    @property
    def footer_links(self) -> list[tuple[str, str]]:
        links = [
            ("Privacy policy", self.privacy_url),
            ("Terms", self.terms_url),
            ("Contact us", self.contact_url),
        ]
        return [(label, url) for label, url in links if url]


def luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio between two #rrggbb colours, from 1 to 21."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour(raw: object, *, name: str, against: str, where: str) -> str:
    """A colour typed as #rrggbb (or #rgb) that reaches AA contrast against `against`.

    Raises ValueError with a message for people.
    """
    value = str(raw or "").strip().lower()
    match = COLOUR_RE.match(value)
    if not value:
        raise ValueError(f"Enter a {name.lower()}, like #1d1d3b")
    if not match:
        raise ValueError(f"{name} must be a colour code like #1d1d3b")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    value = f"#{digits}"
    ratio = contrast(value, against)
    if ratio < AA:
        raise ValueError(
            f"{name} {value} has a contrast of {ratio:.1f}:1 {where}; it needs at least "
            f"{AA}:1 to be readable (WCAG AA). Choose a darker colour"
        )
    return value


def _url(raw: object, *, name: str) -> str:
    value = inputs.text(raw, name=name, limit=500)
    if not value:
        return ""
    if "@" in value and not value.startswith(("http://", "https://", "mailto:")):
        value = "mailto:" + value
    parts = urlsplit(value)
    if parts.scheme == "mailto" and inputs.EMAIL_RE.match(parts.path):
        return value
    if parts.scheme in ("http", "https") and parts.netloc:
        return value
    raise ValueError(f"{name} must be a web address starting with https://, or an email address")


def read_form(values: dict[str, str], *, logo: str) -> Brand:
    """The brand as typed in the settings form. Raises InvalidInput naming each bad field."""
    errors = inputs.Errors()
    site_name = errors.take(
        "site_name",
        lambda: inputs.text(
            values.get("site_name"), name="Site name", limit=100, missing="Enter the site name"
        ),
    )
    brand_colour = errors.take(
        "brand_colour",
        lambda: colour(
            values.get("brand_colour"),
            name="Brand colour",
            against=WHITE,
            where="behind the header's white text",
        ),
    )
    link_colour = errors.take(
        "link_colour",
        lambda: colour(
            values.get("link_colour"), name="Link colour", against=WHITE, where="on the white page"
        ),
    )
    urls = {
        field: errors.take(field, partial(_url, values.get(field), name=label))
        for field, label in zip(
            URL_FIELDS, ("Privacy policy link", "Terms link", "Contact link"), strict=True
        )
    }
    legal_name = errors.take(
        "legal_name",
        lambda: inputs.text(values.get("legal_name"), name="Legal name", limit=200),
    )
    address = errors.take(
        "postal_address",
        lambda: inputs.paragraphs(values.get("postal_address"), name="Postal address", limit=500),
    )
    if errors:
        raise InvalidInput(dict(errors))
    return Brand(
        site_name=site_name or "",
        brand_colour=brand_colour or "",
        link_colour=link_colour or "",
        logo=logo,
        privacy_url=urls["privacy_url"] or "",
        terms_url=urls["terms_url"] or "",
        contact_url=urls["contact_url"] or "",
        legal_name=legal_name or "",
        postal_address=address or "",
    )


def of_row(row: SiteBrand | None, default: Brand) -> Brand:
    """The brand a saved row describes, or `default` when none has been saved."""
    if row is None:
        return default
    return Brand(
        site_name=row.site_name,
        brand_colour=row.brand_colour,
        link_colour=row.link_colour,
        logo=row.logo,
        privacy_url=row.privacy_url,
        terms_url=row.terms_url,
        contact_url=row.contact_url,
        legal_name=row.legal_name,
        postal_address=row.postal_address,
    )


def current(session: Session, *, default: Brand) -> Brand:
    """The brand the site wears now."""
    return of_row(session.get(SiteBrand, ROW_ID), default)


def _store(session: Session, brand: Brand, *, actor: User, now: datetime, before: Brand) -> None:
    row = session.get(SiteBrand, ROW_ID) or SiteBrand(
        id=ROW_ID, site_name="", brand_colour="", link_colour=""
    )
    for key, value in asdict(brand).items():
        setattr(row, key, value)
    row.updated_at = now
    session.add(row)
    changed = {
        key: {"before": getattr(before, key), "after": value}
        for key, value in asdict(brand).items()
        if getattr(before, key) != value
    }
    audit.record(
        session,
        "site.brand_changed",
        subject_type="site",
        subject_id=ROW_ID,
        actor=actor,
        now=now,
        data=changed,
    )


def save(
    session: Session, *, values: dict[str, str], default: Brand, actor: User, now: datetime
) -> Brand:
    """Check and save the brand from the settings form (the logo is kept as it is).

    Raises InvalidInput, with a message per field (a colour that fails contrast included);
    nothing changes then.
    """
    with session.begin():
        before = current(session, default=default)
        brand = read_form(values, logo=before.logo)
        _store(session, brand, actor=actor, now=now, before=before)
    return brand


def set_logo(session: Session, *, path: str, default: Brand, actor: User, now: datetime) -> str:
    """Put a stored logo (or "" for none) on the brand; returns the previous logo's path."""
    with session.begin():
        before = current(session, default=default)
        _store(session, replace(before, logo=path), actor=actor, now=now, before=before)
    return before.logo
