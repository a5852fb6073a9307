"""The content version: one counter, in the database, that rises with every committed change
to what the public pages show (an event, its venue, organisers, speakers, ticket types,
access codes and promo links, the site's brand).

Every write goes through an SQLAlchemy Session, so the counter is kept by session events,
not by each writer: a flush that adds, changes or deletes one of the WATCHED rows (or an ORM
bulk UPDATE/DELETE of one) marks the transaction, and the mark is turned into
`version = version + 1` just before that transaction commits, in it. The counter row is the
last lock the transaction takes, and it is held only for the commit.

Pages cached in any process are keyed on `current()`, so an organiser's edit shows at once
everywhere, whichever process or host made it.

Sales (orders, their lines and tickets) change far more often and are not counted in the
database; `sales_here()` counts the ones committed by this process, so the process that took
a hold shows what is left at once, and the others within their cache's few seconds.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from booking.models import (
    AccessCode,
    Event,
    EventOrganiser,
    EventSpeaker,
    Order,
    OrderLine,
    Organisation,
    PromoLink,
    SiteBrand,
    Speaker,
    Ticket,
    TicketType,
    Venue,
)

WATCHED: tuple[type, ...] = (
    AccessCode,
    Event,
    EventOrganiser,
    EventSpeaker,
    Organisation,
    PromoLink,
    SiteBrand,
    Speaker,
    TicketType,
    Venue,
)
SALES: tuple[type, ...] = (Order, OrderLine, Ticket)
WATCHED_TABLES = frozenset(m.__tablename__ for m in WATCHED)  # type: ignore[attr-defined]
SALES_TABLES = frozenset(m.__tablename__ for m in SALES)  # type: ignore[attr-defined]
MARK = "booking.content_changed"
SALES_MARK = "booking.sales_changed"
READ_SQL = "SELECT version FROM content_version WHERE id = 1"
READ = text(READ_SQL)
BUMP = text(
    "INSERT INTO content_version (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = content_version.version + 1"
)


def current(conn: Connection) -> int:
    """The content version now (0 before the first change)."""
    found = conn.execute(READ).scalar()
    return int(found or 0)


class _Count:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        with self.lock:
            self.value += 1


_sales = _Count()


def sales_here() -> int:
    """How many transactions of this process have changed orders or tickets."""
    return _sales.value


def _touches(session: Session, models: tuple[type, ...]) -> bool:
    if any(isinstance(obj, models) for obj in (*session.new, *session.deleted)):
        return True
    return any(
        isinstance(obj, models) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    )


@event.listens_for(Session, "before_flush")
def _note_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    if _touches(session, WATCHED):
        session.info[MARK] = True
    if _touches(session, SALES):
        session.info[SALES_MARK] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    name = getattr(getattr(state.statement, "table", None), "name", None)
    if name in WATCHED_TABLES:
        state.session.info[MARK] = True
    if name in SALES_TABLES:
        state.session.info[SALES_MARK] = True


def sold(session: Session) -> None:
    """Mark the transaction as a sale made with Core statements, which no event sees."""
    session.info[SALES_MARK] = True


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    session.flush()  # what is still pending is part of this commit
    if session.info.pop(MARK, False):
        session.connection().execute(BUMP)


@event.listens_for(Session, "after_commit")
def _count_sales(session: Session) -> None:
    if session.info.pop(SALES_MARK, False):
        _sales.bump()


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(MARK, None)
    session.info.pop(SALES_MARK, None)
