"""Headers built from buyers' and organisers' text cannot be bent into new headers."""

from datetime import UTC, datetime

import pytest

from booking.mail.message import Email, InvalidAddress, build, header_text, mailbox

NOW = datetime(2026, 3, 12, 19, 0, tzinfo=UTC)


def _email(**over) -> Email:  # type: ignore[no-untyped-def]
    fields = {
        "subject": "Your tickets",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "to_name": "Ada Lovelace",
        "to_addr": "ada@example.com",
    }
    return Email(**{**fields, **over})


def test_header_text_removes_line_breaks_and_control_characters():
    assert header_text("Eve\r\nBcc: victim@example.com") == "Eve Bcc: victim@example.com"
    assert header_text("A\x00B\x1b[31mC\u2028D\tE") == "A B [31mC D E"
    assert header_text("x" * 500, limit=10) == "x" * 10


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b@c", "@example.com", "ada@"])
def test_unusable_addresses_are_refused(bad):
    with pytest.raises(InvalidAddress):
        mailbox("Ada", bad)


def test_a_name_with_newlines_cannot_add_a_header():
    message = build(
        _email(
            to_name="Eve\r\nBcc: victim@example.com\r\nX-Injected: yes",
            subject="Tickets\r\nBcc: victim@example.com",
        ),
        mail_from="Booking <booking@example.org>",
        message_id="<1.2@example.org>",
        date=NOW,
    )
    raw = bytes(message)
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = [
        line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in b" \t"
    ]
    assert b"bcc" not in names and b"x-injected" not in names
    assert names.count(b"to") == 1 and names.count(b"subject") == 1
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert len(message["To"].addresses) == 1
    assert (
        "\n" not in str(message["Subject"]) and "\n" not in message["To"].addresses[0].display_name
    )


def test_mail_from_with_or_without_a_name():
    message = build(
        _email(from_name="On London"),
        mail_from="tickets@example.org",
        message_id="<1.2@example.org>",
        date=NOW,
    )
    assert str(message["From"]) == "On London <tickets@example.org>"
    message = build(
        _email(from_name="On London"),
        mail_from="Debates <tickets@example.org>",
        message_id="<1.2@example.org>",
        date=NOW,
    )
    assert str(message["From"]) == "Debates <tickets@example.org>"


def test_a_bad_reply_to_is_left_out_rather_than_stopping_the_email():
    message = build(
        _email(reply_to="not an address"),
        mail_from="tickets@example.org",
        message_id="<1.2@example.org>",
        date=NOW,
    )
    assert message["Reply-To"] is None and message["Auto-Submitted"] == "auto-generated"
