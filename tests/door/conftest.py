"""Door fixtures: an event with paid tickets made straight in the database, a door that
calls the domain functions on write sessions, and a signed-in API client."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from booking.db import Database
from booking.domain import checkin, tickets
from booking.models import (
    CheckIn,
    Event,
    Order,
    OrderStatus,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    User,
)
from tests.concurrency.conftest import app_processes  # noqa: F401 (a fixture)
from tests.conftest import TEST_SECRET, sign_in
from tests.factories import NOW, make_event, make_ticket_type

KEY = tickets.derive_key(TEST_SECRET, "tickets")
_people = itertools.count(1)


def paid_tickets(
    session: Session,
    event: Event,
    ticket_type: TicketType,
    count: int = 1,
    *,
    names: list[str] | None = None,
    buyer_name: str = "Ada Lovelace",
    buyer_email: str = "ada@example.com",
    key: bytes = KEY,
) -> list[Ticket]:
    """One paid order of `count` valid tickets, with codes signed by `key`."""
    order = Order(
        event_id=event.id,
        reference=tickets.new_order_reference(),
        token=tickets.new_token(),
        status=OrderStatus.PAID,
        buyer_name=buyer_name,
        buyer_email=buyer_email,
        total=ticket_type.price * count,
        expires_at=NOW + timedelta(minutes=31),
        paid_at=NOW,
    )
    session.add(order)
    session.flush()
    made = [
        Ticket(
            order_id=order.id,
            event_id=event.id,
            ticket_type_id=ticket_type.id,
            code=tickets.new_code(key),
            attendee_name=(names[i] if names else f"Guest {next(_people)}"),
            price=ticket_type.price,
            status=TicketStatus.VALID,
        )
        for i in range(count)
    ]
    session.add_all(made)
    session.commit()
    for t in made:
        session.refresh(t)
    session.commit()
    return made


@dataclass
class Sale:
    event: Event
    standard: TicketType
    concession: TicketType


@pytest.fixture
def sale(session: Session) -> Sale:
    event = make_event(session, slug="brexit-debate", title="London and Brexit", capacity=None)
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    concession = make_ticket_type(session, event, name="Concession", price=500, position=1)
    return Sale(event, standard, concession)


@pytest.fixture
def other_sale(session: Session) -> Sale:
    event = make_event(session, slug="housing-debate", title="Who will house London?")
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    concession = make_ticket_type(session, event, name="Concession", price=500, position=1)
    return Sale(event, standard, concession)


class Door:
    """The domain's check-in functions on write sessions, as the app calls them."""

    def __init__(self, db: Database, user: User, clock: Callable[[], Any]) -> None:
        self.db, self.user, self.clock = db, user, clock

    def admit(self, event: Event, code: str, *, nonce: str | None = None, device: str = "A"):  # type: ignore[no-untyped-def]
        with self.db.write_session() as s:
            return checkin.admit(
                s,
                event_id=event.id,
                code=code,
                nonce=nonce or uuid.uuid4().hex,
                device=device,
                by=self.user,
                now=self.clock(),
                key=KEY,
            )

    def sync(self, event: Event, admissions: list[dict[str, str]], *, device: str):  # type: ignore[no-untyped-def]
        with self.db.write_session() as s:
            return checkin.sync_offline(
                s,
                event_id=event.id,
                admissions=admissions,
                device=device,
                by=self.user,
                now=self.clock(),
                key=KEY,
            )

    def undo(  # type: ignore[no-untyped-def]
        self, event: Event, code: str, checkin_id: int | None = None, *, nonce: str | None = None
    ):
        with self.db.write_session() as s:
            return checkin.undo(
                s,
                event_id=event.id,
                code=code,
                nonce=nonce,
                checkin_id=checkin_id,
                by=self.user,
                now=self.clock(),
            )


@pytest.fixture
def door_staff(session: Session) -> User:
    """A staff member who never signs in here (no password to hash: quicker than `staff`)."""
    user = User(email="door@example.com", name="Dora Door", role=Role.STAFF)
    session.add(user)
    session.commit()
    session.refresh(user)
    session.commit()
    return user


@pytest.fixture
def door(db: Database, door_staff: User, clock) -> Door:  # type: ignore[no-untyped-def]
    return Door(db, door_staff, clock)


def admissions(session: Session, ticket: Ticket, *, active_only: bool = True) -> list[CheckIn]:
    query = select(CheckIn).where(CheckIn.ticket_id == ticket.id)
    if active_only:
        query = query.where(col(CheckIn.undone_at).is_(None))
    return list(session.exec(query.order_by(col(CheckIn.id))).all())


class DoorClient:
    """A signed-in TestClient that sends JSON with the session's CSRF token."""

    def __init__(self, client: TestClient, slug: str) -> None:
        self.client = client
        self.slug = slug
        page = client.get(f"/door/{slug}")
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert match, page.status_code
        self.csrf = match.group(1)

    def url(self, path: str = "") -> str:
        return f"/api/events/{self.slug}{path}"

    def get(self, path: str = "/checkins", **kw):  # type: ignore[no-untyped-def]
        return self.client.get(self.url(path), **kw)

    def post(self, path: str, body: Any):  # type: ignore[no-untyped-def]
        return self.client.post(self.url(path), json=body, headers={"X-CSRF-Token": self.csrf})

    def admit(self, code: str, *, nonce: str | None = None, device: str = "phone-1") -> dict:  # type: ignore[type-arg]
        response = self.post(
            "/checkins", {"code": code, "nonce": nonce or uuid.uuid4().hex, "device": device}
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(client: TestClient, staff: User, sale: Sale) -> DoorClient:
    sign_in(client, staff)
    return DoorClient(client, sale.event.slug)
