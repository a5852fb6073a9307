"""An order's people: changing the buyer's email (audited, then resent there), telling a buyer
about a partial refund, and the orders list saying what happened and where orders came from."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from booking.domain import order_admin
from booking.domain.errors import InvalidInput
from booking.models import AuditEntry, MailKind, MailOutbox, PromoLink
from tests.admin_orders.conftest import add_order, error_summary, fresh, paid_order, tickets_of
from tests.admin_orders.test_refunds import choose
from tests.helpers import csrf_from, ticket_types
from tests.mail.flows import deliver, sender


def test_changing_the_email_is_audited_and_the_resend_goes_there(
    admin, session, event, standin, organiser, smtp, settings, db, clock
):
    order = paid_order(admin, session, event, standin, n=1, email="typo@exmaple.com")
    path = f"/admin/orders/{order.id}/email"
    form = admin.get(path)
    assert form.status_code == 200 and 'value="typo@exmaple.com"' in form.text
    bad = admin.post(path, data={"csrf_token": csrf_from(admin, path), "email": "ada@"})
    assert bad.status_code == 400 and 'value="ada@"' in bad.text
    assert "correct format" in error_summary(bad.text)[0]
    done = admin.post(path, data={"csrf_token": csrf_from(admin, path), "email": "ada@example.com"})
    assert done.status_code == 303
    page = admin.get(f"/admin/orders/{order.id}")
    assert (
        "changed the buyer&#39;s email address from typo@exmaple.com to ada@example.com"
        in page.text
    )
    assert fresh(session, order).buyer_email == "ada@example.com"
    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "order.email_changed")
    ).all()
    assert entry.actor == organiser.email
    assert entry.data == {"buyer_email": {"before": "typo@exmaple.com", "after": "ada@example.com"}}

    resend = f"/admin/orders/{order.id}/resend"
    token = csrf_from(admin, f"/admin/orders/{order.id}")
    assert admin.post(resend, data={"csrf_token": token}).status_code == 303
    [row] = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.RESEND)).all()
    assert row.recipient == "ada@example.com"
    deliver(sender(smtp.settings_for(settings), db, clock))
    to = [m["To"].addresses[0].addr_spec for m in smtp.messages]
    assert to.count("ada@example.com") == 1


def test_the_same_or_a_bad_email_changes_nothing(db, session, event, organiser, clock):
    standard, _ = ticket_types(session, event)
    order = add_order(session, event, [standard], email="ada@example.com")
    for typed in ("ADA@example.com", "", "not an email"):
        with db.write_session() as ws, pytest.raises(InvalidInput):
            order_admin.change_email(
                ws, order_id=order.id, email=typed, actor=organiser, now=clock.now
            )
    assert session.exec(select(AuditEntry)).all() == []


def confirm_with(admin, order, ticket_ids, amount, **extra):  # type: ignore[no-untyped-def]
    path = f"/admin/orders/{order.id}/refund"
    data = {
        "csrf_token": csrf_from(admin, f"/admin/orders/{order.id}"),
        "reason": "Cannot come",
        "amount": str(amount),
        "confirm": "yes",
        "ticket": [str(i) for i in ticket_ids],
        **extra,
    }
    return admin.post(path, data=data)


def test_a_partial_refund_can_tell_the_buyer(
    admin, session, event, standin, smtp, settings, db, clock
):
    order = paid_order(admin, session, event, standin, n=3, email="ada@example.com")
    first, second, third = tickets_of(session, order)
    page = choose(admin, order, [first.id])
    assert page.status_code == 200 and "Email ada@example.com about this refund" in page.text

    assert confirm_with(admin, order, [first.id], 1000).status_code == 303  # box not ticked
    assert confirm_with(admin, order, [second.id], 1000, notify="yes").status_code == 303
    [told] = session.exec(
        select(MailOutbox).where(MailOutbox.kind == MailKind.PARTLY_REFUNDED)
    ).all()
    assert told.recipient == "ada@example.com" and told.data["amount"] == 1000

    deliver(sender(smtp.settings_for(settings), db, clock))
    [message] = [m for m in smtp.messages if m["Subject"].startswith("Refund:")]
    text = message.get_body(("plain",)).get_content()
    assert "We've refunded 1 ticket" in text and "£10.00" in text
    assert "Your other 1 ticket still works" in text

    # The orders list: partly refunded, with the amount; the order page: "Refunded" tickets.
    listing = admin.get(f"/admin/events/{event.id}/orders")
    assert "Partly refunded" in listing.text and "£20.00 refunded" in listing.text
    detail = admin.get(f"/admin/orders/{order.id}")
    rows = {
        int(i): body
        for i, body in re.findall(r'<tr id="ticket-(\d+)">(.*?)</tr>', detail.text, re.S)
    }
    assert ">Refunded</td>" in rows[first.id] and ">Refunded</td>" in rows[second.id]
    assert ">Valid</td>" in rows[third.id]
    assert "refund 1" not in detail.text


def test_the_orders_list_says_where_each_order_came_from(admin, session, event):
    standard, _ = ticket_types(session, event)
    link = PromoLink(event_id=event.id, code="onlondon", label="On London newsletter, May")
    session.add(link)
    session.commit()
    add_order(session, event, [standard], name="From Link", promo_link_id=link.id)
    campaign = add_order(session, event, [standard], name="From Campaign")
    campaign.source = "utm:twitter/spring"
    session.add(campaign)
    session.commit()
    add_order(session, event, [standard], name="Came Direct")
    listing = admin.get(f"/admin/events/{event.id}/orders")
    rows = {r.order.buyer_name: r.came_from for r in listing.context["result"].rows}
    assert rows == {
        "From Link": "On London newsletter, May",
        "From Campaign": "Campaign twitter, spring",
        "Came Direct": "Direct",
    }
    assert "On London newsletter, May" in listing.text
    assert "Campaign twitter, spring" in admin.get("/admin/orders").text
