"""Buying through the real flow (event page -> Stripe stand-in -> success), and running the
mail sender, for the mail, order page and browser tests."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from booking import mail
from booking.db import Database
from booking.models import MailOutbox, Order
from booking.runtime import Services
from booking.settings import Settings
from booking.templating import make_templates
from tests.helpers import buy, session_id_of


def pay(client, session: Session, event, standin, quantities, **buyer) -> Order:  # type: ignore[no-untyped-def]
    """Buy `quantities` (ticket type id -> number), pay with the test card, come back."""
    response = buy(client, event, quantities, **buyer)
    assert response.status_code == 303, response.text
    result = standin.pay(session_id_of(response), "4242424242424242")
    assert result.ok, result.error
    success = urlsplit(result.redirect_url)
    back = client.get(f"{success.path}?{success.query}")
    assert back.status_code == 303
    token = back.headers["location"].rsplit("/", 1)[-1]
    return session.exec(select(Order).where(Order.token == token)).one()


def sender(settings: Settings, db: Database, clock=None) -> Services:  # type: ignore[no-untyped-def]
    """Services for a mail sender, as `booking worker` would build them."""
    svc = Services(settings=settings, db=db, templates=make_templates(settings.tz))
    if clock is not None:
        svc.clock = clock
    return svc


def deliver(svc: Services, **kw) -> mail.Delivery:  # type: ignore[no-untyped-def]
    """Run the sender once, to completion (in its own thread and event loop, so this works
    beside Playwright's loop too)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, mail.deliver_pending(svc, **kw)).result()


def outbox_rows(session: Session) -> list[MailOutbox]:
    return list(session.exec(select(MailOutbox).order_by(col(MailOutbox.id))).all())


def free_orders(
    session: Session, db: Database, settings: Settings, *, count: int, now=None
) -> list[Order]:  # type: ignore[no-untyped-def]
    """`count` confirmed orders of one free ticket each, straight through the domain."""
    from datetime import timedelta

    from booking.domain import orders
    from booking.domain.tickets import derive_key
    from booking.models import utcnow
    from tests.factories import make_event, make_ticket_type

    now = now or utcnow()
    event = make_event(session, capacity=None, title="A free walk and talk")
    free = make_ticket_type(session, event, name="Free ticket", price=0)
    made = []
    for n in range(count):
        with db.write_session() as ws:
            order = orders.reserve(
                ws,
                event_id=event.id,
                quantities={free.id: 1},
                buyer=orders.Buyer(f"Guest {n}", f"guest{n}@example.com"),
                now=now,
                hold=timedelta(minutes=31),
            )
            made.append(
                orders.confirm_free(
                    ws,
                    order_id=order.id,
                    now=now,
                    code_key=derive_key(settings.secret_key, "tickets"),
                )
            )
    return made
