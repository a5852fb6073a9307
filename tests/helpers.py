"""Small helpers shared by the web, concurrency and browser tests."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from booking.models import Event, TicketType


def csrf_from(client: TestClient, path: str) -> str:
    """GET a page and return the CSRF token of its session."""
    response = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def ticket_types(session: Session, event: Event) -> list[TicketType]:
    return list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event.id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )


def buy(client, event, quantities, name="Ada Lovelace", email="ada@example.com"):  # type: ignore[no-untyped-def]
    """Fill in and send the event page's buy form."""
    token = csrf_from(client, f"/events/{event.slug}")
    form = {"csrf_token": token, "name": name, "email": email}
    form.update({f"qty-{tid}": str(q) for tid, q in quantities.items()})
    return client.post(f"/events/{event.slug}/checkout", data=form)


def session_id_of(response) -> str:  # type: ignore[no-untyped-def]
    """The Checkout Session id from a redirect to the stand-in's hosted page."""
    return urlsplit(response.headers["location"]).path.rsplit("/", 1)[-1]
