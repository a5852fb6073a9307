"""Messages to ticket holders: once per address, to everyone or one ticket type, through the
outbox, recorded with who sent it and to how many; the same message twice only on purpose."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from booking.domain import holder_messages
from booking.domain.errors import Conflict
from booking.models import AuditEntry, HolderMessage, MailKind, MailOutbox
from tests.admin_orders.conftest import add_order, error_summary
from tests.helpers import csrf_from, ticket_types
from tests.mail.flows import deliver, sender

VENUE_CHANGE = holder_messages.Draft(
    "We have moved to the Great Hall", "Same time, new room.\n\nSee you there.", None
)


def send(db, event, actor, now, draft=VENUE_CHANGE, *, again=False):  # type: ignore[no-untyped-def]
    fn = holder_messages.send_again if again else holder_messages.send
    with db.write_session() as ws:
        return fn(ws, event_id=event.id, draft=draft, actor=actor, now=now)


def messages(session) -> list[MailOutbox]:  # type: ignore[no-untyped-def]
    return list(
        session.exec(
            select(MailOutbox)
            .where(MailOutbox.kind == MailKind.MESSAGE)
            .order_by(col(MailOutbox.recipient))
        ).all()
    )


def test_one_email_per_address_holding_a_valid_ticket(db, session, event, organiser, clock):
    standard, concession = ticket_types(session, event)
    add_order(session, event, [standard, standard], email="ada@example.com")
    add_order(session, event, [concession], email="ADA@example.com ")  # the same person
    add_order(session, event, [standard], email="grace@example.com")
    add_order(session, event, [standard], email="gone@example.com", status="cancelled")
    add_order(session, event, [standard], email="held@example.com", status="pending")
    add_order(session, event, [standard], email="refunded@example.com", ticket_status="cancelled")
    sent = send(db, event, organiser, clock.now)
    assert sent.recipients == 2
    queued = messages(session)
    assert sorted(m.recipient.strip().lower() for m in queued) == [
        "ada@example.com",
        "grace@example.com",
    ]
    assert {m.data["message_id"] for m in queued} == {sent.id}
    [row] = session.exec(select(HolderMessage)).all()
    assert (row.created_by, row.recipients, row.subject) == (organiser.id, 2, VENUE_CHANGE.subject)
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "message.sent")).all()
    assert entry.actor == organiser.email and entry.data["recipients"] == 2


def test_one_ticket_type_only(db, session, event, organiser, clock):
    standard, concession = ticket_types(session, event)
    add_order(session, event, [standard], email="ada@example.com")
    add_order(session, event, [concession], email="grace@example.com")
    draft = holder_messages.Draft("Concession tickets", "Bring your card.", concession.id)
    assert (
        holder_messages.count_recipients(session, event_id=event.id, ticket_type_id=concession.id)
        == 1
    )
    send(db, event, organiser, clock.now, draft)
    assert [m.recipient for m in messages(session)] == ["grace@example.com"]


def test_the_same_message_twice_needs_a_second_confirmation(db, session, event, organiser, clock):
    standard, _ = ticket_types(session, event)
    add_order(session, event, [standard], email="ada@example.com")
    first = send(db, event, organiser, clock.now)
    with pytest.raises(holder_messages.AlreadySent) as refused:
        send(db, event, organiser, clock.now)
    assert refused.value.previous.recipients == 1
    assert len(messages(session)) == 1  # nothing more queued
    other = holder_messages.Draft("Doors at 18:30", "Doors open half an hour later.", None)
    send(db, event, organiser, clock.now, other)  # a different message goes at once
    again = send(db, event, organiser, clock.now, again=True)
    assert again.id != first.id
    assert len(messages(session)) == 3


def test_nobody_to_tell_is_refused(db, session, event, organiser, clock):
    with pytest.raises(Conflict):
        send(db, event, organiser, clock.now)
    assert session.exec(select(HolderMessage)).all() == []


def test_the_form_checks_every_field():
    draft, errors = holder_messages.read_form(
        {"audience": "12", "subject": "", "body": " "}, ticket_type_ids={1}
    )
    assert draft is None and set(errors) == {"audience", "subject", "body"}
    draft, errors = holder_messages.read_form(
        {"audience": "1", "subject": "Hello", "body": "Line one\nLine two"}, ticket_type_ids={1}
    )
    assert draft == holder_messages.Draft("Hello", "Line one\nLine two", 1) and not errors


def test_the_page_previews_sends_and_asks_before_sending_again(
    admin, session, event, organiser, smtp, settings, db, clock
):
    standard, _ = ticket_types(session, event)
    add_order(session, event, [standard, standard], email="ada@example.com")
    add_order(session, event, [standard], email="ada@example.com")
    add_order(session, event, [standard], email="grace@example.com")
    path = f"/admin/events/{event.id}/messages"
    assert admin.get(path).status_code == 200
    form = {"audience": "all", "subject": "New room", "body": "We have moved <upstairs>."}
    bad = admin.post(path, data={"csrf_token": csrf_from(admin, path), "action": "send"})
    assert bad.status_code == 400 and "Enter a subject line" in error_summary(bad.text)
    shown = admin.post(path, data={"csrf_token": csrf_from(admin, path), **form})
    assert shown.status_code == 200 and shown.context["previewing"]
    assert "Send to 2 people" in shown.text
    preview = admin.get(shown.context["preview_src"])
    assert preview.status_code == 200
    assert "We have moved &lt;upstairs&gt;." in preview.text
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert messages(session) == []  # a preview sends nothing

    sent = admin.post(path, data={"csrf_token": csrf_from(admin, path), **form, "action": "send"})
    assert sent.status_code == 303
    assert "on its way to 2 people" in admin.get(path).text
    twice = admin.post(path, data={"csrf_token": csrf_from(admin, path), **form, "action": "send"})
    assert twice.status_code == 409 and "already been sent" in twice.text
    assert len(messages(session)) == 2

    # Real SMTP: each address gets the message once, with the words as written.
    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 2
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == [
        "ada@example.com",
        "grace@example.com",
    ]
    assert {m["Subject"] for m in smtp.messages} == {"New room"}
    text = smtp.messages[0].get_body(("plain",)).get_content()
    assert "We have moved <upstairs>." in text


def test_message_pages_of_unknown_events_are_not_found(admin):
    assert admin.get("/admin/events/4242/messages").status_code == 404
    assert admin.get("/admin/events/4242/messages/preview").status_code == 404
