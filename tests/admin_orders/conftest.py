"""Fixtures for the back office's orders, refunds, exports and dashboard."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from booking.domain.inventory import availability
from booking.models import CheckIn, Event, Order, Refund, Ticket
from tests.conftest import sign_in
from tests.factories import make_event, make_ticket_type
from tests.helpers import csrf_from, ticket_types
from tests.mail.flows import pay


@pytest.fixture
def event(session):
    """An event on sale: 5 seats, Standard £10 and Concession £5."""
    event = make_event(session, capacity=5, title="London and Brexit")
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    return event


@pytest.fixture
def admin(client, organiser):
    """The test client, signed in as an organiser (once: password hashing is slow)."""
    assert sign_in(client, organiser).status_code == 303
    return client


def paid_order(client, session, event, standin, n=2, **buyer) -> Order:  # type: ignore[no-untyped-def]
    """A paid order of `n` Standard tickets, bought through the public pages and Stripe."""
    standard = ticket_types(session, event)[0]
    return pay(client, session, event, standin, {standard.id: n}, **buyer)


def tickets_of(session: Session, order: Order) -> list[Ticket]:
    return list(
        session.exec(select(Ticket).where(Ticket.order_id == order.id).order_by(col(Ticket.id)))
    )


def refunds_of(session: Session, order: Order) -> list[Refund]:
    return list(
        session.exec(select(Refund).where(Refund.order_id == order.id).order_by(col(Refund.id)))
    )


def fresh(session: Session, order: Order) -> Order:
    return session.exec(select(Order).where(Order.id == order.id)).one()


def room_left(session: Session, event: Event, now: datetime) -> int | None:
    return availability(session, event=event, now=now).room_remaining


def stripe_refunds(standin) -> list[dict]:  # type: ignore[no-untyped-def]
    """POST /v1/refunds requests that reached the stand-in (retries after lost answers too)."""
    return [r for r in standin.requests() if r["path"] == "/v1/refunds" and r["method"] == "POST"]


def form_token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    return csrf_from(client, path)


def check_in(session: Session, ticket: Ticket, at: datetime, *, undone: datetime | None = None):  # type: ignore[no-untyped-def]
    row = CheckIn(
        ticket_id=ticket.id,
        event_id=ticket.event_id,
        at=at,
        by_name="Dora Door",
        device="phone 1",
        nonce=f"n-{ticket.id}-{at.timestamp()}",
        undone_at=undone,
    )
    session.add(row)
    session.commit()
    return row


def error_summary(html: str) -> list[str]:
    box = re.search(r'<ul class="error-summary__list">(.*?)</ul>', html, re.S)
    return re.findall(r">([^<]+)</a>", box.group(1)) if box else []


def add_order(  # type: ignore[no-untyped-def]
    session: Session,
    event: Event,
    types,
    *,
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    status: str = "paid",
    created_at: datetime | None = None,
    paid_at: datetime | None = None,
    expires_at: datetime | None = None,
    promo_link_id: int | None = None,
    ticket_status: str | None = None,
    amount_refunded: int = 0,
) -> Order:
    """An order written straight to the database, one ticket per entry of `types`."""
    from datetime import timedelta

    from booking.domain import tickets as codes
    from booking.models import OrderLine, TicketStatus

    created = created_at or datetime.now(UTC)
    order = Order(
        event_id=event.id,
        reference=codes.new_order_reference(),
        token=codes.new_token(),
        status=status,
        buyer_name=name,
        buyer_email=email,
        total=sum(t.price for t in types),
        currency="GBP",
        amount_refunded=amount_refunded,
        created_at=created,
        expires_at=expires_at or created + timedelta(minutes=30),
        paid_at=paid_at or (created if status in ("paid", "cancelled", "refunded") else None),
        promo_link_id=promo_link_id,
        stripe_payment_intent=f"pi_seeded_{codes.new_token()[:12]}"
        if status != "pending"
        else None,
    )
    session.add(order)
    session.flush()
    issued = status in ("paid", "cancelled", "refunded")
    default = TicketStatus.VALID if status == "paid" else TicketStatus.CANCELLED
    for t in {t.id: t for t in types}.values():
        qty = sum(1 for x in types if x.id == t.id)
        session.add(
            OrderLine(
                order_id=order.id,
                ticket_type_id=t.id,
                quantity=qty,
                unit_price=t.price,
                name=t.name,
            )
        )
    for t in types:
        session.add(
            Ticket(
                order_id=order.id,
                event_id=event.id,
                ticket_type_id=t.id,
                attendee_name=name,
                price=t.price,
                code=codes.new_code(b"k" * 32) if issued else None,
                status=ticket_status or (default if issued else TicketStatus.HELD),
            )
        )
    session.commit()
    session.refresh(order)
    session.commit()
    return order
