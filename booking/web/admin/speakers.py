"""Back office: an event's speaker list. Add someone new or who has spoken before, edit,
move up or down (plain form buttons), show or hide, remove, and the "and others to be
announced" switch."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking import images
from booking.domain import announcements, event_overview, inputs, speakers
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import SpeakerRole, SpeakerVisibility
from booking.web.admin.common import actor, flash, page, path_id, redirect, upload, values_of
from booking.web.admin.media import stored_image
from booking.web.services import services


async def _overview(request: Request, event_id: int) -> event_overview.Overview:
    svc = services(request)
    return await svc.read(event_overview.overview, event_id=event_id, now=svc.now())


async def _list_page(
    request: Request,
    event_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    svc = services(request)
    view = await _overview(request, event_id)
    candidates = await svc.read(speakers.candidates, event_id=event_id)
    audience = await svc.read(announcements.audience, event_id=event_id)
    added = inputs.row_id(request.query_params.get("added"))
    just_added = next((i for i in view.lineup if added and i.speaker.id == added), None)
    context = {
        "view": view,
        "candidates": candidates,
        "values": values or {"role": "speaker", "existing_role": "speaker"},
        "errors": errors or {},
        "just_added": just_added,
        "audience": audience,
    }
    return page(request, "admin/speakers.html", context, status=status)


async def lineup(request: Request) -> Response:
    return await _list_page(request, path_id(request, "event_id"))


async def add(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    form = await request.form()
    values = values_of(form)
    who = await actor(request)
    if values.get("source") == "existing":
        speaker_id = inputs.row_id(values.get("existing_speaker"))
        role = values.get("existing_role", "")
        errors = {}
        if speaker_id is None:
            errors["existing_speaker"] = "Select a speaker from the list"
        if role not in SpeakerRole.__members__.values():
            errors["existing_role"] = "Select whether they chair or speak"
        if errors:
            return await _list_page(request, event_id, values=values, errors=errors, status=400)
        assert speaker_id is not None
        try:
            speaker = await svc.write(
                speakers.add_existing,
                event_id=event_id,
                speaker_id=speaker_id,
                role=SpeakerRole(role),
                actor=who,
                now=svc.now(),
            )
        except InvalidInput:
            errors = {"existing_speaker": "Select a speaker from the list"}
        except Conflict as exc:
            errors = {"existing_speaker": exc.message}
        if errors:
            return await _list_page(request, event_id, values=values, errors=errors, status=400)
    else:
        fields, errors = speakers.read_form(values)
        if values.get("role") not in SpeakerRole.__members__.values():
            errors["role"] = "Select whether they chair or speak"
        photo = await upload(form, "photo")
        stored = ""
        if photo is not None and not errors:
            stored, message = await stored_image(request, photo, images.PHOTO)
            if message:
                errors["photo"] = message
        if errors:
            return await _list_page(request, event_id, values=values, errors=errors, status=400)
        try:
            speaker = await svc.write(
                speakers.add_new,
                event_id=event_id,
                fields=fields,
                photo=stored,
                role=SpeakerRole(values["role"]),
                actor=who,
                now=svc.now(),
            )
        except NotFound:
            images.remove(stored, media_dir=svc.settings.media_dir)
            raise HTTPException(404) from None
    url = request.url_for("admin_speakers", event_id=event_id).path
    return RedirectResponse(f"{url}?added={speaker.id}#speaker-{speaker.id}", 303)


async def edit(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    speaker_id = path_id(request, "speaker_id")
    view = await _overview(request, event_id)
    item = next((i for i in view.lineup if i.speaker.id == speaker_id), None)
    if item is None:
        raise HTTPException(404)
    sp = item.speaker
    values: dict[str, Any] = {
        "name": sp.name,
        "affiliation": item.affiliation,
        "bio": item.bio,
        "url": sp.url,
        "role": str(item.place.role),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        fields, errors = speakers.read_form(values)
        if values.get("role") not in SpeakerRole.__members__.values():
            errors["role"] = "Select whether they chair or speak"
        if not errors:
            await svc.write(
                speakers.update,
                event_id=event_id,
                speaker_id=speaker_id,
                fields=fields,
                role=SpeakerRole(values["role"]),
                actor=await actor(request),
                now=svc.now(),
            )
            flash(request, f"{fields.name}'s details are saved.")
            return redirect(request, "admin_speakers", event_id=event_id)
    context = {"view": view, "item": item, "values": values, "errors": errors}
    return page(request, "admin/speaker_form.html", context, status=400 if errors else 200)


async def _change(request: Request, fn: Any, **kwargs: Any) -> Any:
    svc = services(request)
    return await svc.write(
        fn,
        event_id=path_id(request, "event_id"),
        speaker_id=path_id(request, "speaker_id"),
        actor=await actor(request),
        now=svc.now(),
        **kwargs,
    )


async def move(request: Request) -> Response:
    form = await request.form()
    offset = -1 if form.get("direction") == "up" else 1
    await _change(request, speakers.move, offset=offset)
    url = request.url_for("admin_speakers", event_id=path_id(request, "event_id")).path
    return RedirectResponse(f"{url}#speaker-{path_id(request, 'speaker_id')}", 303)


async def visibility(request: Request) -> Response:
    form = await request.form()
    shown = form.get("visibility") == SpeakerVisibility.CONFIRMED
    wanted = SpeakerVisibility.CONFIRMED if shown else SpeakerVisibility.HIDDEN
    await _change(request, speakers.set_visibility, visibility=wanted)
    flash(request, "Shown on the public page." if shown else "Hidden from the public page.")
    return redirect(request, "admin_speakers", event_id=path_id(request, "event_id"))


async def remove(request: Request) -> Response:
    speaker = await _change(request, speakers.remove)
    flash(request, f"{speaker.name} is off this event's speaker list.")
    return redirect(request, "admin_speakers", event_id=path_id(request, "event_id"))


async def more_tba(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    form = await request.form()
    await svc.write(
        speakers.set_more_to_be_announced,
        event_id=event_id,
        value=form.get("more_speakers_tba") == "yes",
        actor=await actor(request),
        now=svc.now(),
    )
    flash(request, "Saved.")
    return redirect(request, "admin_speakers", event_id=event_id)


_BASE = "/events/{event_id:id}/speakers"
_ONE = _BASE + "/{speaker_id:id}"
routes = [
    Route(_BASE, lineup, name="admin_speakers"),
    Route(f"{_BASE}/add", add, methods=["POST"], name="admin_speaker_add"),
    Route(f"{_BASE}/more", more_tba, methods=["POST"], name="admin_speakers_tba"),
    Route(_ONE, edit, methods=["GET", "POST"], name="admin_speaker_edit"),
    Route(f"{_ONE}/move", move, methods=["POST"], name="admin_speaker_move"),
    Route(f"{_ONE}/visibility", visibility, methods=["POST"], name="admin_speaker_visibility"),
    Route(f"{_ONE}/remove", remove, methods=["POST"], name="admin_speaker_remove"),
]
