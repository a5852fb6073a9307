"""Public pages that any cache may keep, and this process's own copy of them.

A first visit to the list, an event page, its embed and calendar file, or the public API
gets the same bytes as every other first visitor: no cookie, `Cache-Control: public` (short,
as availability changes), a strong ETag per encoding, a 304 for a matching `If-None-Match`,
and `Vary: Accept-Encoding` only. Pages that depend on the reader (a code applied, a form
with errors, a signed-in reader, an arrival by promo link) are `private, no-store`.

Each process keeps what it rendered, already compressed, keyed on
- the page (and what it depends on, e.g. the slug),
- the content version (booking.changes): any organiser's change in any process is read
  by the next request here, in one cheap query, and makes a new key;
- the sales this process committed (booking.changes.sales_here), so the process that took
  a hold shows what is left at once; in an on-sale rush, when sales come faster than
  SALES_REFRESHES a second, at most that often, so the pages are not rendered again after
  every sale;
- a FRESH_SECONDS slot of the app's clock, so sale states (on sale, few left, sold out)
  changed by another process, or by time, lag at most that long. The hold itself is
  decided under the event lock, never from a cached page.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import brotli  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from booking import branding, changes
from booking.runtime import Services
from booking.web.services import services

T = TypeVar("T")
MAX_AGE = 15
PUBLIC = f"public, max-age={MAX_AGE}, stale-while-revalidate={MAX_AGE}"
PRIVATE = "private, no-store"
FRESH_SECONDS = 5
SALES_REFRESHES = 4  # a second, at most, once sales come faster
MAX_ENTRIES = 1024
DEBUG = "http.response.debug"
MIN_COMPRESS = 500  # bytes; smaller bodies go as they are
SESSION_COOKIE = "booking_session"
# Session keys that say nothing about the reader's page (a token for forms elsewhere).
NEUTRAL_KEYS = frozenset({"csrf_token", "vid"})
DROPPED = frozenset(
    {b"content-length", b"set-cookie", b"cache-control", b"vary", b"etag", b"content-encoding"}
)


BROTLI_QUALITY = 5  # from 9 up, Brotli costs milliseconds a page for a few bytes less
GZIP_LEVEL = 6


def _compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


@dataclass
class Page:
    """One rendered public response, and its compressed forms made on first use."""

    body: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    digest: str
    encoded: dict[str, bytes] = field(default_factory=dict)
    debug: dict[str, Any] | None = None  # the template and context, for test clients

    @classmethod
    def of(cls, response: Response, request: Request) -> Page:
        headers = [(k, v) for k, v in response.raw_headers if k.lower() not in DROPPED]
        digest = hashlib.blake2b(response.body, digest_size=12).hexdigest()
        debug = None
        if DEBUG in request.scope.get("extensions", {}) and hasattr(response, "template"):
            debug = {"template": response.template, "context": getattr(response, "context", {})}
        return cls(bytes(response.body), response.status_code, headers, digest, debug=debug)

    def body_for(self, coding: str) -> bytes:
        if not coding:
            return self.body
        found = self.encoded.get(coding)
        if found is None:
            found = self.encoded[coding] = _compress(self.body, coding)
        return found

    def response(self, request: Request) -> Response:
        coding = choose_encoding(request.headers.get("accept-encoding", ""))
        if len(self.body) < MIN_COMPRESS:
            coding = ""
        etag = f'"{self.digest}-{coding}"' if coding else f'"{self.digest}"'
        headers = [
            *self.headers,
            (b"cache-control", PUBLIC.encode()),
            (b"vary", b"Accept-Encoding"),
            (b"etag", etag.encode()),
        ]
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            response = Response(status_code=304)
            response.raw_headers = [(k, v) for k, v in headers if k != b"content-type"]
            return response
        body = self.body_for(coding)
        if coding:
            headers.append((b"content-encoding", coding.encode()))
        response = _Answer(body, status_code=self.status)
        response.raw_headers = [(b"content-length", str(len(body)).encode()), *headers]
        response.debug = self.debug
        return response


class _Answer(Response):
    """A kept page; test clients also get its template and context, as from a fresh one."""

    debug: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.debug is not None and DEBUG in scope.get("extensions", {}):
            await send({"type": DEBUG, "info": self.debug})
        await super().__call__(scope, receive, send)


def choose_encoding(accept: str) -> str:
    """ "br" or "gzip" when the client takes it (br first), else "" (as it is)."""
    taken: set[str] = set()
    for item in accept.lower().split(","):
        name, _, params = item.partition(";")
        quality = params.strip().removeprefix("q=").strip() if params else "1"
        try:
            if float(quality or "1") > 0:
                taken.add(name.strip())
        except ValueError:
            continue
    for coding in ("br", "gzip"):
        if coding in taken or "*" in taken:
            return coding
    return ""


def etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class PageCache:
    """The rendered public pages of one process, least recently used dropped first."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.pages: OrderedDict[Hashable, Page] = OrderedDict()
        self.building: dict[Hashable, asyncio.Future[Page | None]] = {}
        self.data: OrderedDict[Hashable, object] = OrderedDict()
        self.version: int | None = None
        self.sales_seen = changes.sales_here()
        self.sales_refreshed: deque[float] = deque(maxlen=SALES_REFRESHES)

    def get(self, key: Hashable) -> Page | None:
        page = self.pages.get(key)
        if page is not None:
            self.pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: Page) -> None:
        self.pages[key] = page
        self.pages.move_to_end(key)
        while len(self.pages) > self.max_entries:
            self.pages.popitem(last=False)

    def keep(self, key: Hashable, value: object) -> None:
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.max_entries:
            self.data.popitem(last=False)

    def sales(self) -> int:
        """This process's sales count: the latest, unless it has already been taken up
        SALES_REFRESHES times in the last second (then the one taken up last)."""
        latest = changes.sales_here()
        if latest != self.sales_seen:
            now = time.monotonic()
            full = len(self.sales_refreshed) == SALES_REFRESHES
            if not full or now - self.sales_refreshed[0] >= 1.0:
                self.sales_seen = latest
                self.sales_refreshed.append(now)
        return self.sales_seen

    def saw(self, version: int, svc: Services) -> None:
        """A new content version: drop the old pages and data, and the brand this process
        kept."""
        if version != self.version:
            if self.version is not None:
                branding.forget(svc)
            self.pages.clear()
            self.data.clear()
            self.version = version


