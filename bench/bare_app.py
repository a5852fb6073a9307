"""The comparison for the event page benchmark: a bare Starlette app (no middleware, no
sessions) that serves one event page rendered with Jinja2 from the same rows booking reads
(the event and its venue, organisers, speakers and ticket types: 4 SELECTs through a sync
SQLModel Session in the capped thread pool), padded to the size of booking's page.

Settings from the environment: DATABASE_URL, THREAD_LIMIT (threads for database work,
as booking), BENCH_EVENT_SLUG (default london-and-brexit) and BENCH_PAGE_BYTES (pad the
page to this many bytes; 0 for no padding). Serve it with `python bench/serve.py --app bare`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, create_engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from booking.models import (
    Event,
    EventOrganiser,
    EventSpeaker,
    Organisation,
    Speaker,
    SpeakerVisibility,
    TicketType,
    Venue,
)

TEMPLATE = Path(__file__).resolve().parent / "bare_event.html"


def money(amount: int, currency: str = "GBP") -> str:
    pounds, pence = divmod(amount, 100)
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency.upper(), currency + " ")
    return f"{symbol}{pounds}" if pence == 0 else f"{symbol}{pounds}.{pence:02d}"


@dataclass
class PageData:
    event: Event
    venue: Venue | None
    organisers: list[Organisation]
    speakers: list[tuple[str, Speaker]]
    ticket_types: list[TicketType]


def load_page(session: Session, slug: str) -> PageData | None:
    row = session.exec(
        select(Event, Venue).join(Venue, isouter=True).where(Event.slug == slug)
    ).first()
    if row is None:
        return None
    event, venue = row
    organisers = session.exec(
        select(Organisation)
        .join(EventOrganiser)
        .where(EventOrganiser.event_id == event.id)
        .order_by(col(EventOrganiser.position))
    ).all()
    speakers = session.exec(
        select(EventSpeaker, Speaker)
        .join(Speaker)
        .where(
            EventSpeaker.event_id == event.id,
            EventSpeaker.visibility == SpeakerVisibility.CONFIRMED,
        )
        .order_by(col(EventSpeaker.position))
    ).all()
    types = session.exec(
        select(TicketType).where(TicketType.event_id == event.id).order_by(col(TicketType.position))
    ).all()
    return PageData(
        event, venue, list(organisers), [(es.role, sp) for es, sp in speakers], list(types)
    )


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def make_app() -> Starlette:
    engine = make_engine(os.environ["DATABASE_URL"])
    threads = int(os.environ.get("THREAD_LIMIT", "4"))
    slug = os.environ.get("BENCH_EVENT_SLUG", "london-and-brexit")
    target_bytes = int(os.environ.get("BENCH_PAGE_BYTES", "0"))
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE.parent)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = money
    template = env.get_template(TEMPLATE.name)
    padding: dict[str, str] = {}

    def read() -> PageData | None:
        with Session(engine) as session:
            return load_page(session, slug)

    def render(data: PageData) -> str:
        context: dict[str, Any] = {**vars(data), "pad": padding.get("pad", "")}
        if "pad" not in padding:
            natural = len(template.render(context).encode())
            padding["pad"] = "x" * max(0, target_bytes - natural)
            context["pad"] = padding["pad"]
        return template.render(context)

    async def page(request: Request) -> HTMLResponse:
        data = await run_in_threadpool(read)
        if data is None:
            raise HTTPException(404)
        return HTMLResponse(render(data))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield
        engine.dispose()

    return Starlette(routes=[Route("/bare", page)], lifespan=lifespan)
