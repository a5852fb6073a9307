"""Pending invitations resent, revoked or their link copied; door staff limited to events."""

import re

import pytest
from sqlmodel import select

from booking.domain import accounts
from booking.domain.tickets import derive_key
from booking.models import AuditEntry, Invitation, MailKind, MailOutbox, Role, User, utcnow
from tests.admin.conftest import fresh, signed_in
from tests.factories import make_event


@pytest.fixture
def invitation(db, olive, settings):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        invitation, token = accounts.invite(
            s,
            email="sam@example.com",
            role=Role.STAFF,
            invited_by=olive,
            now=utcnow(),
            key=derive_key(settings.secret_key, "invitations"),
        )
    return invitation, token


def flash_after(forms, response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303
    return forms.client.get(response.headers["location"]).context["flash"]


def test_resend_sends_a_new_link_and_the_old_one_stops(
    forms, client, session, invitation, settings
):
    row, old_token = invitation
    page = forms.client.get("/admin/users").text
    assert "Resend" in page and "Copy link" in page and "Revoke" in page
    message = flash_after(forms, forms.post(f"/admin/users/invitations/{row.id}/resend"))
    assert "A new invitation is on its way to sam@example.com" in message
    mails = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.INVITATION).order_by(MailOutbox.id)  # type: ignore[arg-type]
    ).all()
    assert len(mails) == 2
    assert "token" not in mails[1].data  # only a nonce is kept; the sender makes the token
    key = derive_key(settings.secret_key, "invitations")
    new_token = accounts.invitation_token(key, mails[1].data["nonce"])
    assert new_token != old_token
    assert client.get(f"/invitation/{old_token}").status_code == 404
    assert client.get(f"/invitation/{new_token}").status_code == 200


def test_copy_link_shows_a_working_link_once(forms, client, session, invitation):
    row, old_token = invitation
    response = forms.post(f"/admin/users/invitations/{row.id}/link")
    assert response.status_code == 200 and response.template.name == "admin/invitation_link.html"
    link = response.context["link"]
    assert re.fullmatch(r"http://testserver/invitation/[\w-]+", link)
    assert f'value="{link}"' in response.text
    assert client.get(link.removeprefix("http://testserver")).status_code == 200
    assert client.get(f"/invitation/{old_token}").status_code == 404
    assert "user.invitation_link_copied" in [a.action for a in session.exec(select(AuditEntry))]


def test_revoke_stops_the_link(forms, client, session, invitation):
    row, token = invitation
    message = flash_after(forms, forms.post(f"/admin/users/invitations/{row.id}/revoke"))
    assert "is revoked" in message
    assert client.get(f"/invitation/{token}").status_code == 404
    assert "sam@example.com" not in forms.client.get("/admin/users").text
    again = flash_after(forms, forms.post(f"/admin/users/invitations/{row.id}/resend"))
    assert "used, revoked or has expired" in again
    assert fresh(session, Invitation, row.id).used_at is None


@pytest.fixture
def sam(db, password_hash):  # type: ignore[no-untyped-def]
    with db.write() as s:
        user = User(email="sam@example.com", role=Role.STAFF, password_hash=password_hash)
        s.add(user)
        s.flush()
    return user


def test_door_staff_limited_to_named_events(forms, app, db, settings, session, sam, event):
    other = make_event(session, title="Another debate")
    response = forms.post(f"/admin/users/{sam.id}/events", {"events": [str(event.id)]})
    assert "can check people in at 1 event" in flash_after(forms, response)
    assert f"Door for: {event.title}" in forms.client.get("/admin/users").text

    door = forms.client.__class__(app, follow_redirects=False)
    with door:
        signed_in(door, sam, db, settings)
        home = door.get("/door/")
        assert event.title in home.text and "Another debate" not in home.text
        assert door.get(f"/door/{event.slug}").status_code == 200
        refused = door.get(f"/door/{other.slug}")
        assert refused.status_code == 403
        assert "cannot check people in at this event" in refused.text
        api = door.get(f"/api/events/{other.slug}/tickets")
        assert api.status_code == 403
        assert api.json() == {"error": "Your account cannot check people in at this event"}
        assert door.get(f"/api/events/{event.slug}/tickets").status_code == 200

    # Unticking every event opens every door again.
    response = forms.post(f"/admin/users/{sam.id}/events", {})
    assert "at every event" in flash_after(forms, response)
    with door:
        signed_in(door, sam, db, settings)
        assert door.get(f"/door/{other.slug}").status_code == 200


def test_organisers_have_no_door_limits_page(forms, olive):
    assert forms.client.get(f"/admin/users/{olive.id}/events").status_code == 404
