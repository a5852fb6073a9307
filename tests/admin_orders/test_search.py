"""Finding orders: search by each field, filters, keyset pages, and no 500 for any input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from booking.domain import order_search
from booking.domain.tickets import grouped, reference
from booking.models import OrderStatus, PromoLink
from tests.admin_orders.conftest import add_order, error_summary, tickets_of
from tests.factories import NOW, make_event
from tests.helpers import ticket_types


@pytest.fixture
def orders(session, event):
    """Three orders for `event` and one for another event."""
    standard, concession = ticket_types(session, event)
    link = PromoLink(event_id=event.id, code="paper", label="The Paper")
    session.add(link)
    session.commit()
    ada = add_order(session, event, [standard, standard], name="Ada Lovelace")
    grace = add_order(
        session,
        event,
        [concession],
        name="Grace Hopper",
        email="grace@navy.example",
        promo_link_id=link.id,
    )
    pending = add_order(
        session, event, [standard], name="Alan Turing", email="alan@example.com", status="pending"
    )
    other_event = make_event(session, title="Another debate")
    other = add_order(session, other_event, [standard], name="Ada Byron", email="byron@example.com")
    return {"ada": ada, "grace": grace, "pending": pending, "other": other, "link": link}


def found(client, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.text
    return [row.order.reference for row in response.context["result"].rows]


def test_search_by_each_field(admin, session, event, orders):
    ada, grace, other = orders["ada"], orders["grace"], orders["other"]
    base = f"/admin/events/{event.id}/orders"
    assert found(admin, f"{base}?q=lovelace") == [ada.reference]  # part of a name, any case
    assert found(admin, f"{base}?q=GRACE@navy.example") == [grace.reference]
    assert found(admin, f"{base}?q=navy") == [grace.reference]  # part of an email
    assert found(admin, f"{base}?q={ada.reference}") == [ada.reference]
    squashed = ada.reference.replace("-", "").lower()
    assert found(admin, f"{base}?q={squashed}") == [ada.reference]
    code = tickets_of(session, grace)[0].code
    assert found(admin, f"{base}?q={code}") == [grace.reference]
    assert found(admin, f"{base}?q={grouped(code)}") == [grace.reference]  # as read aloud
    assert found(admin, f"{base}?q={reference(code)}") == [grace.reference]  # "K7QF-29XM"
    assert found(admin, f"{base}?q={reference(code).lower()}") == [grace.reference]
    assert found(admin, f"{base}?q=nobody+at+all") == []
    # Across events, and one event's search leaves other events out.
    assert set(found(admin, "/admin/orders?q=ada")) == {ada.reference, other.reference}
    assert found(admin, f"{base}?q=byron") == []
    # Wildcards are characters like any other.
    assert found(admin, f"{base}?q=%25") == [] and found(admin, f"{base}?q=_") == []


def test_filters(admin, session, event, orders):
    standard, concession = ticket_types(session, event)
    base = f"/admin/events/{event.id}/orders"
    ada, grace, pending = orders["ada"], orders["grace"], orders["pending"]
    assert found(admin, base) == [pending.reference, grace.reference, ada.reference]
    assert found(admin, f"{base}?status=pending") == [pending.reference]
    assert found(admin, f"{base}?status=paid") == [grace.reference, ada.reference]
    assert found(admin, f"{base}?ticket_type={concession.id}") == [grace.reference]
    assert found(admin, f"{base}?promo={orders['link'].id}") == [grace.reference]
    assert found(admin, f"{base}?promo=none") == [pending.reference, ada.reference]
    assert found(admin, f"{base}?status=paid&promo=none&q=ada") == [ada.reference]
    assert found(admin, f"/admin/orders?event={event.id}&status=pending") == [pending.reference]
    page = admin.get(f"{base}?ticket_type={standard.id}")
    assert page.context["result"].rows[0].tickets == 1  # the pending order's one ticket
    assert "The Paper" in page.text and "Concession" in page.text  # the filters offer them


def test_pages_go_older_and_newer_by_id(db, session, event):
    standard = ticket_types(session, event)[0]
    ids = [add_order(session, event, [standard]).id for _ in range(7)]
    filters = order_search.Filters(event_id=event.id)
    with db.session() as s:
        first = order_search.search(s, filters=filters, size=3)
        assert [r.order.id for r in first.rows] == ids[:-4:-1]
        assert (first.newer, first.older) == (None, ids[4])
        second = order_search.search(s, filters=filters, before=first.older, size=3)
        assert [r.order.id for r in second.rows] == [ids[3], ids[2], ids[1]]
        assert (second.newer, second.older) == (ids[3], ids[1])
        last = order_search.search(s, filters=filters, before=second.older, size=3)
        assert [r.order.id for r in last.rows] == [ids[0]] and last.older is None
        back = order_search.search(s, filters=filters, after=last.rows[0].order.id, size=3)
        assert [r.order.id for r in back.rows] == [ids[3], ids[2], ids[1]]
        assert back.newer == ids[3]
        top = order_search.search(s, filters=filters, after=back.newer, size=3)
        assert [r.order.id for r in top.rows] == [ids[6], ids[5], ids[4]] and top.newer is None


def test_paging_links_keep_the_filters(admin, session, event, monkeypatch):
    standard = ticket_types(session, event)[0]
    for n in range(5):
        add_order(session, event, [standard], created_at=NOW - timedelta(minutes=n))
    monkeypatch.setattr(order_search, "PAGE_SIZE", 2)
    page = admin.get(f"/admin/events/{event.id}/orders?status=paid")
    older = page.context["older_url"]
    assert older.startswith(f"/admin/events/{event.id}/orders?") and "status=paid" in older
    second = admin.get(older)
    assert second.context["newer_url"] and "status=paid" in second.context["newer_url"]
    assert 'rel="next"' in second.text and 'rel="prev"' in second.text


@pytest.mark.parametrize(
    "query",
    [
        "?before=abc",
        "?before=-5",
        "?before=99999999999999999999999999",
        "?after=0",
        "?after=1e9&before=3",
        "?q=%01%02%1b",
        "?q=" + "%F0%9F%8E%9F" * 10,
        "?status=&ticket_type=&promo=",
        "?page=2&sort=evil",
        "?q=';DROP TABLE orders;--",
    ],
)
def test_odd_query_strings_never_break_the_list(admin, event, orders, query):
    for base in ("/admin/orders", f"/admin/events/{event.id}/orders"):
        assert admin.get(base + query).status_code == 200, base + query


def test_a_nul_character_in_the_query_is_refused(admin, event, orders):
    for base in ("/admin/orders", f"/admin/events/{event.id}/orders"):
        assert admin.get(base + "?q=%00").status_code == 400


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?status=lost", "Select a status from the list"),
        ("?ticket_type=999999", "Select a ticket type from the list"),
        ("?ticket_type=abc", "Select a ticket type from the list"),
        ("?promo=99999999999999", "Select a promo link from the list"),
        ("?q=" + "x" * 201, "Search must be 200 characters or fewer"),
    ],
)
def test_bad_filters_are_explained(admin, event, orders, query, message):
    response = admin.get(f"/admin/events/{event.id}/orders{query}")
    assert response.status_code == 400
    assert error_summary(response.text) == [message]
    assert "<title>Error: " in response.text


def test_a_filter_from_another_event_is_refused(admin, session, event, orders):
    elsewhere = make_event(session, title="Elsewhere")
    link = PromoLink(event_id=elsewhere.id, code="x1", label="Elsewhere link")
    session.add(link)
    session.commit()
    response = admin.get(f"/admin/events/{event.id}/orders?promo={link.id}")
    assert error_summary(response.text) == ["Select a promo link from the list"]
    assert admin.get("/admin/orders?event=99999").status_code == 400


def test_unknown_events_and_orders_are_not_found(admin):
    for path in (
        "/admin/events/999999/orders",
        "/admin/events/99999999999999999999/orders",
        "/admin/orders/999999",
        "/admin/orders/99999999999999999999",
        "/admin/orders/abc",
    ):
        assert admin.get(path).status_code == 404, path


def test_statuses_are_shown_in_words(admin, session, event, orders):
    page = admin.get(f"/admin/events/{event.id}/orders")
    assert "Awaiting payment" in page.text and "Paid" in page.text
    assert OrderStatus.PENDING.value not in page.context["status_labels"].values()
