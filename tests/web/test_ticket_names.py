"""Names per ticket on the buy form: optional, the buyer's name by default, and each name
reaching its ticket's email and the door screen."""

from __future__ import annotations

from sqlmodel import col, select

from booking.domain import checkin
from booking.domain.tickets import derive_key
from booking.models import Order, Ticket
from tests.conftest import TEST_SECRET
from tests.factories import make_event, make_ticket_type
from tests.helpers import csrf_from
from tests.mail.flows import deliver, sender


def _free_event(session):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=None)
    free = make_ticket_type(session, event, name="Free", price=0, max_per_order=4)
    return event, free


def _book(client, event, form):  # type: ignore[no-untyped-def]
    token = csrf_from(client, f"/events/{event.slug}")
    data = {"csrf_token": token, "name": "Ada Lovelace", "email": "ada@example.com", **form}
    return client.post(f"/events/{event.slug}/checkout", data=data)


def _tickets(session, order_id):  # type: ignore[no-untyped-def]
    return session.exec(
        select(Ticket).where(Ticket.order_id == order_id).order_by(col(Ticket.id))
    ).all()


def test_the_form_offers_names_collapsed_and_a_single_type_starts_at_one(client, session):
    event, free = _free_event(session)
    html = client.get(f"/events/{event.slug}").text
    assert '<details class="ticket-names">' in html  # closed
    assert "Add a name to each ticket" in html
    assert html.count('name="attendee-') == 4  # up to the order's maximum
    assert f'name="qty-{free.id}"' in html and 'value="1"' in html
    # A free event: no hold and no card payment to speak of.
    assert "We'll hold your tickets" not in html
    assert "handled by Stripe" not in html
    assert "Book tickets" in html


def test_names_reach_the_tickets_the_email_and_the_door(
    client, session, smtp, settings, db, clock, staff
):
    event, free = _free_event(session)
    response = _book(
        client,
        event,
        {f"qty-{free.id}": "3", "attendee-2": "  Charles   Babbage ", "attendee-3": ""},
    )
    assert response.status_code == 303, response.text
    order = session.exec(select(Order)).one()
    tickets = _tickets(session, order.id)
    assert [t.attendee_name for t in tickets] == ["Ada Lovelace", "Charles Babbage", "Ada Lovelace"]
    assert order.buyer_name == "Ada Lovelace"

    assert deliver(sender(smtp.settings_for(settings), db, clock)).sent == 1
    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Charles Babbage" in text and "Charles Babbage" in html
    assert message["To"].addresses[0].display_name == "Ada Lovelace"

    with db.write_session() as ws:
        outcome = checkin.admit(
            ws,
            event_id=event.id,
            code=tickets[1].code,
            nonce="n-1",
            device="phone-1",
            by=staff,
            now=clock(),
            key=derive_key(TEST_SECRET, "tickets"),
        )
    assert outcome.result == "admitted" and outcome.ticket.name == "Charles Babbage"


def test_a_name_for_a_ticket_not_chosen_is_refused_and_kept(client, session):
    event, free = _free_event(session)
    response = _book(client, event, {f"qty-{free.id}": "1", "attendee-2": "Charles Babbage"})
    assert response.status_code == 400
    assert "You chose 1 ticket: clear the name on ticket 2 or choose more tickets" in response.text
    assert 'href="#attendee-2"' in response.text
    assert 'value="Charles Babbage"' in response.text
    assert '<details class="ticket-names" open>' in response.text
    assert session.exec(select(Order)).all() == []


def test_an_overlong_name_is_refused(client, session):
    event, free = _free_event(session)
    response = _book(client, event, {f"qty-{free.id}": "2", "attendee-1": "x" * 201})
    assert response.status_code == 400
    assert "Name on ticket 1 must be 200 characters or fewer" in response.text


def test_a_paid_event_says_how_payment_works_once(client, session):
    event = make_event(session)
    make_ticket_type(session, event, price=1000)
    make_ticket_type(session, event, name="Concession", price=500)
    html = client.get(f"/events/{event.slug}").text
    assert html.count("handled by Stripe") == 1
    assert "We'll hold your tickets for 31 minutes while you pay." in html
    assert "Continue to payment" in html
    assert 'value="1"' not in html  # two types: the reader chooses


def test_names_fill_tickets_in_order_and_blanks_are_the_buyers():
    from booking.domain import orders

    names, errors = orders.validate_ticket_names({2: " Bea  Brown ", 1: ""}, tickets=3)
    assert (names, errors) == (("", "Bea Brown", ""), {})
    buyer = orders.Buyer("Ada", "ada@example.com", ticket_names=names)
    assert [buyer.name_for(i) for i in range(4)] == ["Ada", "Bea Brown", "Ada", "Ada"]
    _, errors = orders.validate_ticket_names({4: "Dee"}, tickets=3)
    assert errors == {
        "attendee-4": "You chose 3 tickets: clear the name on ticket 4 or choose more tickets"
    }