def page_cache(svc: Services) -> PageCache:
    cache = svc.extras.get("page_cache")
    if cache is None:
        cache = svc.extras["page_cache"] = PageCache()
    return cache


async def content_version(svc: Services) -> int:
    # On SQLite a one-row read takes microseconds and WAL readers never wait for a writer,
    # so it runs here rather than through the thread pool.
    if svc.db.is_sqlite:
        return svc.db.content_version()
    return await run_in_threadpool(svc.db.content_version)


def anonymous(request: Request) -> bool:
    """A first visit, as far as the page goes: no query and nothing about the reader in the
    session (not signed in, not arrived by a promo link)."""
    if request.url.query:
        return False
    if SESSION_COOKIE not in request.cookies or "session" not in request.scope:
        return True
    return set(request.session) <= NEUTRAL_KEYS


def private(response: Response) -> Response:
    response.headers["Cache-Control"] = PRIVATE
    return response


async def _current_key(svc: Services, key: Hashable) -> tuple[PageCache, Hashable]:
    """This process's cache, and `key` with everything that makes a kept copy current."""
    cache = page_cache(svc)
    version = await content_version(svc)
    cache.saw(version, svc)
    slot = int(svc.now().timestamp() // FRESH_SECONDS)
    return cache, (key, version, cache.sales(), slot)


async def recent(request: Request, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """What `load()` read for `key`, kept as long as a page built from it would be: the
    data behind a page, for requests that render it their own way (a form with errors, a
    code applied) or check a request against it before the lock decides."""
    svc = services(request)
    cache, full = await _current_key(svc, key)
    if full in cache.data:
        cache.data.move_to_end(full)
        found: T = cache.data[full]  # type: ignore[assignment]  # kept by this function for this key
        return found
    value = await load()
    if cache.max_entries:
        cache.keep(full, value)
    return value


async def serve(
    request: Request, key: Hashable, build: Callable[[], Awaitable[Response]]
) -> Response:
    """The public page `key`: this process's copy if it is current, else `build()`'s.

    Concurrent first requests for one key wait for a single build. Only 200 answers are kept;
    any other goes out as built, private."""
    svc = services(request)
    cache, full = await _current_key(svc, key)
    page = cache.get(full)
    if page is not None:
        return page.response(request)
    if not cache.max_entries:  # a cache that keeps nothing: each request renders its own
        response = await build()
        if response.status_code != 200:
            return private(response)
        return Page.of(response, request).response(request)
    waiting = cache.building.get(full)
    if waiting is not None:
        page = await asyncio.shield(waiting)
        if page is not None:
            return page.response(request)
        return private(await build())
    future: asyncio.Future[Page | None] = asyncio.get_running_loop().create_future()
    cache.building[full] = future
    try:
        response = await build()
        page = Page.of(response, request) if response.status_code == 200 else None
        future.set_result(page)
    except BaseException:
        future.set_result(None)
        raise
    finally:
        cache.building.pop(full, None)
    if page is None:
        return private(response)
    cache.put(full, page)
    return page.response(request)
