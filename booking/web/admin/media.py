"""Back office: image uploads, an event's hero image and a speaker's photo (booking.images
checks, re-encodes and stores them; the /media mount serves them)."""

from __future__ import annotations

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import images
from booking.domain import event_admin, event_overview, speakers
from booking.web.admin.common import actor, flash, page, path_id, redirect, upload
from booking.web.services import services

HINT = f"A JPG, PNG or WebP image, up to {images.MAX_BYTES // (1024 * 1024)} MB"


async def stored_image(request: Request, data: bytes, kind: images.Kind) -> tuple[str, str]:
    """(public path, "") for an image now stored, or ("", why it was refused)."""
    svc = services(request)
    settings = svc.settings
    # Uploads wait their turn here rather than each holding a worker thread while
    # booking.images decodes one image at a time.
    gate = svc.extras.setdefault("image_gate", anyio.Lock())
    try:
        async with gate:
            processed = await run_in_threadpool(images.process, data, kind)
    except images.ImageRejected as exc:
        return "", str(exc)
    path = await run_in_threadpool(images.store, processed, kind, media_dir=settings.media_dir)
    return path, ""


async def _receive(request: Request, kind: images.Kind) -> tuple[str | None, str]:
    """For a POST: (None, "") to remove the image, (path, "") once stored, or ("", message)."""
    form = await request.form()
    if form.get("action") == "remove":
        return None, ""
    data = await upload(form, "image")
    if data is None:
        return "", "Select an image file"
    return await stored_image(request, data, kind)


async def hero_image(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    errors: dict[str, str] = {}
    if request.method == "POST":
        path, message = await _receive(request, images.HERO)
        if message:
            errors["image"] = message
        else:
            previous = await svc.write(
                event_admin.set_hero_image,
                event_id=event_id,
                path=path or "",
                actor=await actor(request),
                now=svc.now(),
            )
            images.remove(previous, media_dir=svc.settings.media_dir)
            flash(request, "The hero image is saved." if path else "The hero image is removed.")
            return redirect(request, "admin_event", event_id=event_id)
    context = {
        "view": view,
        "errors": errors,
        "title": "Hero image",
        "current": view.event.hero_image,
        "hint": f"{HINT}. It is shown across the top of the event page and when the link is "
        "shared, up to 1600 by 900 pixels",
        "back": request.url_for("admin_event", event_id=event_id).path,
    }
    return page(request, "admin/image.html", context, status=400 if errors else 200)


async def speaker_photo(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    speaker_id = path_id(request, "speaker_id")
    view = await svc.read(event_overview.overview, event_id=event_id, now=svc.now())
    item = await svc.read(speakers.place, event_id=event_id, speaker_id=speaker_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        path, message = await _receive(request, images.PHOTO)
        if message:
            errors["image"] = message
        else:
            previous = await svc.write(
                speakers.set_photo,
                event_id=event_id,
                speaker_id=speaker_id,
                path=path or "",
                actor=await actor(request),
                now=svc.now(),
            )
            images.remove(previous, media_dir=svc.settings.media_dir)
            flash(request, "The photo is saved." if path else "The photo is removed.")
            return redirect(request, "admin_speakers", event_id=event_id)
    context = {
        "view": view,
        "errors": errors,
        "title": f"Photo of {item.speaker.name}",
        "current": item.speaker.photo,
        "hint": f"{HINT}. It is cropped to a square from the middle",
        "back": request.url_for("admin_speakers", event_id=event_id).path,
    }
    return page(request, "admin/image.html", context, status=400 if errors else 200)


routes = [
    Route(
        "/events/{event_id:id}/image",
        hero_image,
        methods=["GET", "POST"],
        name="admin_event_image",
    ),
    Route(
        "/events/{event_id:id}/speakers/{speaker_id:id}/photo",
        speaker_photo,
        methods=["GET", "POST"],
        name="admin_speaker_photo",
    ),
]
