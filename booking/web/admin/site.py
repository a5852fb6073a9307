"""Back office: the publisher's brand (Site settings): name, colours, links, legal name and
address, and the logo."""

from __future__ import annotations

from dataclasses import asdict

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import branding, images
from booking.domain import brand
from booking.domain.errors import InvalidInput
from booking.web.admin.common import actor, flash, page, redirect, values_of
from booking.web.services import services

LOGO_HINT = "An SVG or a PNG with a transparent background, smaller than 512 KB"


async def _render(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    svc = services(request)
    current = await run_in_threadpool(branding.current, svc)
    context = {"values": values, "errors": errors, "current": current, "logo_hint": LOGO_HINT}
    return page(request, "admin/site.html", context, status=status)


async def settings_page(request: Request) -> Response:
    svc = services(request)
    if request.method == "GET":
        current = await run_in_threadpool(branding.current, svc)
        return await _render(request, {k: str(v) for k, v in asdict(current).items()}, {})
    values = values_of(await request.form())
    try:
        await svc.write(
            brand.save,
            values=values,
            default=branding.defaults(svc.settings),
            actor=await actor(request),
            now=svc.now(),
        )
    except InvalidInput as exc:
        return await _render(request, values, exc.errors, 400)
    branding.forget(svc)
    await branding.tell_standin(svc)
    flash(request, "The site settings are saved.")
    return redirect(request, "admin_site")


async def logo(request: Request) -> Response:
    svc = services(request)
    form = await request.form()
    path = ""
    if form.get("action") != "remove":
        item = form.get("logo")
        data = await item.read(branding.LOGO_MAX_BYTES + 1) if isinstance(item, UploadFile) else b""
        try:
            processed, ext = await run_in_threadpool(branding.process_logo, data)
        except branding.LogoRejected as exc:
            current = await run_in_threadpool(branding.current, svc)
            values = {k: str(v) for k, v in asdict(current).items()}
            return await _render(request, values, {"logo": str(exc)}, 400)
        path = await run_in_threadpool(
            branding.store_logo, processed, ext, media_dir=svc.settings.media_dir
        )
    previous = await svc.write(
        brand.set_logo,
        path=path,
        default=branding.defaults(svc.settings),
        actor=await actor(request),
        now=svc.now(),
    )
    if previous and previous != path:
        images.remove(previous, media_dir=svc.settings.media_dir)
    branding.forget(svc)
    flash(request, "The logo is saved." if path else "The logo is removed.")
    return redirect(request, "admin_site")


routes = [
    Route("/site", settings_page, methods=["GET", "POST"], name="admin_site"),
    Route("/site/logo", logo, methods=["POST"], name="admin_site_logo"),
]
