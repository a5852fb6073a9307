"""The buyer's order page: secret link, QR codes, names, resend, calendar, cancel and refund."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import zxingcpp
from PIL import Image
from sqlmodel import select

from booking.domain import order_changes
from booking.domain.tickets import reference
from booking.models import (
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
)
from booking.web.orders import LOOKUP_LIMIT
from tests.helpers import buy, csrf_from, ticket_types
from tests.mail.flows import pay


def _tickets(session, order):  # type: ignore[no-untyped-def]
    return session.exec(select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)).all()


def _mail(session, kind=None):  # type: ignore[no-untyped-def]
    rows = session.exec(select(MailOutbox).order_by(MailOutbox.id)).all()
    return [r for r in rows if kind in (None, r.kind)]


def _allow_cancel(session, event, hours=48):  # type: ignore[no-untyped-def]
    event.buyer_cancel_allowed = True
    event.buyer_cancel_cutoff_hours = hours
    session.add(event)
    session.commit()


def refund_id(standin):  # type: ignore[no-untyped-def]
    [made] = standin.events_of("refund.created")
    return made["data"]["object"]["id"]


def _paid(client, session, event, standin, n=2):  # type: ignore[no-untyped-def]
    standard, _ = ticket_types(session, event)
    return pay(client, session, event, standin, {standard.id: n})


def test_the_order_page_shows_tickets_with_qr_codes_privately(client, session, event, standin):
    order = _paid(client, session, event, standin)
    page = client.get(f"/orders/{order.token}")
    assert page.status_code == 200 and page.template.name == "public/order.html"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert (
        page.headers["x-robots-tag"] == "noindex"
        and '<meta name="robots" content="noindex">' in page.text
    )
    first, second = _tickets(session, order)
    for n, ticket in enumerate((first, second), start=1):
        assert f'alt="QR code for ticket {reference(ticket.code)}"' in page.text
        png = client.get(f"/orders/{order.token}/tickets/{n}.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.headers["cache-control"] == "no-store"
        image = Image.open(io.BytesIO(png.content))
        assert image.width == image.height >= 250
        assert zxingcpp.read_barcodes(image)[0].text == ticket.code
    assert client.get(f"/orders/{order.token}/tickets/3.png").status_code == 404
    assert "Turn your screen brightness up" in page.text
    assert "cannot be cancelled online" in page.text  # the organiser has not allowed it


def test_wrong_tokens_are_404_then_429_for_every_order_link(client, session, event, standin):
    order = _paid(client, session, event, standin, n=1)
    for _ in range(5):  # the right link, however often, counts for nothing
        assert client.get(f"/orders/{order.token}").status_code == 200
    odd = ["%01", "x" * 500, "%E2%80%AE", "a'--", "%20"]
    for n in range(LOOKUP_LIMIT):
        wrong = odd[n] if n < len(odd) else f"wrong-token-{n:04d}-xxxxxxxxxxxx"
        assert client.get(f"/orders/{wrong}").status_code == 404, wrong
    blocked = client.get("/orders/wrong%01again")
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    # While blocked, even the right link answers 429, so guessing learns nothing.
    assert client.get(f"/orders/{order.token}").status_code == 429
    assert client.get(f"/orders/{order.token}/calendar.ics").status_code == 429


def test_changing_a_name_keeps_the_code(client, session, event, standin):
    order = _paid(client, session, event, standin)
    first, _ = _tickets(session, order)
    form_page = client.get(f"/orders/{order.token}/tickets/1/name")
    assert form_page.status_code == 200 and 'value="Ada Lovelace"' in form_page.text
    token = csrf_from(client, f"/orders/{order.token}/tickets/1/name")
    url = f"/orders/{order.token}/tickets/1/name"

    empty = client.post(url, data={"csrf_token": token, "name": "   "})
    assert empty.status_code == 400 and "There is a problem" in empty.text
    assert "Enter the full name of the person using this ticket" in empty.text
    assert "<title>Error: " in empty.text
    long = client.post(url, data={"csrf_token": token, "name": "x" * 201})
    assert long.status_code == 400 and "200 characters or fewer" in long.text
    assert _tickets(session, order)[0].attendee_name == "Ada Lovelace"

    done = client.post(url, data={"csrf_token": token, "name": "  Grace\n <b>Hopper</b> "})
    assert done.status_code == 303 and done.headers["location"].endswith(
        f"/orders/{order.token}#ticket-1"
    )
    renamed, other = _tickets(session, order)
    assert renamed.attendee_name == "Grace <b>Hopper</b>" and renamed.code == first.code
    assert other.attendee_name == "Ada Lovelace"
    page = client.get(done.headers["location"])
    assert "The name on your ticket has been changed" in page.text
    assert "Grace &lt;b&gt;Hopper&lt;/b&gt;" in page.text and "<b>Hopper</b>" not in page.text
    assert "has been changed" not in client.get(f"/orders/{order.token}").text  # shown once


def test_resend_queues_the_email_again_three_times_an_hour(client, session, event, standin, clock):
    order = _paid(client, session, event, standin, n=1)
    token = csrf_from(client, f"/orders/{order.token}")
    for _ in range(order_changes.RESEND_LIMIT):
        response = client.post(f"/orders/{order.token}/resend", data={"csrf_token": token})
        assert response.status_code == 303
        clock.advance(seconds=1)
    page = client.get(f"/orders/{order.token}")
    assert "We've sent your confirmation email to ada@example.com again" in page.text
    resends = _mail(session, MailKind.RESEND)
    assert len(resends) == 3 and {r.recipient for r in resends} == {"ada@example.com"}
    assert len({r.dedupe_key for r in resends}) == 3

    refused = client.post(f"/orders/{order.token}/resend", data={"csrf_token": token})
    assert refused.status_code == 429 and "There is a problem" in refused.text
    assert "3 times in the last hour" in refused.text and 'href="#resend"' in refused.text
    assert len(_mail(session, MailKind.RESEND)) == 3
    clock.advance(hours=1)
    again = client.post(f"/orders/{order.token}/resend", data={"csrf_token": token})
    assert again.status_code == 303 and len(_mail(session, MailKind.RESEND)) == 4


def test_the_calendar_file_has_the_event_in_london_time(client, session, event, standin):
    order = _paid(client, session, event, standin)
    response = client.get(f"/orders/{order.token}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["cache-control"] == "no-store"
    [vevent] = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert vevent.decoded("dtstart") == event.starts_at.astimezone(ZoneInfo("Europe/London"))
    assert vevent["uid"] == f"order-{order.reference}@testserver"
    assert f"http://testserver/orders/{order.token}" in str(vevent["description"])
    assert "2 tickets" in str(vevent["description"])


def test_cancelling_before_the_cut_off_refunds_and_releases_the_seats(
    client, session, event, standin
):
    _allow_cancel(session, event)
    standard, _ = ticket_types(session, event)
    order = _paid(client, session, event, standin, n=5)  # every seat
    assert "Every ticket has gone" in client.get(f"/events/{event.slug}").text
    page = client.get(f"/orders/{order.token}")
    assert "Cancel this order" in page.text and "full refund of £50.00" in page.text

    confirm = client.get(f"/orders/{order.token}/cancel")
    assert (
        confirm.status_code == 200 and "Are you sure you want to cancel your order?" in confirm.text
    )
    assert "We'll refund £50.00" in confirm.text
    token = csrf_from(client, f"/orders/{order.token}/cancel")
    done = client.post(f"/orders/{order.token}/cancel", data={"csrf_token": token})
    assert done.status_code == 303

    order = session.exec(select(Order).where(Order.id == order.id)).one()
    assert order.status == OrderStatus.CANCELLED and order.status_reason == "buyer_cancelled"
    assert order.amount_refunded == 5000 and order.refund_due == 0
    assert {t.status for t in _tickets(session, order)} == {TicketStatus.CANCELLED}
    [refund] = [r for r in standin.requests() if r["path"] == "/v1/refunds"]
    [row] = session.exec(select(Refund).where(Refund.order_id == order.id)).all()
    assert (row.status, row.amount, row.stripe_refund_id) == ("succeeded", 5000, refund_id(standin))
    assert refund["idempotency_key"] == f"refund:{order.reference}:{row.id}"
    assert refund["params"]["payment_intent"] == order.stripe_payment_intent
    assert int(refund["params"]["amount"]) == 5000
    assert [r.kind for r in _mail(session)] == [MailKind.CONFIRMATION, MailKind.CANCELLED]

    page = client.get(done.headers["location"])
    assert "<h1>Order cancelled and refunded</h1>" in page.text
    assert re.search(
        r"This order was cancelled on \w+ \d+ \w+ \d{4}\. £50\.00 has been refunded", page.text
    )
    assert client.get(f"/orders/{order.token}/tickets/1.png").status_code == 404
    assert client.get(f"/orders/{order.token}/calendar.ics").status_code == 404
    # The seats are back on sale, and a second cancel changes nothing.
    assert buy(client, event, {standard.id: 5}).status_code == 303
    again = client.post(f"/orders/{order.token}/cancel", data={"csrf_token": token})
    assert again.status_code == 409
    assert len([r for r in standin.requests() if r["path"] == "/v1/refunds"]) == 1


def test_cancelling_after_the_cut_off_is_refused_and_changes_nothing(
    client, session, event, standin, clock
):
    _allow_cancel(session, event, hours=48)
    order = _paid(client, session, event, standin)
    clock.now = event.starts_at - timedelta(hours=47)
    page = client.get(f"/orders/{order.token}")
    assert "Online cancellation closed at" in page.text and "Cancel this order" not in page.text
    confirm = client.get(f"/orders/{order.token}/cancel")
    assert "This order cannot be cancelled online" in confirm.text and "<form" not in confirm.text
    token = csrf_from(client, f"/orders/{order.token}")
    refused = client.post(f"/orders/{order.token}/cancel", data={"csrf_token": token})
    assert refused.status_code == 409
    assert session.exec(select(Order)).one().status == OrderStatus.PAID
    assert {t.status for t in _tickets(session, order)} == {TicketStatus.VALID}
    assert not [r for r in standin.requests() if r["path"] == "/v1/refunds"]
    assert [r.kind for r in _mail(session)] == [MailKind.CONFIRMATION]


def test_a_failed_refund_is_left_for_the_refunds_job(client, session, event, standin):
    _allow_cancel(session, event)
    order = _paid(client, session, event, standin, n=1)
    standin.add_fault(path_prefix="/v1/refunds", method="POST", status=400, count=1)
    token = csrf_from(client, f"/orders/{order.token}")
    assert (
        client.post(f"/orders/{order.token}/cancel", data={"csrf_token": token}).status_code == 303
    )
    order = session.exec(select(Order)).one()
    assert order.status == OrderStatus.CANCELLED
    assert order.refund_due == 1000 and order.amount_refunded == 0
    page = client.get(f"/orders/{order.token}")
    assert "We are refunding £10.00 to your card" in page.text


def test_posts_to_orders_need_the_csrf_token(client, session, event, standin):
    order = _paid(client, session, event, standin, n=1)
    client.get(f"/orders/{order.token}")
    assert client.post(f"/orders/{order.token}/resend").status_code == 403
    assert client.post(f"/orders/{order.token}/cancel").status_code == 403
    assert _mail(session, MailKind.RESEND) == []
