"""The order list with 100,000 orders: the first page and a deep one each take two queries
and a few milliseconds, on SQLite and PostgreSQL alike (keyset paging, indexed predicates).

The orders are written with SQLAlchemy Core's executemany, so seeding takes seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from booking.domain import order_search
from booking.domain.tickets import ALPHABET, new_code
from booking.models import Order, OrderStatus, Ticket, TicketType
from tests.admin_orders.conftest import add_order
from tests.conftest import sign_in
from tests.factories import make_event, make_ticket_type

ORDERS = 100_000
CHUNK = 10_000
LIMIT_SECONDS = 0.3
STATUSES = [OrderStatus.PAID] * 8 + [OrderStatus.EXPIRED, OrderStatus.CANCELLED]


def _reference(n: int) -> str:
    """A unique order reference in the real format ("00000-0031Z"), from a number."""
    digits = "".join(ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(10)))
    return f"{digits[:5]}-{digits[5:]}"


def _seed(db, event_ids: list[int], type_ids: dict[int, int]) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.write_engine.begin() as conn:
        for base in range(0, ORDERS, CHUNK):
            orders, tickets = [], []
            for n in range(base, base + CHUNK):
                event_id = event_ids[n % 10 == 0]  # one order in ten for the second event
                when = start + timedelta(seconds=n)
                orders.append(
                    {
                        "event_id": event_id,
                        "reference": _reference(n),
                        "token": f"seed-token-{n}",
                        "status": STATUSES[n % len(STATUSES)],
                        "status_reason": "",
                        "buyer_name": f"Buyer {n}",
                        "buyer_email": f"buyer{n}@example.com",
                        "total": 1000,
                        "currency": "GBP",
                        "amount_refunded": 0,
                        "refund_due": 0,
                        "created_at": when,
                        "expires_at": when + timedelta(minutes=30),
                        "discount_total": 0,
                        "source": "",
                    }
                )
            conn.execute(insert(Order), orders)
            first = conn.execute(
                text("SELECT id FROM orders WHERE reference = :r"), {"r": _reference(base)}
            ).scalar_one()
            for offset in range(0, CHUNK, 10):  # a ticket on one order in ten
                event_id = orders[offset]["event_id"]
                tickets.append(
                    {
                        "order_id": first + offset,
                        "event_id": event_id,
                        "ticket_type_id": type_ids[event_id],
                        "code": new_code(b"k" * 32),
                        "attendee_name": orders[offset]["buyer_name"],
                        "price": 1000,
                        "status": "valid",
                    }
                )
            conn.execute(insert(Ticket), tickets)
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE orders"))
            conn.execute(text("ANALYZE ticket"))


def _timed(session, count_queries, **kwargs):  # type: ignore[no-untyped-def]
    count_queries.reset()
    started = time.perf_counter()
    page = order_search.search(session, **kwargs)
    return page, time.perf_counter() - started, count_queries.count


def test_paging_and_search_stay_fast_with_100k_orders(
    db, session, client, organiser, count_queries
):
    big, small = make_event(session, title="Big night"), make_event(session, title="Small one")
    types = {e.id: make_ticket_type(session, e).id for e in (big, small)}
    _seed(db, [big.id, small.id], types)  # about 5 s on SQLite, 10 s on PostgreSQL
    newest = add_order(session, big, [session.get(TicketType, types[big.id])])

    everything = order_search.Filters()
    page, took, queries = _timed(session, count_queries, filters=everything)
    assert [r.order.id for r in page.rows][:2] == [newest.id, newest.id - 1]
    assert len(page.rows) == 50 and page.newer is None and page.older == newest.id - 49
    assert (queries, took < LIMIT_SECONDS) == (2, True), took

    deep, took, queries = _timed(session, count_queries, filters=everything, before=1234)
    assert [r.order.id for r in deep.rows] == list(range(1233, 1183, -1))
    assert (queries, took < LIMIT_SECONDS) == (2, True), took
    back, _, _ = _timed(session, count_queries, filters=everything, after=deep.newer)
    assert back.rows[-1].order.id == 1234

    one_event = order_search.Filters(event_id=big.id)
    page, took, queries = _timed(session, count_queries, filters=one_event, before=5000)
    assert all(r.order.event_id == big.id for r in page.rows) and len(page.rows) == 50
    assert page.rows[0].order.id == 4999  # 5000 - 1 is in the big event (only n%10==0 is not)
    assert (queries, took < LIMIT_SECONDS) == (2, True), took

    paid = order_search.Filters(event_id=small.id, status=OrderStatus.PAID)
    page, took, queries = _timed(session, count_queries, filters=paid, before=90_000)
    assert {r.order.status for r in page.rows} == {OrderStatus.PAID}
    assert {r.order.event_id for r in page.rows} == {small.id}
    assert (queries, took < LIMIT_SECONDS) == (2, True), took

    # The last page: fewer than fifty, and no older link.
    last, took, _ = _timed(session, count_queries, filters=everything, before=21)
    assert [r.order.id for r in last.rows] == list(range(20, 0, -1)) and last.older is None

    # Searches by reference or ticket code use their unique indexes.
    wanted = session.get(Order, 77_771)
    found, took, queries = _timed(
        session, count_queries, filters=order_search.Filters(q=wanted.reference.lower())
    )
    assert [r.order.id for r in found.rows] == [77_771] and took < LIMIT_SECONDS
    ticket = session.get(Ticket, 4321)
    short = f"{ticket.code[:4]}-{ticket.code[4:8]}"
    found, took, _ = _timed(session, count_queries, filters=order_search.Filters(q=short))
    assert [r.order.id for r in found.rows] == [ticket.order_id] and took < LIMIT_SECONDS

    # Through the web: a fixed number of queries whatever the depth.
    sign_in(client, organiser)
    counts = []
    for query in ("", "?before=1234", "?before=99999", "?before=50000&status=paid"):
        count_queries.reset()
        started = time.perf_counter()
        response = client.get(f"/admin/events/{big.id}/orders{query}")
        took = time.perf_counter() - started
        assert response.status_code == 200 and response.text.count("/admin/orders/") >= 50
        assert took < 1.0, (query, took)
        counts.append(count_queries.count)
    assert len(set(counts)) == 1 and counts[0] <= 6, counts
