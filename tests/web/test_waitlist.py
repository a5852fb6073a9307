"""The waiting list on the web: joining from a sold-out event page, the place page and
leaving, taking up an offer through Stripe, and releasing seats from the order page."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import select

from booking import checkout
from booking.domain import waitlist_offers
from booking.models import (
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.helpers import csrf_from, session_id_of
from tests.mail.flows import pay


def _order(session, order_id):  # type: ignore[no-untyped-def]
    return session.exec(select(Order).where(Order.id == order_id)).one()


def _join(client, event, email="wait@example.com", quantity="1", **extra):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf_from(client, f"/events/{event.slug}"),
        "wl-name": "Wanda Waiting",
        "wl-email": email,
        "wl-quantity": quantity,
        **extra,
    }
    return client.post(f"/events/{event.slug}/waitlist", data=form)


def _sold_out(client, session, event, standin):  # type: ignore[no-untyped-def]
    standard = session.exec(select(Order)).all()
    assert standard == []
    types = {t.name: t for t in event_types(session, event)}
    return pay(client, session, event, standin, {types["Standard"].id: 5})


def event_types(session, event):  # type: ignore[no-untyped-def]
    from tests.helpers import ticket_types

    return ticket_types(session, event)


def test_a_sold_out_event_offers_the_waiting_list_and_checks_the_form(
    client, session, event, standin
):  # type: ignore[no-untyped-def]
    page = client.get(f"/events/{event.slug}")
    assert "Join the waiting list" not in page.text
    _sold_out(client, session, event, standin)
    page = client.get(f"/events/{event.slug}")
    assert "Sold out, waiting list open" in page.text and 'id="waitlist"' in page.text
    bad = _join(client, event, email="not an email", quantity="99")
    assert bad.status_code == 400
    assert "Enter an email address in the correct format" in bad.text
    assert "Number of tickets must be 6 or fewer" in bad.text
    joined = _join(client, event)
    assert joined.status_code == 303
    place = client.get(joined.headers["location"])
    assert "You are number 1 in line" in place.text
    assert _join(client, event, email="WAIT@example.com").status_code == 400  # one per address
    mail = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.WAITLIST_JOINED)).one()
    assert mail.recipient == "wait@example.com"


def test_leaving_from_the_link(client, session, event, standin):  # type: ignore[no-untyped-def]
    _sold_out(client, session, event, standin)
    where = _join(client, event).headers["location"]
    token = csrf_from(client, where)
    left = client.post(where, data={"csrf_token": token})
    assert left.status_code == 303
    assert "You've left the waiting list" in client.get(where).text
    assert session.exec(select(WaitlistEntry)).one().status == WaitlistStatus.LEFT


def test_a_released_seat_is_offered_and_bought_through_the_offer_link(
    client, session, event, standin, app
):  # type: ignore[no-untyped-def]
    order = _sold_out(client, session, event, standin)
    _join(client, event)
    # The seller releases one ticket: the organisers allow no refunds, so it is offered on.
    release = client.get(f"/orders/{order.token}/release?ticket=1")
    assert "only if someone from the waiting list takes" in release.text
    done = client.post(
        f"/orders/{order.token}/release",
        data={"csrf_token": csrf_from(client, f"/orders/{order.token}"), "ticket": "1"},
    )
    assert done.status_code == 303
    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert sorted(t.status for t in tickets).count(TicketStatus.RETURNED) == 1
    entry = session.exec(select(WaitlistEntry)).one()
    assert entry.status == WaitlistStatus.OFFERED
    offer = _order(session, entry.offer_order_id)
    page = client.get(f"/offers/{offer.token}")
    assert "Seats are held for you" in page.text
    assert "Sold out, waiting list open" in client.get(f"/events/{event.slug}").text
    go = client.post(
        f"/offers/{offer.token}", data={"csrf_token": csrf_from(client, page.url.path)}
    )
    assert go.status_code == 303
    result = standin.pay(session_id_of(go), "4242424242424242")
    assert result.ok, result.error
    success = urlsplit(result.redirect_url)
    assert client.get(f"{success.path}?{success.query}").status_code == 303
    assert _order(session, offer.id).status == OrderStatus.PAID
    assert session.exec(select(WaitlistEntry)).one().status == WaitlistStatus.TAKEN
    # The seller's refund is sent by the refunds job.
    assert client.portal.call(checkout.settle_refunds, app.state.services) == 1
    assert _order(session, order.id).amount_refunded == 1000
    assert client.get(f"/offers/{offer.token}").status_code == 303  # used: to the order page


def test_an_offer_link_after_the_hold_lapsed_says_so(client, session, event, standin, clock):  # type: ignore[no-untyped-def]
    order = _sold_out(client, session, event, standin)
    _join(client, event)
    client.post(
        f"/orders/{order.token}/release",
        data={"csrf_token": csrf_from(client, f"/orders/{order.token}"), "ticket": "1"},
    )
    offer = _order(session, session.exec(select(WaitlistEntry)).one().offer_order_id)
    clock.advance(hours=waitlist_offers.MAX_OFFER_HOURS, seconds=1)
    page = client.get(f"/offers/{offer.token}")
    assert "This offer has lapsed" in page.text
