"""The waiting list: joining, offers held as orders, lapses, and seats released by holders."""

from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain import inventory, orders, resale, waitlist, waitlist_offers
from booking.domain.errors import InvalidInput, SoldOut
from booking.models import (
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.domain.test_orders import checkout_for, fulfil, reserve
from tests.factories import NOW, make_event, make_ticket_type


def join(db, event, email, quantity=1, type_id=None, now=NOW):  # type: ignore[no-untyped-def]
    request = waitlist.Request(email.split("@")[0].title(), email, quantity, type_id)
    with db.write_session() as s:
        return waitlist.join(s, event_id=event.id, request=request, now=now)


def offer(db, event, now=NOW):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return waitlist_offers.offer_free_seats(s, event_id=event.id, now=now)


def entry(session, e):  # type: ignore[no-untyped-def]
    return session.exec(select(WaitlistEntry).where(WaitlistEntry.id == e.id)).one()


def paid(db, event, quantities, ref="cs_test_p"):  # type: ignore[no-untyped-def]
    order = reserve(db, event, quantities)
    fulfil(db, checkout_for(db, order, ref))
    return order


def sold_out_room(db, session, *, price=1000, capacity=2, **fields):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=capacity, **fields)
    tt = make_ticket_type(session, event, price=price)
    return event, tt


def test_people_waiting_keep_freed_seats_from_new_buyers(db, session):
    event, tt = sold_out_room(db, session)
    first = reserve(db, event, {tt.id: 2})
    join(db, event, "wait@example.com")
    with db.write_session() as s:
        orders.release(s, order_id=first.id, now=NOW, note="cancelled by the buyer")
    # Two seats are free, but one is waited for: a buyer may have only the other.
    with pytest.raises(SoldOut):
        reserve(db, event, {tt.id: 2})
    assert reserve(db, event, {tt.id: 1}).status == OrderStatus.PENDING


def test_a_freed_seat_is_offered_as_a_hold_to_the_first_in_line(db, session):
    event, tt = sold_out_room(db, session, capacity=1)
    held = reserve(db, event, {tt.id: 1})
    a = join(db, event, "a@example.com")
    b = join(db, event, "b@example.com")
    assert offer(db, event) == 0  # nothing free yet
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    assert offer(db, event) == 1
    assert offer(db, event) == 0  # offered once, whoever asks again
    first, second = entry(session, a), entry(session, b)
    assert (first.status, second.status) == (WaitlistStatus.OFFERED, WaitlistStatus.WAITING)
    hold = session.get(Order, first.offer_order_id)
    assert hold.status == OrderStatus.PENDING and hold.waitlist_entry_id == a.id
    assert hold.expires_at == NOW + timedelta(hours=24)
    with db.session() as s:
        avail = inventory.availability(s, event=event, now=NOW, queue=False)
    assert avail.room_remaining == 0  # the offer counts against capacity like any hold
    mail = session.exec(select(MailOutbox).where(MailOutbox.order_id == hold.id)).one()
    assert mail.kind == MailKind.WAITLIST_OFFER and mail.recipient == "a@example.com"


def test_an_offer_not_taken_in_time_passes_to_the_next_person(db, session):
    event, tt = sold_out_room(db, session, capacity=1, waitlist_offer_hours=2)
    held = reserve(db, event, {tt.id: 1})
    a, b = join(db, event, "a@example.com"), join(db, event, "b@example.com")
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    offer(db, event)
    assert offer(db, event, now=NOW + timedelta(hours=1)) == 0
    assert offer(db, event, now=NOW + timedelta(hours=2)) == 1
    assert entry(session, a).status == WaitlistStatus.EXPIRED
    assert entry(session, b).status == WaitlistStatus.OFFERED


def test_taking_up_an_offer_gives_stripe_a_session_it_accepts_and_paying_takes_it(db, session):
    event, tt = sold_out_room(db, session, capacity=1, waitlist_offer_hours=24)
    held = reserve(db, event, {tt.id: 1})
    a = join(db, event, "a@example.com")
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    offer(db, event)
    token = session.get(Order, entry(session, a).offer_order_id).token
    with db.write_session() as s:
        taken = waitlist_offers.take_up(s, token=token, now=NOW)
    assert taken.expires_at == NOW + waitlist_offers.PAY_AT_MOST  # under Stripe's 24 hours
    late = NOW + timedelta(hours=23, minutes=50)
    with db.write_session() as s, s.begin():
        s.get(Order, taken.id).expires_at = late + timedelta(minutes=5)
    with db.write_session() as s:
        again = waitlist_offers.take_up(s, token=token, now=late)
    assert again.expires_at == late + waitlist_offers.PAY_AT_LEAST  # Stripe's 30 minutes
    fulfil(db, checkout_for(db, again, "cs_test_offer"), now=late)
    assert entry(session, a).status == WaitlistStatus.TAKEN
    with db.write_session() as s, pytest.raises(waitlist_offers.OfferClosed):
        waitlist_offers.take_up(s, token=token, now=late)


