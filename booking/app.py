"""create_app(settings) -> the Starlette application: routes, middleware and lifespan."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from booking.db import Database
from booking.domain.errors import BookingError
from booking.models import utcnow
from booking.settings import Settings, resource_dir
from booking.templating import make_templates
from booking.web import routes as web_routes
from booking.web.boundary import RefuseNul
from booking.web.compression import Compression
from booking.web.security import (
    CSRFMiddleware,
    SecurityHeadersMiddleware,
    default_headers,
    with_defaults,
)
from booking.web.services import Services, render
from booking.web.static import FingerprintedFiles

log = logging.getLogger("booking")
CSRF_EXEMPT = ("/stripe/webhook",)
# Forms on pages any cache may keep: they post without a session (booking.web.security).
# The forms on the cached public event page: buying, and joining the waiting list.
OPEN_FORMS = re.compile(r"/events/[^/]+/(checkout|waitlist)")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/stripe/"))


def _error_page(request: Request, status: int, detail: str) -> Response:
    template = "errors/404.html" if status == 404 else "errors/error.html"
    return render(request, template, {"status": status, "detail": detail}, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _wants_json(request):
        if exc.status_code == 400:  # the shape of every refusal the API words itself
            return JSONResponse({"error": "invalid", "message": exc.detail}, status_code=400)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return _error_page(request, exc.status_code, exc.detail)


async def booking_error(request: Request, exc: Exception) -> Response:
    """A refusal from booking.domain that its handler leaves to the app: the error's own
    status (NotFound 404, Conflict 409, InvalidInput 422 ...) with its message."""
    assert isinstance(exc, BookingError)
    if _wants_json(request):
        return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)
    return _error_page(request, exc.status, exc.message)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response: Response
    if _wants_json(request):
        response = JSONResponse({"error": "server_error"}, status_code=500)
    else:
        response = render(request, "errors/500.html", {"status": 500}, status_code=500)
    # This answer leaves by the outermost middleware, past the one that adds these headers.
    response.raw_headers[:] = with_defaults(response.raw_headers, request.app.state.headers)
    return response


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Starlette:
    """Build the app. The database must be migrated (see `booking migrate`)."""
    database = db or Database(settings.database_url, locking=not settings.unsafe_disable_locking)
    services = Services(
        settings=settings, db=database, templates=make_templates(settings.tz), clock=clock
    )
    media = Path(settings.media_dir)
    media.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Short SQLite/ORM work runs best on a small pool (see bench/): cap it.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_limit
        from booking import branding, lifecycle

        # The brand is read now, so the first pages cost no extra query.
        await anyio.to_thread.run_sync(branding.current, services)
        await branding.tell_standin(services)
        async with lifecycle.running(services):
            yield
        services.close()
        if db is None:
            database.dispose()

    routes = [
        *web_routes(),
        Mount("/static", FingerprintedFiles(directory=resource_dir("static")), name="static"),
        Mount("/media", StaticFiles(directory=media, check_dir=False), name="media"),
    ]
    hsts = settings.https
    payment_origin = (
        f"http://127.0.0.1:{settings.stripe_standin_port}"
        if settings.uses_stripe_standin
        else "https://checkout.stripe.com"
    )
    middleware = [
        Middleware(SecurityHeadersMiddleware, hsts=hsts, payment_origin=payment_origin),
        Middleware(Compression),
        Middleware(
            SessionMiddleware,
            secret_key=settings.secret_key,
            session_cookie="booking_session",
            same_site="lax",
            https_only=settings.https,
            max_age=14 * 24 * 3600,
        ),
        Middleware(
            CSRFMiddleware,
            exempt=CSRF_EXEMPT,
            open_forms=OPEN_FORMS,
            form_key=services.form_key,
            origins=[origin(settings.base_url)],
        ),
        Middleware(RefuseNul),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: http_error,
            BookingError: booking_error,
            Exception: server_error,
        },
    )
    app.state.services = services
    app.state.headers = default_headers(hsts=hsts, payment_origin=payment_origin)
    return app
