"""The stand-in as a Starlette app, and helpers to serve it from a thread."""

import ipaddress
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import api, controls, hosted
from .faults import ApiGate
from .objects import API_VERSION
from .state import DEFAULT_WEBHOOK_SECRET, StandIn


def create_app(
    *,
    webhook_url: str | None,
    webhook_secret: str,
    base_url: str,
    templates_dir: Path | None = None,
    standin: StandIn | None = None,
    **options: Any,
) -> Starlette:
    """Build the app. Its state object is ``app.state.standin``.

    ``options`` go to :class:`StandIn` (``enabled_events``, ``delivery_schedule``,
    ``delivery_timeout``).
    """
    store = standin or StandIn(
        base_url=base_url, webhook_url=webhook_url, webhook_secret=webhook_secret, **options
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(store.close)

    async def index(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "service": "stripe stand-in",
                "api_version": API_VERSION,
                "webhook_url": store.dispatcher.url,
                "webhook_mode": store.dispatcher.mode,
            }
        )

    app = Starlette(
        routes=[
            Route("/", index),
            *api.routes(store),
            *hosted.routes(store, templates_dir),
            *controls.routes(store),
        ],
        middleware=[Middleware(ApiGate, standin=store)],
        lifespan=lifespan,
    )
    app.state.standin = store
    return app


@dataclass
class ServerHandle:
    """A uvicorn server running in a daemon thread."""

    url: str
    host: str
    port: int
    app: Any
    server: uvicorn.Server = field(repr=False)
    thread: threading.Thread = field(repr=False)
    sock: socket.socket = field(repr=False)

    @property
    def standin(self) -> StandIn:
        standin: StandIn = self.app.state.standin
        return standin

    def stop(self, timeout: float = 5.0) -> None:
        standin = getattr(getattr(self.app, "state", None), "standin", None)
        if isinstance(standin, StandIn):
            standin.stopping.set()  # lets held ("hang") requests end now
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
        if isinstance(standin, StandIn):
            standin.close()


def _shown_host(host: str) -> str:
    """The address clients should use: loopback when bound to every interface."""
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return host
    return "127.0.0.1" if unspecified else host


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve_app_in_thread(
    app: Any, sock: socket.socket, *, name: str = "asgi-server", url_host: str | None = None
) -> ServerHandle:
    """Serve any ASGI ``app`` on the already-bound ``sock``; return once it accepts."""
    host, port = sock.getsockname()[:2]
    shown = url_host or _shown_host(host)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="auto",
        loop="asyncio",
        ws="none",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"{name} did not start on {host}:{port}")
        time.sleep(0.01)
    return ServerHandle(f"http://{shown}:{port}", host, port, app, server, thread, sock)


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> ServerHandle:
    """Run the stand-in in a background thread. ``kw`` goes to :func:`create_app`;
    ``base_url`` defaults to the bound address, ``webhook_secret`` to ``whsec_standin``."""
    sock = bind(host, port)
    shown = _shown_host(host)
    kw.setdefault("base_url", f"http://{shown}:{sock.getsockname()[1]}")
    kw.setdefault("webhook_url", None)
    kw.setdefault("webhook_secret", DEFAULT_WEBHOOK_SECRET)
    try:
        app = create_app(**kw)
    except Exception:
        sock.close()
        raise
    return serve_app_in_thread(app, sock, name="stripe-standin")