def test_one_entry_per_address_per_event_and_leaving_releases_the_offer(db, session):
    event, tt = sold_out_room(db, session, capacity=1)
    held = reserve(db, event, {tt.id: 1})
    a = join(db, event, "a@example.com")
    with pytest.raises(InvalidInput):
        join(db, event, "a@example.com")
    b = join(db, event, "b@example.com")
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    offer(db, event)
    with db.write_session() as s:
        waitlist.leave(s, token=a.token, now=NOW)
    assert entry(session, a).status == WaitlistStatus.LEFT
    assert entry(session, b).status == WaitlistStatus.OFFERED  # passed on at once
    again = join(db, event, "a@example.com")
    assert again.id == a.id and again.status == WaitlistStatus.WAITING


def test_organisers_pause_offer_by_hand_and_move_people_up(db, session, organiser):
    event, tt = sold_out_room(db, session, capacity=1)
    held = reserve(db, event, {tt.id: 1})
    a, b = join(db, event, "a@example.com"), join(db, event, "b@example.com")
    with db.write_session() as s:
        waitlist.configure(
            s, event_id=event.id, paused=True, hours_text="6", actor=organiser, now=NOW
        )
    with db.write_session() as s:
        waitlist.move_up(s, entry_id=b.id, actor=organiser, now=NOW)
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    assert offer(db, event) == 0  # paused
    with db.write_session() as s:
        rows = waitlist.rows(s, event_id=event.id, now=NOW)
    assert [(r.place, r.entry.email) for r in rows] == [(1, "b@example.com"), (2, "a@example.com")]
    with db.write_session() as s:
        made = waitlist_offers.offer_now(s, entry_id=a.id, actor=organiser, now=NOW)
    assert made.expires_at == NOW + timedelta(hours=6)
    with db.write_session() as s, pytest.raises(SoldOut):
        waitlist_offers.offer_now(s, entry_id=b.id, actor=organiser, now=NOW)


def test_a_released_free_seat_goes_to_the_list_at_once_and_stops_working(db, session):
    event, tt = sold_out_room(db, session, price=0, capacity=1)
    order = reserve(db, event, {tt.id: 1})
    with db.write_session() as s:
        orders.confirm_free(s, order_id=order.id, now=NOW, code_key=b"k" * 32)
    a = join(db, event, "a@example.com")
    with db.write_session() as s:
        done = resale.release(s, token=order.token, numbers=None, now=NOW)
    assert done.terms.kind == resale.FREE
    ticket = session.exec(select(Ticket).where(Ticket.order_id == order.id)).one()
    assert ticket.status == TicketStatus.RETURNED
    assert session.get(Order, order.id).status == OrderStatus.CANCELLED
    assert entry(session, a).status == WaitlistStatus.OFFERED


def test_a_paid_seat_without_refunds_is_refunded_only_when_the_list_takes_it(db, session):
    event, tt = sold_out_room(db, session, capacity=2)
    order = paid(db, event, {tt.id: 2})
    a = join(db, event, "a@example.com")
    with db.write_session() as s:
        done = resale.release(s, token=order.token, numbers={1}, now=NOW)
    assert (done.terms.kind, done.amount) == (resale.RESALE, 1000)
    assert session.exec(select(Refund).where(Refund.order_id == order.id)).all() == []
    offered = session.get(Order, entry(session, a).offer_order_id)
    fulfil(db, checkout_for(db, offered, "cs_test_taken"))
    refund = session.exec(select(Refund).where(Refund.order_id == order.id)).one()
    assert (refund.amount, refund.status) == (1000, "pending")
    assert session.get(Order, order.id).status == OrderStatus.PAID  # one ticket still works


def test_a_seat_the_buyer_may_cancel_is_refunded_when_released(db, session):
    event, tt = sold_out_room(db, session, capacity=2, buyer_cancel_allowed=True)
    order = paid(db, event, {tt.id: 2})
    with db.write_session() as s:
        done = resale.release(s, token=order.token, numbers=None, now=NOW)
    assert (done.terms.kind, done.amount) == (resale.REFUND, 2000)
    refund = session.exec(select(Refund).where(Refund.order_id == order.id)).one()
    assert refund.amount == 2000
    assert session.get(Order, order.id).status == OrderStatus.CANCELLED
    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert {(t.status, t.refund_id) for t in tickets} == {(TicketStatus.RETURNED, refund.id)}


def test_a_seller_whose_every_released_seat_is_taken_ends_cancelled_and_refunded(db, session):
    event, tt = sold_out_room(db, session, capacity=1)
    order = paid(db, event, {tt.id: 1})
    a = join(db, event, "a@example.com")
    with db.write_session() as s:
        resale.release(s, token=order.token, numbers=None, now=NOW)
    assert session.get(Order, order.id).status == OrderStatus.PAID  # no refund yet
    offered = session.get(Order, entry(session, a).offer_order_id)
    fulfil(db, checkout_for(db, offered, "cs_test_all"))
    seller = session.exec(select(Order).where(Order.id == order.id)).one()
    assert seller.status == OrderStatus.CANCELLED
    assert session.exec(select(Refund).where(Refund.order_id == order.id)).one().amount == 1000
