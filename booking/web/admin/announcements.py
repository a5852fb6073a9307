"""Back office: "Announce to ticket holders" for a speaker: write a note, preview the real
email, send it once through the outbox, and only send again on purpose."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from booking.domain import announcements, event_overview
from booking.domain.errors import Conflict, NotFound
from booking.mail.render import render as render_email
from booking.mail.render import short_title
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import services

# The preview is the email's own HTML: its inline styles, no scripts, framed by this site only.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)


def _state(session: Session, *, event_id: int, speaker_id: int, now: Any) -> dict[str, Any]:
    view = event_overview.overview(session, event_id=event_id, now=now)
    item = next((i for i in view.lineup if i.speaker.id == speaker_id), None)
    if item is None:
        raise NotFound("This speaker is not on this event")
    return {
        "view": view,
        "item": item,
        "holders": len(announcements.holders(session, event_id=event_id)),
        "history": announcements.history(session, event_id=event_id, speaker_id=speaker_id),
    }


async def announce(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    speaker_id = path_id(request, "speaker_id")
    state = await svc.read(_state, event_id=event_id, speaker_id=speaker_id, now=svc.now())
    title = short_title(state["view"].event.title)
    values = {"subject": f"New speaker: {state['item'].speaker.name} at {title}", "note": ""}
    errors: dict[str, str] = {}
    already = None
    status = 200
    if request.method == "POST":
        values = values_of(await request.form())
        action = values.get("action", "preview")
        subject, note, errors = announcements.read_form(values)
        if not errors and action in ("send", "send_again"):
            send = announcements.send if action == "send" else announcements.send_again
            try:
                sent = await svc.write(
                    send,
                    event_id=event_id,
                    speaker_id=speaker_id,
                    subject=subject,
                    note=note,
                    actor=await actor(request),
                    now=svc.now(),
                )
            except announcements.AlreadySent as exc:
                already, status = exc.previous, 409
            except Conflict as exc:
                errors = {"send": exc.message}
            else:
                people = "person" if sent.recipients == 1 else "people"
                flash(request, f"The announcement is on its way to {sent.recipients} {people}.")
                return redirect(request, "admin_speakers", event_id=event_id)
        if errors:
            status = 400 if "send" not in errors else 409
    query = urlencode({"subject": values.get("subject", ""), "note": values.get("note", "")})
    preview_url = request.url_for(
        "admin_speaker_announce_preview", event_id=event_id, speaker_id=speaker_id
    ).path
    context = {
        **state,
        "values": values,
        "errors": errors,
        "already": already,
        "preview_src": f"{preview_url}?{query}",
    }
    return page(request, "admin/announce.html", context, status=status)


async def preview(request: Request) -> Response:
    """The email's HTML as a buyer would get it, for the frame on the announce page."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    speaker_id = path_id(request, "speaker_id")
    subject, note, _ = announcements.read_form(
        {k: request.query_params.get(k, "")[:5000] for k in ("subject", "note")}
    )
    ctx = await svc.read(
        announcements.preview,
        event_id=event_id,
        speaker_id=speaker_id,
        subject=subject or "(no subject)",
        note=note,
        now=svc.now(),
    )
    email = await run_in_threadpool(render_email, ctx, settings=svc.settings, now=svc.now())
    return framed_html(email.html)


def framed_html(html: str) -> Response:
    """An email's HTML, for an <iframe sandbox> on this site only."""
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


_ONE = "/events/{event_id:id}/speakers/{speaker_id:id}"
routes = [
    Route(f"{_ONE}/announce", announce, methods=["GET", "POST"], name="admin_speaker_announce"),
    Route(f"{_ONE}/announce/preview", preview, name="admin_speaker_announce_preview"),
]
