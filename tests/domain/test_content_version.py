"""The content version rises in the same transaction as every change to what the public
pages show, and not with sales."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from booking import changes
from booking.domain import orders
from booking.models import TicketType, Venue
from tests.factories import NOW, make_event, make_ticket_type


def test_each_committed_change_to_a_public_row_counts_once(db, session):
    assert db.content_version() == 0
    event = make_event(session)  # a venue, then the event: two commits
    assert db.content_version() == 2
    event.title = "A new title"
    session.add(event)
    session.commit()
    assert db.content_version() == 3
    session.add(event)  # nothing changed: nothing counted
    session.commit()
    assert db.content_version() == 3


def test_a_bulk_update_counts(db, session):
    event = make_event(session)
    make_ticket_type(session, event)
    before = db.content_version()
    with db.write() as tx:
        tx.execute(
            update(TicketType).where(col(TicketType.event_id) == event.id).values(capacity=3)
        )
    assert db.content_version() == before + 1


def test_a_rolled_back_change_does_not_count(db, session):
    event = make_event(session)
    before = db.content_version()
    with pytest.raises(RuntimeError), db.write() as tx:
        venue = tx.get(Venue, event.venue_id)
        assert venue is not None
        venue.name = "Elsewhere"
        tx.add(venue)
        tx.flush()
        raise RuntimeError("changed my mind")
    assert db.content_version() == before


def test_a_sale_does_not_count_but_is_seen_by_this_process(db, session):
    event = make_event(session)
    standard = make_ticket_type(session, event)
    before, sales = db.content_version(), changes.sales_here()
    with db.write_session() as tx:
        orders.reserve(
            tx,
            event_id=event.id,
            quantities={standard.id: 1},
            buyer=orders.Buyer("Ada Lovelace", "ada@example.com"),
            now=NOW,
            hold=timedelta(minutes=30),
        )
    assert db.content_version() == before
    assert changes.sales_here() > sales
