"""Emails from templates/email/: an autoescaped HTML part with its CSS inlined, a plain-text
part with the same facts and links, QR codes as inline images and the calendar file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import css_inline
from jinja2 import Environment, select_autoescape

from booking import branding, ics, qr
from booking.domain import accounts, brand, order_changes
from booking.domain.mail_context import QR_KINDS, TICKET_KINDS, MailContext
from booking.domain.tickets import derive_key, grouped, reference
from booking.mail.message import Email, Part
from booking.models import MailKind, MailOutbox
from booking.settings import Settings
from booking.templating import LocalTime, make_environment

TEMPLATES = {
    MailKind.CONFIRMATION: "confirmation",
    MailKind.RESEND: "confirmation",
    MailKind.REFUNDED: "refunded",
    MailKind.CANCELLED: "cancelled",
    MailKind.SOLD_OUT_REFUND: "sold_out_refund",
    MailKind.PAYMENT_MISMATCH: "payment_mismatch",
    MailKind.SPEAKER_ANNOUNCED: "speaker_announced",
    MailKind.EVENT_CANCELLED: "event_cancelled",
    MailKind.MESSAGE: "message",
    MailKind.PARTLY_REFUNDED: "partly_refunded",
    MailKind.REMINDER: "reminder",
    MailKind.THANK_YOU: "thank_you",
    MailKind.WAITLIST_JOINED: "waitlist_joined",
    MailKind.WAITLIST_OFFER: "waitlist_offer",
}
TITLE_LIMIT = 40
_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


@lru_cache(maxsize=4)
def environment(timezone: str) -> Environment:
    """The site's Jinja setup (filters, autoescaping) with `.txt` templates left unescaped."""
    env = make_environment(ZoneInfo(timezone))
    env.autoescape = select_autoescape(
        enabled_extensions=("html",), disabled_extensions=("txt",), default=True
    )
    return env


@dataclass(frozen=True)
class TicketBlock:
    number: int
    name: str
    type_name: str
    reference: str
    grouped: str
    cid: str
    size: int


def short_title(title: str, limit: int = TITLE_LIMIT) -> str:
    """A title for a subject line: up to its colon, or cut at a word, with an ellipsis."""
    title = " ".join(title.split())
    if len(title) <= limit:
        return title
    head = title.split(":", 1)[0].strip()
    if 10 <= len(head) <= limit:
        return head + "…"
    cut = title[: limit + 1].rsplit(" ", 1)[0].rstrip(" ,;:-–")
    return cut + "…"


def subject(ctx: MailContext, clock: LocalTime) -> str:
    title = short_title(ctx.event.title)
    starts = ctx.event.starts_at
    kind = ctx.row.kind
    if kind in TICKET_KINDS:
        return f"Your tickets: {title} {clock.short_date(starts)}, {clock.time(starts)}"
    if kind == MailKind.CANCELLED:
        return f"Cancelled: your tickets for {title}"
    if kind == MailKind.SOLD_OUT_REFUND:
        return f"Sold out: we're refunding your payment for {title}"
    if kind == MailKind.PAYMENT_MISMATCH:
        return f"We're refunding your payment for {title}"
    if kind == MailKind.SPEAKER_ANNOUNCED and ctx.announcement is not None:
        return ctx.announcement.subject
    if kind == MailKind.SPEAKER_ANNOUNCED and ctx.speaker is not None:
        return f"New speaker: {ctx.speaker.name} at {title}"
    if kind == MailKind.MESSAGE and ctx.message is not None:
        return ctx.message.subject
    if kind == MailKind.REMINDER:
        return f"Reminder: {title} {clock.short_date(starts)}, {clock.time(starts)}"
    if kind == MailKind.THANK_YOU:
        return f"Thank you for booking for {title}"
    if kind == MailKind.WAITLIST_JOINED:
        return f"You're on the waiting list for {title}"
    if kind == MailKind.WAITLIST_OFFER:
        return f"Seats are held for you: {title} {clock.short_date(starts)}"
    if kind == MailKind.PARTLY_REFUNDED:
        return f"Refund: some of your tickets for {title}"
    if kind == MailKind.EVENT_CANCELLED:
        return f"Cancelled: {title} on {clock.short_date(starts)}"
    return f"Refunded: your order for {title}"


