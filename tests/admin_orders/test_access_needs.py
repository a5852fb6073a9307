"""Organisers see buyers' access needs: counted on the event page and in the attendees CSV."""

from __future__ import annotations

from booking.models import Order
from tests.admin_orders.conftest import add_order
from tests.admin_orders.test_export import rows_of
from tests.helpers import ticket_types


def _needs(session, order, keys, note=""):  # type: ignore[no-untyped-def]
    order = session.get(Order, order.id)
    order.access_needs, order.access_note = keys, note
    session.add(order)
    session.commit()


def test_the_csv_has_each_tickets_access_needs_spreadsheet_safe(admin, session, event):
    standard, _ = ticket_types(session, event)
    first = add_order(session, event, [standard, standard], name="Ada Lovelace")
    add_order(session, event, [standard], name="Grace Hopper")
    third = add_order(session, event, [standard], name="Alan Turing")
    _needs(session, first, "step_free,captioning", "Near the front")
    _needs(session, third, "", '=HYPERLINK("http://evil.example")')
    rows = rows_of(admin.get(f"/admin/events/{event.id}/attendees.csv"))
    assert [r["Access needs"] for r in rows] == [
        "Step-free access; Live captioning: Near the front",
        "Step-free access; Live captioning: Near the front",
        "",
        '\'=HYPERLINK("http://evil.example")',
    ]
    listed = admin.get(f"/admin/events/{event.id}/attendees")
    assert "Access: Step-free access; Live captioning: Near the front" in listed.text


def test_the_event_page_counts_needs_over_paid_orders(admin, session, event):
    standard, _ = ticket_types(session, event)
    empty = admin.get(f"/admin/events/{event.id}")
    assert "No buyer has given access needs yet" in empty.text
    for keys in ("step_free,bsl", "bsl", "hearing_loop"):
        _needs(session, add_order(session, event, [standard]), keys)
    _needs(session, add_order(session, event, [standard], name="Ed <i>"), "", "Guide dog")
    _needs(session, add_order(session, event, [standard], status="pending"), "bsl")
    page = admin.get(f"/admin/events/{event.id}")
    assert page.status_code == 200
    assert "4 paid orders gave access needs" in page.text
    counts = page.context["needs"].counts
    assert counts == [("Step-free access", 1), ("Hearing loop", 1), ("BSL interpretation", 2)]
    assert "<strong>Ed &lt;i&gt;</strong>: Guide dog" in page.text
