"""Announcing a speaker to ticket holders: one email per buyer address, holders of valid
tickets only, previewed as the real email, and sent again only on purpose."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import update
from sqlmodel import col, select

from booking.domain import announcements, orders
from booking.domain.tickets import derive_key
from booking.models import (
    Announcement,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
    utcnow,
)
from tests.factories import make_speaker, make_ticket_type
from tests.mail.flows import deliver, sender


def paid(db, settings, event, type_id, email, count=1):  # type: ignore[no-untyped-def]
    """A confirmed order for free tickets, straight through the domain."""
    now = utcnow()
    with db.write_session() as ws:
        order = orders.reserve(
            ws,
            event_id=event.id,
            quantities={type_id: count},
            buyer=orders.Buyer(email.split("@")[0].title(), email),
            now=now,
            hold=timedelta(minutes=31),
        )
        return orders.confirm_free(
            ws, order_id=order.id, now=now, code_key=derive_key(settings.secret_key, "tickets")
        )


def cancel(db, order):  # type: ignore[no-untyped-def]
    with db.write() as ws:
        ws.execute(
            update(Order).where(col(Order.id) == order.id).values(status=OrderStatus.CANCELLED)
        )
        ws.execute(
            update(Ticket)
            .where(col(Ticket.order_id) == order.id)
            .values(status=TicketStatus.CANCELLED)
        )


def announcement_rows(session):  # type: ignore[no-untyped-def]
    return session.exec(
        select(MailOutbox)
        .where(MailOutbox.kind == MailKind.SPEAKER_ANNOUNCED)
        .order_by(col(MailOutbox.id))
    ).all()


def test_announce_once_per_holder_preview_and_send_again_on_purpose(
    db, forms, session, settings, event, app
):
    free = make_ticket_type(session, event, name="Free", price=0, max_per_order=4)
    paid(db, settings, event, free.id, "ada@example.com", count=2)
    paid(db, settings, event, free.id, "ADA@example.com")  # the same buyer, a second order
    paid(db, settings, event, free.id, "bob@example.com")
    carol = paid(db, settings, event, free.id, "carol@example.com")
    cancel(db, carol)
    with db.write_session() as ws:  # a hold that was never paid
        orders.reserve(
            ws,
            event_id=event.id,
            quantities={free.id: 1},
            buyer=orders.Buyer("Dan", "dan@example.com"),
            now=utcnow(),
            hold=timedelta(minutes=31),
        )
    sadiq = make_speaker(session, event, name="Sadiq Khan", affiliation="Mayor of London")
    url = f"/admin/events/{event.id}/speakers/{sadiq.id}/announce"

    page = forms.client.get(url)
    assert page.context["holders"] == 2
    assert page.context["values"]["subject"] == "New speaker: Sadiq Khan at London and Brexit"
    note = "We're delighted: the Mayor joins the panel.\n\nBring your questions."
    previewed = forms.post(
        url, {"action": "preview", "subject": "Sadiq Khan joins us", "note": note}
    )
    assert previewed.status_code == 200
    frame = previewed.context["preview_src"]
    assert parse_qs(urlsplit(frame).query)["note"] == [note]
    email = forms.client.get(frame)
    assert email.status_code == 200
    assert "default-src 'none'" in email.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in email.headers["content-security-policy"]
    assert "the Mayor joins the panel." in email.text and "Sadiq Khan" in email.text
    assert "sandbox" in previewed.text and 'title="Preview of the email"' in previewed.text
    assert announcement_rows(session) == []  # a preview sends nothing

    sent = forms.post(url, {"action": "send", "subject": "Sadiq Khan joins us", "note": note})
    assert sent.status_code == 303
    rows = announcement_rows(session)
    assert sorted(r.recipient.lower() for r in rows) == ["ada@example.com", "bob@example.com"]
    [announcement] = session.exec(select(Announcement)).all()
    assert announcement.recipients == 2 and announcement.note == note

    # A second press (a stale tab, a double submit) is refused and says when and to how many.
    second = forms.post(url, {"action": "send", "subject": "Sadiq Khan joins us", "note": note})
    assert second.status_code == 409
    assert "This announcement has already been sent" in second.text
    assert "to 2 people" in second.text
    assert len(announcement_rows(session)) == 2

    again = forms.post(
        url, {"action": "send_again", "subject": "Sadiq Khan: a reminder", "note": ""}
    )
    assert again.status_code == 303
    assert len(announcement_rows(session)) == 4
    assert len(session.exec(select(Announcement)).all()) == 2

    deliver(sender(settings, app.state.services.db))  # confirmations and announcements
    assert [r.status for r in announcement_rows(session)] == ["captured"] * 4
    first, *_ = announcement_rows(session)
    assert first.subject == "Sadiq Khan joins us"
    assert "Bring your questions." in first.body_text
    assert "Sadiq Khan, Mayor of London, will speak at" in first.body_text
    assert "the Mayor joins the panel." in first.body_html


def test_two_tickets_one_buyer_get_one_email_and_cancelled_tickets_none(
    db, session, settings, event, olive
):
    free = make_ticket_type(session, event, name="Free", price=0, max_per_order=4)
    paid(db, settings, event, free.id, "ada@example.com", count=2)
    gone = paid(db, settings, event, free.id, "bob@example.com")
    cancel(db, gone)
    sadiq = make_speaker(session, event, name="Sadiq Khan")
    with db.write_session() as ws:
        made = announcements.send(
            ws,
            event_id=event.id,
            speaker_id=sadiq.id,
            subject="New",
            note="",
            actor=olive,
            now=utcnow(),
        )
    assert made.recipients == 1
    assert [r.recipient for r in announcement_rows(session)] == ["ada@example.com"]


def test_nobody_to_tell_and_hidden_speakers(forms, session, event):
    sadiq = make_speaker(session, event, name="Sadiq Khan")
    url = f"/admin/events/{event.id}/speakers/{sadiq.id}/announce"
    preview = forms.client.get(forms.client.get(url).context["preview_src"])
    assert "Ada Lovelace" in preview.text  # a made-up buyer before anyone has booked
    response = forms.post(url, {"action": "send", "subject": "New speaker", "note": ""})
    assert response.status_code == 409
    assert response.context["errors"] == {
        "send": "Nobody holds a ticket for this event yet, so there is no one to tell"
    }
    forms.post(f"/admin/events/{event.id}/speakers/{sadiq.id}/visibility", {"visibility": "hidden"})
    hidden = forms.post(url, {"action": "send", "subject": "New speaker", "note": ""})
    assert hidden.context["errors"] == {
        "send": "Show Sadiq Khan on the event page before announcing them"
    }


def test_subject_and_note_are_checked(forms, session, event):
    sadiq = make_speaker(session, event, name="Sadiq Khan")
    url = f"/admin/events/{event.id}/speakers/{sadiq.id}/announce"
    response = forms.post(url, {"action": "send", "subject": " ", "note": "n" * 2001})
    assert response.status_code == 400
    assert response.context["errors"] == {
        "subject": "Enter a subject line",
        "note": "Note must be 2,000 characters or fewer",
    }
