"""An entry on the waiting list has one open offer at a time, and its status follows that
offer: found by the order-life machine (tests/model)."""

from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain import waitlist, waitlist_offers
from booking.domain.errors import InvalidInput
from booking.models import Order, OrderStatus, WaitlistEntry, WaitlistStatus
from tests.domain.test_orders import checkout_for, fulfil
from tests.domain.test_waitlist import join, offer, sold_out_room
from tests.factories import NOW


def fresh(session, entry_id):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(WaitlistEntry, entry_id)


def offers_to(session, entry_id):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.exec(
        select(Order).where(Order.waitlist_entry_id == entry_id).order_by(col(Order.id))
    ).all()


def test_leaving_while_paying_for_an_offer_then_joining_again_waits_for_that_offer(db, session):
    event, _ = sold_out_room(db, session, capacity=3)
    a = join(db, event, "a@example.com")  # seats are free: offered at once
    [first] = offers_to(session, a.id)
    with db.write_session() as s:
        taken = waitlist_offers.take_up(s, token=first.token, now=NOW)
    checkout_for(db, taken, "cs_test_paying")  # on Stripe's page
    with db.write_session() as s:
        waitlist.leave(s, token=a.token, now=NOW)  # the hold runs its course
    with pytest.raises(InvalidInput):
        join(db, event, "a@example.com")  # not a second hold while paying for the first
    assert [o.id for o in offers_to(session, a.id)] == [first.id]
    assert fresh(session, a.id).status == WaitlistStatus.LEFT
    after = taken.expires_at + timedelta(minutes=1)
    assert join(db, event, "a@example.com", now=after).status == WaitlistStatus.OFFERED


def test_an_old_offer_paid_late_leaves_the_entry_with_its_new_offer(db, session):
    event, _ = sold_out_room(db, session, capacity=3, waitlist_offer_hours=1)
    a = join(db, event, "a@example.com")
    [first] = offers_to(session, a.id)
    with db.write_session() as s:
        waitlist_offers.take_up(s, token=first.token, now=NOW)
    stripe_page = checkout_for(db, first, "cs_test_old")  # still open in Stripe
    later = NOW + timedelta(hours=2)
    offer(db, event, now=later)
    assert fresh(session, a.id).status == WaitlistStatus.EXPIRED
    join(db, event, "a@example.com", now=later)
    _, second = offers_to(session, a.id)
    fulfil(db, stripe_page, now=later)  # paid late, with seats free: confirmed
    old, new = offers_to(session, a.id)
    assert (old.status, new.status) == (OrderStatus.PAID, OrderStatus.PENDING)
    now_ = fresh(session, a.id)
    assert (now_.status, now_.offer_order_id) == (WaitlistStatus.OFFERED, second.id)