def http_url(url: str) -> str:
    """`url` if it is http(s), else "" (no javascript: or data: links from stored text)."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def render(ctx: MailContext, *, settings: Settings, now: datetime) -> Email:
    """Render the outbox row's email from the database as it is now."""
    env = environment(settings.timezone)
    clock = LocalTime(settings.tz)
    base = settings.base_url.rstrip("/")
    host = urlsplit(base).hostname or "booking.invalid"
    order, event, venue = ctx.order, ctx.event, ctx.venue
    order_url = f"{base}/orders/{order.token}"
    images: list[Part] = []
    attachments: list[Part] = []
    tickets: list[TicketBlock] = []
    if ctx.row.kind in QR_KINDS:
        for line in ctx.tickets:
            code = line.ticket.code or ""
            image = qr.ticket_png(code)
            cid = make_msgid(idstring=f"ticket{line.number}", domain=host)[1:-1]
            ref = reference(code)
            images.append(Part(image.png, "image", "png", cid=cid, filename=f"ticket-{ref}.png"))
            tickets.append(
                TicketBlock(
                    line.number,
                    line.ticket.attendee_name,
                    line.type_name,
                    ref,
                    grouped(code),
                    cid,
                    image.size,
                )
            )
    if ctx.row.kind in TICKET_KINDS:
        calendar = ics.order_calendar(
            event,
            order=order,
            venue=venue,
            order_url=order_url,
            zone=settings.tz,
            uid_domain=host,
            tickets=len(tickets),
        )
        slug = re.sub(r"[^a-z0-9-]", "", event.slug.lower())[:60] or "event"
        attachments.append(Part(calendar, "text", "calendar", filename=f"{slug}.ics"))
    came = bool((ctx.row.data or {}).get("came"))
    details = f"{event.strapline}\n\nYour tickets: {order_url}".strip()
    organisers = [o.name for o in ctx.organisers]
    the_subject = subject(ctx, clock)
    site_brand = brand.of_row(ctx.brand, branding.defaults(settings))
    context: dict[str, Any] = {
        "brand": site_brand,
        "kind": str(ctx.row.kind),
        "subject": the_subject,
        "order": order,
        "event": event,
        "venue": venue,
        "map_url": http_url(venue.map_url) if venue else "",
        "location": ics.location_text(venue),
        "organisers": _names(organisers),
        "speakers": ctx.speakers,
        "speaker": ctx.speaker,
        "lines": ctx.lines,
        "tickets": tickets,
        "order_url": order_url,
        "event_url": f"{base}/events/{event.slug}",
        "google_calendar": ics.google_calendar_link(event, venue=venue, details=details),
        "outlook_calendar": ics.outlook_calendar_link(event, venue=venue, details=details),
        "policy": order_changes.cancel_policy(order, event, now=now),
        "refund_amount": order.amount_refunded + order.refund_due,
        "contact_email": event.contact_email,
        "note": ctx.announcement.note if ctx.announcement else (ctx.row.data or {}).get("note", ""),
        "message": ctx.message,
        "refunded_now": (ctx.row.data or {}).get("amount", 0),
        "refunded_tickets": (ctx.row.data or {}).get("tickets", []),
        "tickets_left": len(ctx.tickets),
        "release_url": f"{order_url}#release",
        "came": came,
        "thank_you_words": event.thank_you_came if came else event.thank_you_missed,
        "entry": ctx.entry,
        "leave_url": f"{base}/waitlist/{ctx.entry.token}" if ctx.entry else "",
        "offer_url": f"{base}/offers/{order.token}",
    }
    name = TEMPLATES[ctx.row.kind]
    html = _inliner.inline(env.get_template(f"email/{name}.html").render(context))
    text = env.get_template(f"email/{name}.txt").render(context)
    return Email(
        subject=the_subject,
        text=text.strip() + "\n",
        html=html,
        to_name=order.buyer_name,
        to_addr=ctx.row.recipient,
        from_name=_names(organisers) or site_brand.site_name,
        reply_to=event.contact_email,
        images=tuple(images),
        attachments=tuple(attachments),
    )


def render_invitation(
    row: MailOutbox, *, settings: Settings, site_brand: brand.Brand | None = None
) -> Email:
    """The invitation to the back office: a one-time link to set a password."""
    env = environment(settings.timezone)
    data = row.data or {}
    if data.get("nonce"):
        key = derive_key(settings.secret_key, "invitations")
        token = accounts.invitation_token(key, str(data["nonce"]))
    else:  # queued before invitations kept only a nonce
        token = str(data.get("token", ""))
    context = {
        "subject": "You're invited to the booking back office",
        "link": f"{settings.base_url.rstrip('/')}/invitation/{token}",
        "role": data.get("role", ""),
        "invited_by": data.get("invited_by", ""),
        "days": data.get("days", 7),
        "recipient": row.recipient,
        "brand": site_brand or branding.defaults(settings),
    }
    html = _inliner.inline(env.get_template("email/invitation.html").render(context))
    text = env.get_template("email/invitation.txt").render(context)
    return Email(
        subject=context["subject"],
        text=text.strip() + "\n",
        html=html,
        to_name="",
        to_addr=row.recipient,
        secrets=(token,) if token else (),
    )
