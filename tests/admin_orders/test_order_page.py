"""One order in the back office: everything about it on one page, resending its email,
changing names, and who may see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from booking.domain.tickets import reference
from booking.models import AuditEntry, MailKind, MailOutbox, OrderHistory
from tests.admin_orders.conftest import (
    check_in,
    error_summary,
    fresh,
    paid_order,
    tickets_of,
)
from tests.conftest import sign_in
from tests.helpers import csrf_from

MY_PATHS = [
    ("GET", "/admin/orders"),
    ("GET", "/admin/orders/1"),
    ("GET", "/admin/events/1/orders"),
    ("GET", "/admin/events/1/dashboard"),
    ("GET", "/admin/events/1/attendees.csv"),
    ("GET", "/admin/orders/1/refund"),
    ("POST", "/admin/orders/1/refund"),
    ("GET", "/admin/orders/1/cancel"),
    ("POST", "/admin/orders/1/cancel"),
    ("POST", "/admin/orders/1/resend"),
    ("GET", "/admin/orders/1/tickets/1/name"),
    ("POST", "/admin/orders/1/tickets/1/name"),
]


def test_the_order_page_shows_everything_about_the_order(admin, session, event, standin, clock):
    order = paid_order(admin, session, event, standin, n=2, name="Ada Lovelace")
    first, second = tickets_of(session, order)
    summer = datetime(2026, 7, 1, 18, 5, tzinfo=UTC)  # 7:05pm in London
    check_in(session, first, summer)
    check_in(session, second, summer - timedelta(minutes=3), undone=summer)
    page = admin.get(f"/admin/orders/{order.id}")
    assert page.status_code == 200 and page.template.name == "admin/order.html"
    html = page.text
    assert order.reference in html and "Ada Lovelace" in html and "ada@example.com" in html
    assert reference(first.code) in html and reference(second.code) in html
    assert order.stripe_payment_intent in html and order.stripe_session_id in html
    assert "£20.00" in html
    details = page.context["detail"]
    assert [t.checked_in_at for t in details.tickets] == [summer, None]
    assert "7:05pm" in html and "undone" in html
    assert [m.kind for m in details.mails] == [MailKind.CONFIRMATION]
    assert [item.what for item in details.trail if item.entry is None] == [
        "Order placed; tickets held while the buyer pays",
        "Paid",
    ]
    assert "UTC" not in html
    assert "Resend the confirmation email" in html and "Refund tickets" in html


def test_organisers_resend_without_a_limit_and_it_is_audited(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=1)
    for _ in range(5):  # buyers are limited to 3 an hour; organisers are not
        token = csrf_from(admin, f"/admin/orders/{order.id}")
        done = admin.post(f"/admin/orders/{order.id}/resend", data={"csrf_token": token})
        assert done.status_code == 303 and done.headers["location"] == f"/admin/orders/{order.id}"
    resent = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.RESEND)).all()
    assert len(resent) == 5 and {m.recipient for m in resent} == {"ada@example.com"}
    entries = session.exec(
        select(AuditEntry).where(AuditEntry.action == "order.confirmation_resent")
    ).all()
    assert len(entries) == 5 and entries[0].actor == "organiser@example.com"
    page = admin.get(f"/admin/orders/{order.id}")
    assert "sent the confirmation email again to ada@example.com" in page.text


def test_a_cancelled_order_cannot_be_resent(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=1)
    order.status = "cancelled"
    session.add(order)
    session.commit()
    token = csrf_from(admin, f"/admin/orders/{order.id}")
    refused = admin.post(f"/admin/orders/{order.id}/resend", data={"csrf_token": token})
    assert refused.status_code == 409
    assert error_summary(refused.text) == ["Only a paid order has tickets to send"]


def test_organisers_change_attendee_names(admin, session, event, standin):
    order = paid_order(admin, session, event, standin, n=2)
    first, _ = tickets_of(session, order)
    path = f"/admin/orders/{order.id}/tickets/{first.id}/name"
    form = admin.get(path)
    assert form.status_code == 200 and 'value="Ada Lovelace"' in form.text
    token = csrf_from(admin, path)
    empty = admin.post(path, data={"csrf_token": token, "name": "  \t "})
    assert empty.status_code == 400
    assert error_summary(empty.text) == ["Enter the full name of the person using this ticket"]
    done = admin.post(path, data={"csrf_token": token, "name": "  Grace   Hopper "})
    assert done.status_code == 303
    renamed = tickets_of(session, order)[0]
    assert renamed.attendee_name == "Grace Hopper" and renamed.code == first.code
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.renamed")).one()
    assert entry.data["attendee_name"] == {"before": "Ada Lovelace", "after": "Grace Hopper"}
    assert entry.actor == "organiser@example.com"
    notes = [h.note for h in session.exec(select(OrderHistory)).all()]
    assert "name changed on ticket 1" in notes
    assert "Grace Hopper" in admin.get(done.headers["location"]).text
    # A ticket of another order, or one that is not valid, is not found here.
    other = paid_order(admin, session, event, standin, n=1, email="b@example.com")
    [foreign] = tickets_of(session, other)
    assert admin.get(f"/admin/orders/{order.id}/tickets/{foreign.id}/name").status_code == 404
    assert admin.get(f"/admin/orders/{order.id}/tickets/999999/name").status_code == 404


def test_every_page_here_refuses_staff_and_sends_signed_out_users_to_sign_in(
    client, session, event, standin, staff
):
    order = paid_order(client, session, event, standin, n=1)
    assert order.id == 1 and event.id == 1
    token = csrf_from(client, "/sign-in")
    for method, path in MY_PATHS:
        response = client.request(method, path, data={"csrf_token": token})
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/sign-in?next=")
    sign_in(client, staff)
    token = csrf_from(client, "/door/")
    for method, path in MY_PATHS:
        response = client.request(method, path, data={"csrf_token": token})
        assert response.status_code == 403, (method, path)
    assert fresh(session, order).status == "paid"
    assert session.exec(select(MailOutbox).where(MailOutbox.kind == "resend")).all() == []


@pytest.mark.parametrize("path", ["/admin/orders/1/resend", "/admin/orders/1/cancel"])
def test_posts_need_the_csrf_token(admin, session, event, standin, path):
    paid_order(admin, session, event, standin, n=1)
    assert admin.post(path, data={"reason": "x", "confirm": "yes"}).status_code == 403
