"""The brand's public assets: its stylesheet, the favicon and the apple-touch icon."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import branding
from booking.web.services import services

# The URLs carry the brand's version (?v=…), so a new brand is fetched at once.
CACHE = "public, max-age=3600"


async def stylesheet(request: Request) -> Response:
    svc = services(request)
    b = await run_in_threadpool(branding.current, svc)
    return Response(branding.stylesheet(b), media_type="text/css", headers={"Cache-Control": CACHE})


async def favicon(request: Request) -> Response:
    made = await run_in_threadpool(branding.icons, services(request))
    return Response(made.favicon, media_type="image/x-icon", headers={"Cache-Control": CACHE})


async def touch_icon(request: Request) -> Response:
    made = await run_in_threadpool(branding.icons, services(request))
    return Response(made.touch, media_type="image/png", headers={"Cache-Control": CACHE})


routes = [
    Route("/brand.css", stylesheet, name="brand_css"),
    Route("/favicon.ico", favicon, name="favicon"),
    Route("/apple-touch-icon.png", touch_icon, name="touch_icon"),
]
