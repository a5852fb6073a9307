"""The ASGI entry point for uvicorn and other servers: `booking.asgi:make_app` (a factory)."""

from __future__ import annotations

from starlette.applications import Starlette

from booking.app import create_app
from booking.settings import load


def make_app() -> Starlette:
    return create_app(load())
