"""MIME messages from rendered emails, with every header value cleaned first.

Names and addresses come from buyers and organisers, so nothing reaches a header before
`header_text` has removed control characters (CR and LF among them) and broken apart any
RFC 2047 encoded-word (`=?utf-8?q?=0D=0A…?=`): Python's email package (3.11.7, 3.12.1)
decodes encoded-words it finds in display names and subjects and writes the decoded text
raw, CR LF included. Addresses are built with `email.headerregistry.Address`, which quotes
display names, and the SMTP policy folds lines itself. The same releases drop those quotes
when a long name is folded, so display names also lose the characters that give an address
header its structure (`,` `;` `:` `<` `>` `@` `"` and the like): a name with a newline,
plain or encoded, cannot add a header, and a name with commas cannot add a recipient.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from email import errors as email_errors
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

NOT_KEPT = "[not kept]"


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
    # One-time secrets in the text (an invitation's token): sent, but never kept afterwards.
    secrets: tuple[str, ...] = ()

    def kept(self) -> Email:
        """This email as the outbox may keep it, each secret replaced by a note."""
        text, html, subject = self.text, self.html, self.subject
        for secret in self.secrets:
            text = text.replace(secret, NOT_KEPT)
            html = html.replace(secret, NOT_KEPT)
            subject = subject.replace(secret, NOT_KEPT)
        return replace(self, text=text, html=html, subject=subject, secrets=())


ENCODED_WORD_START = "=?"


def header_text(value: str, *, limit: int = 200) -> str:
    """`value` safe for a header: control characters become spaces, runs of spaces one, and
    every `=?` becomes `= ?`, so no part of it can be read as an encoded-word."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    text = " ".join(text.split())[:limit]
    while ENCODED_WORD_START in text:
        text = text.replace(ENCODED_WORD_START, "= ?")
    return text


# RFC 5322 specials that end a phrase or start an address; "." is left (initials), as
# obsolete phrase syntax still reads it as part of the name.
_STRUCTURE = str.maketrans({c: " " for c in '()<>[]:;@\\,"'})


def display_name(name: str) -> str:
    """A person's or organisation's name as an address header's display name: only words."""
    return header_text(header_text(name, limit=100).translate(_STRUCTURE), limit=100)


def mailbox(name: str, addr: str) -> Address:
    """An address for From/To/Reply-To. Raises InvalidAddress."""
    if ENCODED_WORD_START in addr:
        raise InvalidAddress(f"not an email address: {header_text(addr, limit=254)!r}")
    spec = header_text(addr, limit=254).replace(" ", "")
    if spec.count("@") != 1:
        raise InvalidAddress(f"not an email address: {spec!r}")
    try:
        address = Address(display_name=display_name(name), addr_spec=spec)
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
    html = list(msg.iter_parts())[1]
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
