"""Back office: "Message ticket holders". Write to everyone holding a valid ticket for an
event, or to one ticket type; preview the real email; send it once through the outbox, and
only send the same message again on purpose."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import holder_messages, reports
from booking.domain.errors import Conflict
from booking.mail.render import render as render_email
from booking.models import TicketType, User
from booking.web.admin.announcements import framed_html
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import services

FIELDS = ("audience", "subject", "body")


def _state(session: Session, *, event_id: int) -> dict[str, Any]:
    event = reports.get_event(session, event_id=event_id)
    types = list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )
    sent = holder_messages.history(session, event_id=event_id)
    authors = {m.created_by for m in sent if m.created_by}
    names = {
        u.id: u.name or u.email
        for u in (session.exec(select(User).where(col(User.id).in_(authors))) if authors else [])
    }
    counts = {
        str(t.id if t else holder_messages.EVERYONE): holder_messages.count_recipients(
            session, event_id=event_id, ticket_type_id=t.id if t else None
        )
        for t in [None, *types]
    }
    return {
        "event": event,
        "types": types,
        "type_names": {t.id: t.name for t in types},
        "sent": sent,
        "authors": names,
        "counts": counts,
    }


async def messages(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    state = await svc.read(_state, event_id=event_id)
    values: dict[str, str] = {"audience": holder_messages.EVERYONE, "subject": "", "body": ""}
    errors: dict[str, str] = {}
    already = None
    previewing = False
    status = 200
    type_ids = {t.id for t in state["types"] if t.id}
    if request.method == "POST":
        values = values_of(await request.form())
        action = values.get("action", "preview")
        draft, errors = holder_messages.read_form(values, ticket_type_ids=type_ids)
        if draft is not None and action in ("send", "send_again"):
            send = holder_messages.send if action == "send" else holder_messages.send_again
            try:
                sent = await svc.write(
                    send, event_id=event_id, draft=draft, actor=await actor(request), now=svc.now()
                )
            except holder_messages.AlreadySent as exc:
                already, status = exc.previous, 409
            except Conflict as exc:
                errors, status = {"send": exc.message}, exc.status
            else:
                people = "person" if sent.recipients == 1 else "people"
                flash(request, f"Your message is on its way to {sent.recipients} {people}.")
                return redirect(request, "admin_event_messages", event_id=event_id)
        elif draft is not None:
            previewing = True
        if errors:
            status = 400 if "send" not in errors else 409
    preview_url = request.url_for("admin_event_message_preview", event_id=event_id).path
    query = urlencode({k: values.get(k, "") for k in FIELDS})
    context = {
        **state,
        "values": values,
        "errors": errors,
        "already": already,
        "previewing": previewing,
        "preview_src": f"{preview_url}?{query}",
        "audience_count": state["counts"].get(values.get("audience") or "all", 0),
    }
    return page(request, "admin/messages.html", context, status=status)


async def preview(request: Request) -> Response:
    """The email's HTML as its first recipient would get it, for the frame on the page."""
    svc = services(request)
    event_id = path_id(request, "event_id")
    raw = {k: request.query_params.get(k, "")[:6000] for k in FIELDS}
    state = await svc.read(_state, event_id=event_id)
    draft, _ = holder_messages.read_form(
        {**raw, "subject": raw["subject"] or "(no subject)", "body": raw["body"] or "…"},
        ticket_type_ids={t.id for t in state["types"] if t.id},
    )
    if draft is None:
        draft = holder_messages.Draft("(no subject)", "…", None)
    ctx = await svc.read(holder_messages.preview, event_id=event_id, draft=draft, now=svc.now())
    email = await run_in_threadpool(render_email, ctx, settings=svc.settings, now=svc.now())
    return framed_html(email.html)


routes = [
    Route(
        "/events/{event_id:id}/messages",
        messages,
        methods=["GET", "POST"],
        name="admin_event_messages",
    ),
    Route(
        "/events/{event_id:id}/messages/preview",
        preview,
        name="admin_event_message_preview",
    ),
]
