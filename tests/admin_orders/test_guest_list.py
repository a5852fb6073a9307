"""The guest list: tickets without payment that count against capacity like any sale, get the
confirmation email, show as complimentary everywhere, and give their seats back when cancelled."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from booking.domain import guest_list, orders, tickets
from booking.domain.errors import Conflict, EventCancelled, InvalidInput, SoldOut
from booking.models import (
    AuditEntry,
    EventStatus,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    TicketStatus,
)
from tests.admin_orders.conftest import add_order, error_summary, fresh, room_left, tickets_of
from tests.factories import make_ticket_type
from tests.helpers import csrf_from, ticket_types

KEY = b"k" * 32


def issue(db, event, tt, actor, now, *, quantity=2, name="Sadiq Speaker", email="s@example.com"):  # type: ignore[no-untyped-def]
    with db.write_session() as ws:
        return guest_list.issue(
            ws,
            event_id=event.id,
            guest=guest_list.Guest(name, email, tt.id, quantity),
            actor=actor,
            now=now,
            code_key=KEY,
        )


def test_guest_tickets_are_valid_counted_and_emailed(db, session, event, organiser, clock):
    standard, _ = ticket_types(session, event)
    order = issue(db, event, standard, organiser, clock.now, quantity=2)
    order = fresh(session, order)
    assert order.status == OrderStatus.PAID and order.complimentary and order.total == 0
    issued = tickets_of(session, order)
    assert [t.status for t in issued] == [TicketStatus.VALID] * 2
    assert all(t.code and tickets.verify(t.code, KEY) for t in issued)
    assert room_left(session, event, clock.now) == 3  # 5 seats, 2 given away
    [mail] = session.exec(select(MailOutbox).where(MailOutbox.order_id == order.id)).all()
    assert (mail.kind, mail.recipient) == (MailKind.CONFIRMATION, "s@example.com")
    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "order.complimentary_issued")
    ).all()
    assert entry.actor == organiser.email and entry.data["tickets"] == 2


def test_guest_tickets_cannot_exceed_the_room_or_the_type(db, session, event, organiser, clock):
    standard, concession = ticket_types(session, event)
    add_order(session, event, [standard, standard, concession])  # 3 of 5 sold
    with pytest.raises(InvalidInput) as room:
        issue(db, event, standard, organiser, clock.now, quantity=3)
    assert room.value.errors == {"quantity": "Only 2 Standard tickets are left"}
    capped = make_ticket_type(session, event, name="Press", price=0, capacity=1, visible=False)
    with pytest.raises(InvalidInput) as per_type:
        issue(db, event, capped, organiser, clock.now, quantity=2)
    assert per_type.value.errors == {"quantity": "Only 1 Press tickets are left"}
    assert session.exec(select(Order).where(Order.complimentary)).all() == []
    issue(db, event, capped, organiser, clock.now, quantity=1)  # a hidden type is fine
    issue(db, event, standard, organiser, clock.now, quantity=1)
    assert room_left(session, event, clock.now) == 0
    # And a buyer now finds the room full: comps and sales share one rule.
    with db.write_session() as ws, pytest.raises(SoldOut):
        orders.reserve(
            ws,
            event_id=event.id,
            quantities={standard.id: 1},
            buyer=orders.Buyer("Ada", "ada@example.com"),
            now=clock.now,
            hold=orders.timedelta(minutes=30),
        )


def test_a_cancelled_event_issues_no_guest_tickets(db, session, event, organiser, clock):
    standard, _ = ticket_types(session, event)
    event.status = EventStatus.CANCELLED
    session.add(event)
    session.commit()
    with pytest.raises(EventCancelled):
        issue(db, event, standard, organiser, clock.now)


def test_a_type_of_another_event_is_refused(db, session, event, organiser, clock):
    from tests.factories import make_event

    other = make_ticket_type(session, make_event(session), name="Elsewhere")
    with pytest.raises(InvalidInput):
        issue(db, event, other, organiser, clock.now)


def test_cancelling_guest_tickets_gives_the_seats_back_once(db, session, event, organiser, clock):
    standard, _ = ticket_types(session, event)
    order = issue(db, event, standard, organiser, clock.now, quantity=3)
    assert room_left(session, event, clock.now) == 2
    with db.write_session() as ws:
        guest_list.cancel(ws, order_id=order.id, actor=organiser, now=clock.now)
    assert room_left(session, event, clock.now) == 5
    assert fresh(session, order).status == OrderStatus.CANCELLED
    assert {t.status for t in tickets_of(session, order)} == {TicketStatus.CANCELLED}
    with db.write_session() as ws, pytest.raises(Conflict):
        guest_list.cancel(ws, order_id=order.id, actor=organiser, now=clock.now)
    paid = add_order(session, event, [standard])
    with db.write_session() as ws, pytest.raises(Conflict):
        guest_list.cancel(ws, order_id=paid.id, actor=organiser, now=clock.now)  # a sale


def test_the_form_checks_every_field():
    guest, errors = guest_list.read_form(
        {"name": " ", "email": "nope", "ticket_type": "99", "quantity": "0"}, ticket_type_ids={1}
    )
    assert guest is None
    assert set(errors) == {"name", "email", "ticket_type", "quantity"}
    guest, errors = guest_list.read_form(
        {
            "name": " Ada  Lovelace ",
            "email": "Ada@Example.com",
            "ticket_type": "1",
            "quantity": "2",
        },
        ticket_type_ids={1},
    )
    assert guest == guest_list.Guest("Ada Lovelace", "ada@example.com", 1, 2) and errors == {}


# Through the back office -------------------------------------------------------------------


def test_the_guest_list_page_issues_lists_and_cancels(admin, session, event, clock):
    standard, _ = ticket_types(session, event)
    path = f"/admin/events/{event.id}/guests"
    page = admin.get(path)
    assert page.status_code == 200 and page.template.name == "admin/guests.html"
    bad = admin.post(
        path,
        data={"csrf_token": csrf_from(admin, path), "name": "", "ticket_type": "", "quantity": "9"},
    )
    assert bad.status_code == 400
    assert "Enter the name of the guest" in error_summary(bad.text)
    assert 'value="9"' in bad.text  # what was typed stays
    full = admin.post(
        path,
        data={
            "csrf_token": csrf_from(admin, path),
            "name": "Press Person",
            "email": "press@example.com",
            "ticket_type": str(standard.id),
            "quantity": "6",
        },
    )
    assert full.status_code == 400 and "Only 5 Standard tickets are left" in error_summary(
        full.text
    )
    done = admin.post(
        path,
        data={
            "csrf_token": csrf_from(admin, path),
            "name": "Press Person",
            "email": "press@example.com",
            "ticket_type": str(standard.id),
            "quantity": "2",
        },
    )
    assert done.status_code == 303
    listed = admin.get(path)
    assert "2 complimentary tickets issued to Press Person" in listed.text
    assert "Press Person" in listed.text and "Complimentary" in listed.text
    [order] = session.exec(select(Order).where(Order.complimentary)).all()

    # Complimentary in the orders list, the order page, the CSV and the dashboard.
    orders_page = admin.get(f"/admin/events/{event.id}/orders")
    assert "Complimentary" in orders_page.text and "Guest list" in orders_page.text
    assert "Complimentary" in admin.get(f"/admin/orders/{order.id}").text
    guest_page = admin.get(f"/orders/{order.token}")
    assert guest_page.status_code == 200 and "Complimentary" in guest_page.text
    rows = list(
        csv.DictReader(
            io.StringIO(
                admin.get(f"/admin/events/{event.id}/attendees.csv").content.decode("utf-8-sig")
            )
        )
    )
    assert [(r["Status"], r["Name"], r["Complimentary"]) for r in rows] == [
        ("Valid", "Press Person", "Yes"),
        ("Valid", "Press Person", "Yes"),
    ]
    dashboard = admin.get(f"/admin/events/{event.id}/dashboard")
    assert dashboard.context["data"].complimentary == 2
    assert "2 complimentary tickets" in dashboard.text

    cancel_path = f"/admin/events/{event.id}/guests/{order.id}/cancel"
    confirm = admin.get(cancel_path)
    assert confirm.status_code == 200 and "Cancel the tickets of Press Person?" in confirm.text
    assert fresh(session, order).status == OrderStatus.PAID  # asking changes nothing
    gone = admin.post(cancel_path, data={"csrf_token": csrf_from(admin, cancel_path)})
    assert gone.status_code == 303
    assert fresh(session, order).status == OrderStatus.CANCELLED
    assert room_left(session, event, clock.now) == 5


def test_guest_pages_of_unknown_things_are_not_found(admin, session, event):
    standard, _ = ticket_types(session, event)
    sale = add_order(session, event, [standard])
    assert admin.get("/admin/events/4242/guests").status_code == 404
    assert admin.get(f"/admin/events/{event.id}/guests/{sale.id}/cancel").status_code == 404
    assert admin.get(f"/admin/events/{event.id}/guests/99999999999/cancel").status_code == 404


def test_the_guest_list_needs_an_organiser(client, event):
    assert client.get(f"/admin/events/{event.id}/guests").status_code in (302, 303)
