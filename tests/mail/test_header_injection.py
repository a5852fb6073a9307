"""Hostile names cannot add headers or recipients to an email, checked on the raw bytes a
real SMTP server (aiosmtpd on loopback) received.

Python 3.11.7's email package decodes RFC 2047 encoded-words in display names and subjects
and writes the decoded text raw, and drops the quotes around a long display name when it
folds it; both are covered here.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import re

import pytest
from sqlalchemy import update

from booking.models import Event, Order, Organisation
from tests.conftest import SMTPServer, free_port
from tests.helpers import buy, ticket_types
from tests.mail.flows import deliver, pay, sender

HOSTILE_NAMES = [
    # The two from the report: a q-encoded CR LF Reply-To with a body, and base64.
    "=?utf-8?q?=0D=0AReply-To:_attacker@evil.example=0D=0A=0D=0A<h1>Call_us</h1>?=",
    "=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=",
    # An encoded-word inside an ordinary name, upper case, LF only.
    "Ada =?UTF-8?Q?=0ABcc:_victim@example.com?= Lovelace",
    # Quoted, with an address of its own, and non-ASCII so the folder encodes the rest.
    '"=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=" <x@evil.example>',
    "Zoë =?iso-8859-1?q?=0d=0aX-Injected:_yes?=",
    # Long enough to be folded, at which point the quotes used to go.
    "Smith, John: <x@evil.example>; " + "b" * 60,
    "A" * 60 + " =?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=",
]
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")
EXPECTED_HEADERS = {
    "from",
    "to",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "mime-version",
    "content-type",
}


class RawSMTP(SMTPServer):
    """The fixture's server, also keeping the bytes exactly as they arrived."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.raw: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.raw.append(bytes(envelope.content))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def raw_smtp():  # type: ignore[no-untyped-def]
    server = RawSMTP(free_port())
    server.start()
    yield server
    server.stop()


def header_block(raw: bytes) -> list[tuple[str, str]]:
    """(name, unfolded value) for each top-level header, read from the bytes by hand."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    fields: list[tuple[str, str]] = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + line)
        else:
            name, _, value = line.partition(":")
            fields.append((name.lower(), value))
    return fields


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_a_hostile_buyer_name_adds_no_header_and_no_recipient(
    client, session, event, standin, raw_smtp, settings, db, clock, hostile
):
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    with db.write() as ws:  # as if it had been stored before names were checked
        ws.execute(update(Order).where(Order.id == order.id).values(buyer_name=hostile))
        ws.execute(update(Event).where(Event.id == event.id).values(title=hostile))
        ws.execute(update(Organisation).values(name=hostile))
    assert deliver(sender(raw_smtp.settings_for(settings), db, clock)).sent == 1

    [raw] = raw_smtp.raw
    assert raw_smtp.envelopes[0]["rcpt_tos"] == ["ada@example.com"]
    fields = header_block(raw)
    names = [name for name, _ in fields]
    assert set(names) == EXPECTED_HEADERS and len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z-]+", name) for name in names)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nX-Injected" not in head and b"\nBcc" not in head and b"attacker@" not in head
    for word in ENCODED_WORD.findall(" ".join(value for _, value in fields)):
        # The only encoded-words are the folder's own, for non-ASCII text: none hides a line.
        [(data, charset)] = email.header.decode_header(word)
        text = data.decode(charset or "ascii")
        assert "\r" not in text and "\n" not in text and "=?" not in text

    message = email.message_from_bytes(raw, policy=email.policy.default)
    [to] = message["To"].addresses
    assert to.addr_spec == "ada@example.com"
    assert "\n" not in to.display_name and "\r" not in to.display_name
    assert "=?" not in to.display_name
    [sent_from] = message["From"].addresses
    assert "=?" not in sent_from.display_name
    [reply_to] = message["Reply-To"].addresses
    assert reply_to.addr_spec == "events@onlondon.example"
    assert "\n" not in str(message["Subject"]) and "=?" not in str(message["Subject"])
    assert message.get_content_type() == "multipart/mixed"


@pytest.mark.parametrize("hostile", HOSTILE_NAMES[:5])
def test_the_buy_form_refuses_an_encoded_word_in_a_name(client, session, event, hostile):
    standard, _ = ticket_types(session, event)
    response = buy(client, event, {standard.id: 1}, name=hostile)
    assert response.status_code == 400
    assert "Full name must not contain =?" in response.text
    assert session.exec(Order.__table__.select()).all() == []  # type: ignore[attr-defined]


def test_an_encoded_word_in_an_email_address_is_refused(client, session, event):
    standard, _ = ticket_types(session, event)
    response = buy(
        client, event, {standard.id: 1}, email="=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=@example.com"
    )
    assert response.status_code == 400 and "correct format" in response.text


def test_a_ticket_cannot_be_renamed_to_an_encoded_word(client, session, event, standin):
    from tests.helpers import csrf_from

    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 1})
    url = f"/orders/{order.token}/tickets/1/name"
    token = csrf_from(client, url)
    response = client.post(url, data={"csrf_token": token, "name": HOSTILE_NAMES[1]})
    assert response.status_code == 400 and "Full name must not contain =?" in response.text
