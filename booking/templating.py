"""Jinja2 set up once: autoescaping everywhere, and filters for money, London time and Markdown."""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.templating import Jinja2Templates

from booking import static_assets
from booking.domain import venues
from booking.settings import resource_dir

TEMPLATES_DIR = resource_dir("templates")
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})


def money(amount: int, currency: str = "GBP") -> str:
    """Minor units to a price for people: 1000 GBP -> "£10", 550 -> "£5.50", 0 -> "Free"."""
    if amount == 0:
        return "Free"
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    pounds, pence = divmod(amount, 100)
    return f"{symbol}{pounds:,}" if pence == 0 else f"{symbol}{pounds:,}.{pence:02d}"


def money_exact(amount: int, currency: str = "GBP") -> str:
    """Always with pence, for totals and receipts: "£10.00"."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")
    pounds, pence = divmod(amount, 100)
    return f"{symbol}{pounds:,}.{pence:02d}"


def _clock(dt: datetime) -> str:
    hour = dt.hour % 12 or 12
    suffix = "am" if dt.hour < 12 else "pm"
    return f"{hour}{suffix}" if dt.minute == 0 else f"{hour}:{dt.minute:02d}{suffix}"


class LocalTime:
    """Formats UTC datetimes in the configured zone (Europe/London by default)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.zone)

    def date(self, dt: datetime) -> str:
        d = self.local(dt)
        return f"{d:%A} {d.day} {d:%B %Y}"

    def short_date(self, dt: datetime) -> str:
        d = self.local(dt)
        return f"{d:%a} {d.day} {d:%b}"

    def time(self, dt: datetime) -> str:
        return _clock(self.local(dt))

    def when(self, starts: datetime, ends: datetime | None = None) -> str:
        """ "Thursday 12 March 2026, 7pm to 8:30pm" """
        text = f"{self.date(starts)}, {self.time(starts)}"
        if ends and self.local(ends).date() == self.local(starts).date():
            text += f" to {self.time(ends)}"
        elif ends:
            text += f" to {self.date(ends)}, {self.time(ends)}"
        return text

    def iso(self, dt: datetime) -> str:
        return self.local(dt).isoformat()


@functools.lru_cache(maxsize=512)
def markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML disabled, then sanitised (links get rel=noopener)."""
    html = _markdown.render(text or "")
    return Markup(nh3.clean(html, link_rel="noopener noreferrer nofollow"))  # noqa: S704


class SitePath(str):
    """A path on this site; `.path` is itself, as with Starlette's URL objects."""

    @property
    def path(self) -> str:
        return str(self)


@pass_context
def url_for(context: Any, name: str, /, **params: Any) -> str:
    """A link to a route as a path on this site ("/events/x"), remembered per route and
    params. Absolute links (emails, calendar files, Stripe) are built from BASE_URL instead."""
    return site_path(context["request"].app.router, name, **params)


def site_path(router: Any, name: str, /, **params: Any) -> SitePath:
    """`url_for` outside a template: the router's path for a route, remembered (Starlette
    looks through every route each time it is asked)."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], SitePath] = router.__dict__.setdefault(
        "_booking_paths", {}
    )
    key = (name, tuple(sorted(params.items())))
    path = cache.get(key)
    if path is None:
        if name == "static" and "path" in params:  # fingerprinted: cached for a year
            params = {**params, "path": static_assets.fingerprinted(params["path"])}
        path = SitePath(router.url_path_for(name, **params))
        if len(cache) < 4096:
            cache[key] = path
    return path


def make_environment(zone: ZoneInfo, directory: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(directory)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    clock = LocalTime(zone)
    env.filters.update(
        money=money,
        money_exact=money_exact,
        markdown=markdown,
        london_date=clock.date,
        london_short_date=clock.short_date,
        london_time=clock.time,
        london_iso=clock.iso,
    )
    env.filters["venue_address"] = venues.address
    env.filters["venue_access"] = venues.access_facts
    env.globals["when"] = clock.when

    def sentence(entry: Any, names: Any, currency: str = "GBP") -> str:
        """An audit entry as a sentence (booking.narration)."""
        from booking.narration import Narrator

        return Narrator(clock, names, currency).sentence(entry)

    def device_name(names: Any, key: str) -> str:
        from booking.domain.devices import label

        return label(getattr(names, "devices", names), key)

    env.globals.update(sentence=sentence, device_name=device_name)
    env.globals["url_for"] = url_for
    return env


def make_templates(zone: ZoneInfo) -> Jinja2Templates:
    return Jinja2Templates(env=make_environment(zone))
