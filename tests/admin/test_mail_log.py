"""The mail log: filter by status, read an email as sent, see why one failed, try again."""

from sqlmodel import select

from booking.models import MailKind, MailOutbox, OutboxStatus, utcnow
from tests.admin.conftest import fresh
from tests.admin.test_announcements import paid
from tests.factories import make_ticket_type
from tests.mail.flows import deliver, sender


def failed_row(db, order) -> MailOutbox:  # type: ignore[no-untyped-def]
    with db.write() as s:
        row = MailOutbox(
            kind=MailKind.RESEND,
            order_id=order.id,
            recipient="bounce@example.com",
            dedupe_key="resend:test",
            status=OutboxStatus.FAILED,
            attempts=8,
            last_error="refused: 550 5.1.1 No such user",
            created_at=utcnow(),
        )
        s.add(row)
        s.flush()
    return row


def test_the_log_shows_captured_and_failed_emails_and_tries_again(
    db, forms, session, settings, event
):
    free = make_ticket_type(session, event, name="Free", price=0)
    order = paid(db, settings, event, free.id, "ada@example.com", count=2)
    deliver(sender(settings, db))
    bounced = failed_row(db, order)
    confirmation = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.CONFIRMATION)
    ).one()

    log = forms.client.get("/admin/mail")
    assert "Your tickets: London and Brexit" in log.text and "550 5.1.1 No such user" in log.text
    failed = forms.client.get("/admin/mail?status=failed")
    assert [r.id for r in failed.context["rows"]] == [bounced.id]
    assert forms.client.get("/admin/mail?status=nonsense").context["status"] is None

    page = forms.client.get(f"/admin/mail/{confirmation.id}")
    assert page.status_code == 200 and "Plain-text version" in page.text
    html = forms.client.get(f"/admin/mail/{confirmation.id}/html")
    assert "cid:" not in html.text and "data:image/svg+xml" in html.text  # QR codes as boxes
    assert "Ada" in html.text
    assert html.headers["x-frame-options"] == "SAMEORIGIN"

    failed_page = forms.client.get(f"/admin/mail/{bounced.id}")
    assert "Last error" in failed_page.text and "Try again" in failed_page.text
    assert "how it would look if sent now" in failed_page.text
    response = forms.post(f"/admin/mail/{bounced.id}/retry")
    assert response.status_code == 303
    row = fresh(session, MailOutbox, bounced.id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.QUEUED, 0, "")
    assert "will be sent again" in forms.client.get(response.headers["location"]).text
    # A captured email is not sent again by mistake.
    forms.post(f"/admin/mail/{confirmation.id}/retry")
    assert fresh(session, MailOutbox, confirmation.id).status == OutboxStatus.CAPTURED


def test_unknown_emails_are_404(admin):
    assert admin.get("/admin/mail/999").status_code == 404
    assert admin.get("/admin/mail/999/html").status_code == 404
