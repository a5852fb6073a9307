"""An invitation's one-time link reaches the invitee by SMTP but is kept nowhere in clear:
not in the outbox row's data before sending, nor in its kept copy after."""

from __future__ import annotations

import json
import logging
import re

from sqlmodel import select

from booking.domain import accounts
from booking.domain.tickets import derive_key
from booking.models import Invitation, MailKind, MailOutbox, Role
from tests.mail.flows import deliver, sender


def _invite(forms, session):  # type: ignore[no-untyped-def]
    response = forms.post(
        "/admin/users/invite", {"email": "new.staff@example.com", "role": "staff"}
    )
    assert response.status_code == 303
    return session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.INVITATION)).one()


def _row_text(row: MailOutbox) -> str:
    return json.dumps(row.data) + row.subject + row.body_text + row.body_html


def test_the_link_goes_by_smtp_and_the_outbox_never_holds_it(
    db, forms, session, settings, app, smtp
):
    row = _invite(forms, session)
    assert "token" not in (row.data or {}) and row.data["nonce"]
    deliver(sender(smtp.settings_for(settings), db))
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content()
    token = re.search(r"http://testserver/invitation/(\S+)", text).group(1)
    invitation = session.exec(select(Invitation)).one()
    assert invitation.token_hash == accounts._digest(token) and token not in invitation.token_hash

    sent = session.exec(select(MailOutbox).where(MailOutbox.id == row.id)).one()
    assert sent.status == "sent"
    assert token not in _row_text(sent)
    assert "/invitation/[not kept]" in sent.body_text and "/invitation/[not kept]" in sent.body_html
    # The link works for the invitee.
    with forms.client.__class__(app, follow_redirects=False) as stranger:
        assert stranger.get(f"/invitation/{token}").status_code == 200


def test_the_token_is_made_again_only_with_the_secret_key(db, session, settings):
    nonce = "a-nonce-from-the-outbox"
    key = derive_key(settings.secret_key, "invitations")
    token = accounts.invitation_token(key, nonce)
    assert len(token) >= 43 and nonce not in token
    assert accounts.invitation_token(derive_key("another secret", "invitations"), nonce) != token
    assert accounts.invitation_token(key, nonce) == token


def test_without_smtp_the_link_is_logged_not_kept(db, forms, session, settings, caplog):
    row = _invite(forms, session)
    with caplog.at_level(logging.INFO, logger="booking.mail"):
        deliver(sender(settings, db))
    kept = session.exec(select(MailOutbox).where(MailOutbox.id == row.id)).one()
    assert kept.status == "captured"
    [link] = re.findall(r"one-time link: (http://testserver/invitation/\S+)", caplog.text)
    assert link.rsplit("/", 1)[1] not in _row_text(kept)
    with db.write_session() as s:
        user = accounts.accept_invitation(
            s, token=link.rsplit("/", 1)[1], password="a long enough password", now=row.created_at
        )
    assert user.role == Role.STAFF


def test_the_mail_log_preview_of_an_unsent_invitation_hides_the_link(db, forms, session, settings):
    row = _invite(forms, session)
    key = derive_key(settings.secret_key, "invitations")
    token = accounts.invitation_token(key, row.data["nonce"])
    page = forms.client.get(f"/admin/mail/{row.id}")
    assert page.status_code == 200 and "Not sent yet" in page.text
    assert "/invitation/[not kept]" in page.text and token not in page.text
    framed = forms.client.get(f"/admin/mail/{row.id}/html")
    assert token not in framed.text
