"""Fixtures for the back office: an organiser signed in without paying for argon2 each test,
an event with ticket types, and paid orders made through the real checkout."""

from __future__ import annotations

import json
from base64 import b64encode

import pytest
from itsdangerous import TimestampSigner
from sqlmodel import select

from booking.domain import accounts
from booking.models import Role, User, utcnow
from tests.conftest import PASSWORD
from tests.factories import make_event, make_ticket_type
from tests.helpers import csrf_from


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash for the whole run: hashing takes most of a second."""
    return accounts.hash_password(PASSWORD)


@pytest.fixture
def olive(db, password_hash) -> User:
    """An organiser account (password PASSWORD)."""
    with db.write() as s:
        user = User(
            email="olive@example.com",
            name="Olive Organiser",
            role=Role.ORGANISER,
            password_hash=password_hash,
        )
        s.add(user)
        s.flush()
    return user


def signed_in(client, user, db, settings):  # type: ignore[no-untyped-def]
    """Put a login session for `user` in the client's cookie, as signing in would."""
    with db.write_session() as s:
        token = accounts.start_session(s, user=user, now=utcnow())
    data = b64encode(json.dumps({"login": token}).encode())
    cookie = TimestampSigner(settings.secret_key).sign(data).decode()
    client.cookies.set("booking_session", cookie)
    return client


@pytest.fixture
def admin(client, olive, db, settings):  # type: ignore[no-untyped-def]
    """The test client, signed in as an organiser."""
    return signed_in(client, olive, db, settings)


class Forms:
    """Posting back-office forms with the session's CSRF token."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.token = ""

    def post(self, path: str, data: dict | None = None, **kw):  # type: ignore[no-untyped-def]
        if not self.token:
            self.token = csrf_from(self.client, "/admin/")
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kw)


@pytest.fixture
def forms(admin) -> Forms:  # type: ignore[no-untyped-def]
    return Forms(admin)


@pytest.fixture
def event(session):  # type: ignore[no-untyped-def]
    """A published event: 5 seats in the room, Standard £10 and Concession £5."""
    event = make_event(session, capacity=5, title="London and Brexit")
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    return event


def fresh(session, model, row_id):  # type: ignore[no-untyped-def]
    """The row as committed now (session.get would hand back the cached copy)."""
    return session.exec(select(model).where(model.id == row_id)).one()
