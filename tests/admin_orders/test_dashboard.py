"""An event's dashboard: the numbers match what was seeded, and the chart is accessible."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from booking.models import PromoLink, PromoVisit, Refund, Ticket
from tests.admin_orders.conftest import add_order, check_in, tickets_of
from tests.factories import make_event, make_ticket_type

LATE_EVENING = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)  # 00:30 on 11 June in London
LATER = datetime(2026, 6, 13, 10, 0, tzinfo=UTC)


def _seed(session, clock):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=10, title="Housing: who builds?")
    standard = make_ticket_type(session, event, name="Standard", price=1000, capacity=6)
    concession = make_ticket_type(session, event, name="Concession", price=500, position=1)
    paper = PromoLink(event_id=event.id, code="paper", label="The Paper")
    radio = PromoLink(event_id=event.id, code="radio", label="Radio advert")
    session.add_all([paper, radio])
    session.commit()
    for n, bot in enumerate([False, False, False, True]):
        session.add(
            PromoVisit(
                event_id=event.id,
                promo_link_id=paper.id,
                source="link:paper",
                visitor=f"v{n}",
                bot=bot,
                dedupe_key=f"paper-{n}",
            )
        )
    session.commit()
    a = add_order(
        session, event, [standard, standard], created_at=LATE_EVENING, promo_link_id=paper.id
    )
    b = add_order(session, event, [standard, concession], created_at=LATER, name="B")
    refunded_ticket = tickets_of(session, b)[0]
    refund = Refund(
        order_id=b.id,
        amount=1000,
        reason="One cannot come",
        status="succeeded",
        idempotency_key="refund:seed:1",
        stripe_refund_id="re_seed_1",
    )
    session.add(refund)
    session.commit()
    refunded_ticket.status, refunded_ticket.refund_id = "cancelled", refund.id
    b.amount_refunded = 1000
    session.add_all([refunded_ticket, b])
    session.commit()
    clock.now = LATER + timedelta(hours=1)
    add_order(  # held: its hold runs until later than now
        session,
        event,
        [concession],
        status="pending",
        created_at=clock.now,
        expires_at=clock.now + timedelta(minutes=20),
    )
    add_order(  # lapsed: counts for nothing
        session, event, [standard], status="pending", created_at=LATER - timedelta(days=1)
    )
    add_order(
        session, event, [standard], status="cancelled", created_at=LATER, amount_refunded=1000
    )
    first = tickets_of(session, a)[0]
    check_in(session, first, LATER)
    check_in(session, tickets_of(session, a)[1], LATER, undone=LATER + timedelta(minutes=1))
    return event


def test_the_dashboard_numbers_match_the_orders(admin, session, clock):
    event = _seed(session, clock)
    page = admin.get(f"/admin/events/{event.id}/dashboard")
    assert page.status_code == 200 and page.template.name == "admin/dashboard.html"
    data = page.context["data"]
    assert [(t.label, t.sold, t.held, t.capacity, t.remaining) for t in data.types] == [
        ("Standard", 2, 0, 6, 4),
        ("Concession", 1, 1, None, 6),
    ]
    room = data.room
    assert (room.sold, room.held, room.capacity, room.remaining) == (3, 1, 10, 6)
    revenue = data.revenue
    assert (revenue.gross, revenue.refunded, revenue.net) == (4500, 2000, 2500)
    assert [(d.day, d.tickets, d.revenue) for d in data.days] == [
        (date(2026, 6, 11), 2, 2000),  # paid at 23:30 UTC on the 10th: the 11th in London
        (date(2026, 6, 12), 0, 0),
        (date(2026, 6, 13), 3, 2500),
    ]
    paper, radio = data.promos
    assert (paper.visits, paper.orders, paper.tickets, paper.revenue) == (3, 1, 2, 2000)
    assert round(paper.conversion, 3) == 0.333
    assert (radio.visits, radio.orders, radio.tickets, radio.revenue) == (0, 0, 0, 0)
    assert radio.conversion is None
    assert (data.checked_in, data.valid_tickets) == (1, 3)
    html = page.text
    assert "£45.00" in html and "£20.00" in html and "£25.00" in html
    assert "33.3%" in html and "Radio advert" in html
    assert "<strong>1</strong> of 3 tickets checked in" in html


def test_the_sales_chart_is_an_accessible_svg_with_a_table(admin, session, clock):
    event = _seed(session, clock)
    html = admin.get(f"/admin/events/{event.id}/dashboard").text
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="sales-chart-title sales-chart-desc"' in svg
    assert '<title id="sales-chart-title">Tickets sold per day</title>' in svg
    assert "5 tickets sold from 11 June 2026 to 13 June 2026" in svg
    assert svg.count("<rect") == 3
    assert "<summary>Sales per day as a table</summary>" in html
    assert "Thu 11 Jun 2026" in html and "Sat 13 Jun 2026" in html


def test_a_new_event_shows_zeros(admin, session):
    event = make_event(session, capacity=None, title="Nothing sold")
    make_ticket_type(session, event, name="Free", price=0)
    page = admin.get(f"/admin/events/{event.id}/dashboard")
    assert page.status_code == 200
    data = page.context["data"]
    assert (data.room.sold, data.room.remaining, data.revenue.net) == (0, None, 0)
    assert data.days == [] and data.promos == [] and data.checked_in == 0
    assert "No tickets sold yet" in page.text and "<svg" not in page.text


def test_an_unknown_event_has_no_dashboard(admin):
    assert admin.get("/admin/events/123456/dashboard").status_code == 404
    assert admin.get("/admin/events/12345678901234/dashboard").status_code == 404


def test_the_events_list_links_to_each_dashboard(admin, session):
    event = make_event(session, title="Linked")
    assert f"/admin/events/{event.id}/dashboard" in admin.get("/admin/").text
    assert session.exec(select(Ticket)).all() == []
