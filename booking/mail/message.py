"""MIME messages from rendered emails, with every header value cleaned first.

Names and addresses come from buyers and organisers, so nothing reaches a header before
`header_text` has removed control characters (CR and LF among them); addresses are built
with `email.headerregistry.Address`, which quotes display names, and the SMTP policy folds
lines itself. A name with a newline cannot add a header.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from email import errors as email_errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr


class InvalidAddress(ValueError):
    """An address that cannot go in a header (empty, malformed)."""


@dataclass(frozen=True)
class Part:
    """An inline image (with `cid`) or an attachment (with `filename`)."""

    data: bytes
    maintype: str
    subtype: str
    cid: str = ""
    filename: str = ""


@dataclass(frozen=True)
class Email:
    """A rendered email, before it becomes MIME."""

    subject: str
    text: str
    html: str
    to_name: str
    to_addr: str
    from_name: str = ""
    reply_to: str = ""
    images: tuple[Part, ...] = ()
    attachments: tuple[Part, ...] = ()


def header_text(value: str, *, limit: int = 200) -> str:
    """`value` safe for a header: control characters become spaces, runs of spaces one."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return " ".join(text.split())[:limit]


def mailbox(name: str, addr: str) -> Address:
    """An address for From/To/Reply-To. Raises InvalidAddress."""
    spec = header_text(addr, limit=254).replace(" ", "")
    if spec.count("@") != 1:
        raise InvalidAddress(f"not an email address: {spec!r}")
    try:
        address = Address(display_name=header_text(name, limit=100), addr_spec=spec)
    except (ValueError, IndexError, email_errors.HeaderParseError) as exc:
        raise InvalidAddress(f"not an email address: {spec!r}") from exc
    if not address.username or not address.domain:
        raise InvalidAddress(f"not an email address: {spec!r}")
    return address


def sender(mail_from: str, fallback_name: str) -> Address:
    """MAIL_FROM ("Name <addr>" or a bare address); a bare one gets `fallback_name`."""
    name, addr = parseaddr(mail_from)
    return mailbox(name or fallback_name, addr or mail_from)


def build(email: Email, *, mail_from: str, message_id: str, date: datetime) -> EmailMessage:
    """multipart/mixed [multipart/alternative [text, multipart/related [html, images]], files].

    Raises InvalidAddress for an unusable recipient or MAIL_FROM.
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender(mail_from, email.from_name)
    msg["To"] = mailbox(email.to_name, email.to_addr)
    if email.reply_to:
        with contextlib.suppress(InvalidAddress):  # an organiser's typo must not stop tickets
            msg["Reply-To"] = mailbox("", email.reply_to)
    msg["Subject"] = header_text(email.subject, limit=250)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = header_text(message_id, limit=250)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    msg.set_content(email.text)
    msg.add_alternative(email.html, subtype="html")
    html = msg.get_payload()[1]  # type: ignore[index]
    for image in email.images:
        html.add_related(
            image.data,
            image.maintype,
            image.subtype,
            cid=f"<{image.cid}>",
            disposition="inline",
            filename=image.filename or None,
        )
    for part in email.attachments:
        msg.add_attachment(
            part.data, maintype=part.maintype, subtype=part.subtype, filename=part.filename
        )
    return msg
