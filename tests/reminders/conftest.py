"""Events with confirmed orders, for the reminder and thank-you tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from booking.db import Database
from booking.domain import orders
from booking.domain.tickets import derive_key
from booking.models import Event, Order
from booking.settings import Settings
from tests.factories import make_event, make_organisation, make_ticket_type


def book(
    db: Database, settings: Settings, event: Event, *, name: str, tickets: int, now: datetime
) -> Order:
    """A confirmed order of `tickets` free tickets, booked at `now`."""
    assert event.id is not None
    from sqlmodel import select

    from booking.models import TicketType

    with db.session() as s:
        free = s.exec(select(TicketType).where(TicketType.event_id == event.id)).first()
    assert free is not None and free.id is not None
    with db.write_session() as ws:
        order = orders.reserve(
            ws,
            event_id=event.id,
            quantities={free.id: tickets},
            buyer=orders.Buyer(name, f"{name.split()[0].lower()}@example.com"),
            now=now,
            hold=timedelta(minutes=31),
        )
        assert order.id is not None
        return orders.confirm_free(
            ws, order_id=order.id, now=now, code_key=derive_key(settings.secret_key, "tickets")
        )


@pytest.fixture
def soon(session: Session, clock) -> Event:  # type: ignore[no-untyped-def]
    """A debate starting in 10 hours (so its 24-hour reminder is due), with a free ticket."""
    event = make_event(
        session,
        starts_at=clock.now + timedelta(hours=10),
        title="Should London have a congestion charge for buses?",
        contact_email="events@onlondon.example",
    )
    make_ticket_type(session, event, name="Free seat", price=0)
    make_organisation(session, event, name="On London")
    return event
