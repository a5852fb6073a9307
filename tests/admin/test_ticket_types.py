"""Ticket types: add, edit, reorder, hide; capacity never below what is sold or held; audit."""

import html

import pytest
from sqlmodel import select

from booking.models import AuditEntry, TicketType
from tests.admin.conftest import fresh
from tests.admin.test_events import hold
from tests.helpers import ticket_types

NEW = {
    "name": "Early bird",
    "description": "Until the end of the month",
    "price": "£7.50",
    "capacity": "",
    "max_per_order": "4",
    "sales_start_date": "",
    "sales_start_time": "",
    "sales_end_date": "2036-01-31",
    "sales_end_time": "23:59",
    "visible": "yes",
}


def test_add_a_ticket_type_priced_in_pounds(forms, session, event):
    response = forms.post(f"/admin/events/{event.id}/ticket-types/new", NEW)
    assert response.status_code == 303
    early = ticket_types(session, event)[-1]
    assert (early.name, early.price, early.max_per_order, early.position) == (
        "Early bird",
        750,
        4,
        2,
    )
    assert early.capacity is None and early.visible
    assert early.sales_end.isoformat() == "2036-01-31T23:59:00+00:00"
    page = forms.client.get(f"/admin/events/{event.id}").text
    assert "Early bird tickets added." in page and "£7.50" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Enter a name"),
        ({"price": ""}, "price", "Enter a price, or 0 if free"),
        ({"price": "seven"}, "price", "Price must be an amount of money, like 7.50"),
        ({"price": "7.505"}, "price", "Price must be an amount of money, like 7.50"),
        ({"price": "-5"}, "price", "Price must be an amount of money, like 7.50"),
        ({"price": "1e9"}, "price", "Price must be an amount of money, like 7.50"),
        ({"price": "100000.01"}, "price", "Price must be £100,000 or less"),
        ({"capacity": "-1"}, "capacity", "Capacity must be a whole number"),
        ({"capacity": "1.5"}, "capacity", "Capacity must be a whole number"),
        ({"max_per_order": "0"}, "max_per_order", "Most tickets in one order must be 1 or more"),
        ({"max_per_order": "500"}, "max_per_order", "Most tickets in one order must be 100 or"),
        ({"max_per_order": ""}, "max_per_order", "Enter the most tickets one order can have"),
        (
            {"sales_start_date": "2036-02-01", "sales_start_time": "09:00"},
            "sales_end_date",
            "Sales must end after they start",
        ),
        ({"sales_end_time": ""}, "sales_end_date", "Enter the sales end time"),
        ({"name": "n" * 201}, "name", "Name must be 200 characters or fewer"),
    ],
)
def test_odd_input_is_refused(forms, session, event, changes, field, message):
    response = forms.post(f"/admin/events/{event.id}/ticket-types/new", {**NEW, **changes})
    assert response.status_code == 400
    assert response.context["errors"][field].startswith(message), response.context["errors"]
    assert len(ticket_types(session, event)) == 2


def test_free_and_whole_pound_prices(forms, session, event):
    forms.post(f"/admin/events/{event.id}/ticket-types/new", {**NEW, "price": "0"})
    forms.post(f"/admin/events/{event.id}/ticket-types/new", {**NEW, "price": "12", "name": "Door"})
    forms.post(
        f"/admin/events/{event.id}/ticket-types/new", {**NEW, "price": "1,000.5", "name": "Gala"}
    )
    assert [t.price for t in ticket_types(session, event)][2:] == [0, 1200, 100050]


def test_capacity_cannot_go_below_tickets_sold_or_held(db, forms, session, event):
    event.capacity = None
    session.add(event)
    session.commit()
    standard, _ = ticket_types(session, event)
    for _ in range(6):
        hold(db, event, standard.id, 6)
    hold(db, event, standard.id, 1)
    edit = forms.client.get(f"/admin/events/{event.id}/ticket-types/{standard.id}")
    assert "37 sold or held so far" in edit.text
    values = edit.context["values"]
    assert values["price"] == "10.00"
    response = forms.post(
        f"/admin/events/{event.id}/ticket-types/{standard.id}", {**values, "capacity": "36"}
    )
    assert response.status_code == 400
    assert response.context["errors"] == {
        "capacity": "Capacity must be at least 37, the number already sold or held"
    }
    assert 'value="36"' in response.text
    assert fresh(session, TicketType, standard.id).capacity is None
    ok = forms.post(
        f"/admin/events/{event.id}/ticket-types/{standard.id}",
        {**values, "capacity": "37", "price": "12.00"},
    )
    assert ok.status_code == 303
    saved = fresh(session, TicketType, standard.id)
    assert (saved.capacity, saved.price) == (37, 1200)
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket_type.updated"))
    assert entry.data == {
        "name": "Standard",
        "capacity": {"before": None, "after": 37},
        "price": {"before": 1000, "after": 1200},
    }
    assert entry.actor == "olive@example.com" and entry.subject_id == standard.id
    page = html.unescape(forms.client.get(f"/admin/events/{event.id}").text)
    assert (
        "Olive Organiser changed Standard's price from £10.00 to £12.00 "
        "and capacity from no limit to 37" in page
    )


def test_reorder_with_buttons_and_hide(forms, session, event):
    forms.post(f"/admin/events/{event.id}/ticket-types/new", NEW)
    standard, concession, early = ticket_types(session, event)
    forms.post(f"/admin/events/{event.id}/ticket-types/{early.id}/move", {"direction": "up"})
    forms.post(f"/admin/events/{event.id}/ticket-types/{early.id}/move", {"direction": "up"})
    forms.post(f"/admin/events/{event.id}/ticket-types/{early.id}/move", {"direction": "up"})
    assert [t.name for t in ticket_types(session, event)] == [
        "Early bird",
        "Standard",
        "Concession",
    ]
    forms.post(f"/admin/events/{event.id}/ticket-types/{standard.id}/move", {"direction": "down"})
    assert [t.name for t in ticket_types(session, event)] == [
        "Early bird",
        "Concession",
        "Standard",
    ]
    response = forms.post(
        f"/admin/events/{event.id}/ticket-types/{concession.id}/visibility", {"visible": "no"}
    )
    assert response.status_code == 303
    assert not fresh(session, TicketType, concession.id).visible
    public = forms.client.get(f"/events/{event.slug}").text
    assert "Concession" not in public
    assert public.index("Early bird") < public.index("Standard")


def test_a_ticket_type_of_another_event_is_404(forms, session, event):
    from tests.factories import make_event, make_ticket_type

    other = make_event(session)
    theirs = make_ticket_type(session, other)
    assert forms.client.get(f"/admin/events/{event.id}/ticket-types/{theirs.id}").status_code == 404
    move = forms.post(
        f"/admin/events/{event.id}/ticket-types/{theirs.id}/move", {"direction": "up"}
    )
    assert move.status_code == 404
