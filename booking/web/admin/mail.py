"""Back office: the mail log. Every email with its status, filtered by status; one email as
it was sent (or as it would be sent now), its error, and "Try again" for failed ones."""

from __future__ import annotations

import re

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.domain import mail_context, outbox
from booking.domain.errors import NotFound
from booking.mail.render import render as render_email
from booking.mail.render import render_invitation
from booking.models import MailKind, MailOutbox, OutboxStatus
from booking.web.admin.announcements import framed_html
from booking.web.admin.common import flash, page, path_id, redirect
from booking.web.services import Services, services

LIMIT = 200
# Inline images (QR codes) travel as MIME parts, referred to as cid:…; a preview shows a box.
_CID = re.compile(r"""src=(["'])cid:[^"']*\1""", re.IGNORECASE)
_PLACEHOLDER = (
    'src="data:image/svg+xml,'
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'%3E"
    "%3Crect width='100' height='100' fill='%23f3f2f1' stroke='%23b1b4b6'/%3E"
    "%3Ctext x='50' y='55' font-size='12' text-anchor='middle' fill='%23484949'%3E"
    'QR code%3C/text%3E%3C/svg%3E"'
)


def _status_filter(raw: str) -> OutboxStatus | None:
    try:
        return OutboxStatus(raw)
    except ValueError:
        return None


async def mail_log(request: Request) -> Response:
    svc = services(request)
    status = _status_filter(request.query_params.get("status", ""))
    rows = await svc.read(outbox.recent, limit=LIMIT, status=status)
    context = {"rows": rows, "status": status, "statuses": list(OutboxStatus), "limit": LIMIT}
    return page(request, "admin/mail.html", context)


def _get(session: Session, *, outbox_id: int) -> MailOutbox | None:
    return session.get(MailOutbox, outbox_id)


async def _row(request: Request) -> MailOutbox:
    row = await services(request).read(_get, outbox_id=path_id(request, "mail_id"))
    if row is None:
        raise HTTPException(404)
    return row


async def _content(svc: Services, row: MailOutbox) -> tuple[str, str, str]:
    """(html, text, note): what was sent, or what would be sent now if nothing was yet."""
    if row.body_html or row.body_text:
        return row.body_html, row.body_text, ""
    assert row.id is not None
    if row.kind == MailKind.INVITATION:
        email = await run_in_threadpool(render_invitation, row, settings=svc.settings)
    else:
        try:
            ctx = await svc.read(mail_context.load, outbox_id=row.id)
        except NotFound as exc:
            return "", "", exc.message
        email = await run_in_threadpool(render_email, ctx, settings=svc.settings, now=svc.now())
    email = email.kept()  # an invitation's one-time link is for the invitee's eyes only
    return email.html, email.text, "Not sent yet: this is how it would look if sent now."


async def message(request: Request) -> Response:
    svc = services(request)
    row = await _row(request)
    _, text, note = await _content(svc, row)
    return page(request, "admin/mail_message.html", {"row": row, "text": text, "note": note})


async def message_html(request: Request) -> Response:
    """The email's HTML for the frame on its page, inline images shown as boxes."""
    html, _, _ = await _content(services(request), await _row(request))
    return framed_html(_CID.sub(_PLACEHOLDER, html) or "<p>No HTML part.</p>")


async def retry(request: Request) -> Response:
    svc = services(request)
    mail_id = path_id(request, "mail_id")
    if await svc.write(outbox.requeue, outbox_id=mail_id, now=svc.now()):
        flash(request, "The email will be sent again in a few seconds.")
    else:
        flash(request, "Only a failed or skipped email can be tried again.")
    return redirect(request, "admin_mail_message", mail_id=mail_id)


routes = [
    Route("/mail", mail_log, name="admin_mail"),
    Route("/mail/{mail_id:id}", message, name="admin_mail_message"),
    Route("/mail/{mail_id:id}/html", message_html, name="admin_mail_html"),
    Route("/mail/{mail_id:id}/retry", retry, methods=["POST"], name="admin_mail_retry"),
]
