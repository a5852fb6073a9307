"""Users: the list, invitations by email with a one-time link, deactivation."""

import re

from sqlmodel import select

from booking.models import AuditEntry, Invitation, LoginSession, MailKind, MailOutbox, Role, User
from tests.admin.conftest import fresh, signed_in
from tests.conftest import sign_in
from tests.helpers import csrf_from
from tests.mail.flows import deliver, sender

NEW_PASSWORD = "a long enough new password"


def test_invite_a_user_who_sets_a_password_once(db, forms, session, settings, app, smtp):
    response = forms.post(
        "/admin/users/invite", {"email": " Door.Keeper@Example.com ", "role": "staff"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    users_page = forms.client.get("/admin/users").text
    assert "Invitation sent to door.keeper@example.com" in users_page
    assert "As door staff, sent" in users_page
    [row] = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.INVITATION)).all()
    assert row.recipient == "door.keeper@example.com"
    [entry] = session.exec(select(AuditEntry)).all()
    assert entry.action == "user.invited" and entry.actor == "olive@example.com"

    deliver(sender(smtp.settings_for(settings), db))
    mail = session.exec(select(MailOutbox).where(MailOutbox.id == row.id)).one()
    assert mail.status == "sent"
    assert mail.subject == "You're invited to the booking back office"
    assert "Olive Organiser has invited you" in mail.body_text
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"http://testserver(/invitation/\S+)", text).group(1)
    assert link in message.get_body(("html",)).get_content()
    assert link not in mail.body_text and link not in mail.body_html  # sent, not kept

    visitor = forms.client.__class__(app, follow_redirects=False)  # a stranger's browser
    with visitor:
        page = visitor.get(link)
        assert page.status_code == 200 and "door.keeper@example.com" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        token = csrf_from(visitor, link)
        short = visitor.post(link, data={"csrf_token": token, "password": "short"})
        assert short.status_code == 400
        assert "Password must be 12 characters or more" in short.text
        done = visitor.post(link, data={"csrf_token": token, "password": NEW_PASSWORD})
        # Choosing the password signs them in, at the door screen (door staff).
        assert done.status_code == 303 and done.headers["location"] == "/door"
        door = visitor.get("/door/")
        assert door.status_code == 200 and "Your password is saved and you are signed in" in (
            door.text
        )
        assert token != csrf_from(visitor, "/door/")  # a new session, as at sign-in
        user = session.exec(select(User).where(User.email == "door.keeper@example.com")).one()
        assert user.role == Role.STAFF
        # The link works once.
        used = visitor.get(link)
        assert used.status_code == 404 and "expired or has been used" in used.text
        fresh_token = csrf_from(visitor, "/door/")
        again = visitor.post(link, data={"csrf_token": fresh_token, "password": NEW_PASSWORD})
        assert again.status_code == 404
        assert sign_in(visitor, user, password=NEW_PASSWORD).headers["location"] == "/door"
    assert session.exec(select(Invitation)).one().used_at is not None


def test_invitation_form_checks(forms, olive):
    cases = [
        ({"email": "", "role": "staff"}, {"email": "Enter their email address"}),
        (
            {"email": "nope", "role": "staff"},
            {"email": "Enter an email address in the correct format, like name@example.com"},
        ),
        ({"email": "x@example.com", "role": "admin"}, {"role": "Select what they will do"}),
        (
            {"email": "Olive@example.com", "role": "staff"},
            {"email": "There is already an account for olive@example.com"},
        ),
        (
            {"email": "a" * 300 + "@example.com"},
            {
                "email": "Enter an email address in the correct format, like name@example.com",
                "role": "Select what they will do",
            },
        ),
    ]
    for form, errors in cases:
        response = forms.post("/admin/users/invite", form)
        assert response.status_code == 400
        assert response.context["errors"] == errors


def test_unknown_invitation_links(client):
    assert client.get("/invitation/not-a-real-token").status_code == 404
    assert client.get("/invitation/" + "x" * 5000).status_code == 404


def test_deactivate_ends_sessions_and_blocks_sign_in(
    db, forms, session, settings, password_hash, client, app
):
    with db.write() as s:
        door = User(email="door@example.com", role=Role.STAFF, password_hash=password_hash)
        s.add(door)
        s.flush()
    other = client.__class__(app, follow_redirects=False)
    with other:
        signed_in(other, door, db, settings)
        assert other.get("/door/").status_code == 200
        assert forms.post(f"/admin/users/{door.id}/deactivate").status_code == 303
        assert not fresh(session, User, door.id).active
        assert session.exec(select(LoginSession).where(LoginSession.user_id == door.id)).all() == []
        assert other.get("/door/").status_code == 303  # signed out everywhere
        forms.post(f"/admin/users/{door.id}/reactivate")
        assert fresh(session, User, door.id).active


def test_an_organiser_cannot_deactivate_themselves(forms, session, olive):
    response = forms.post(f"/admin/users/{olive.id}/deactivate")
    assert (
        "You cannot deactivate your own account"
        in forms.client.get(response.headers["location"]).text
    )
    assert fresh(session, User, olive.id).active
    assert forms.post("/admin/users/424242/deactivate").status_code == 404
