from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import select

from booking.domain import inventory, orders, tickets
from booking.domain.errors import EventCancelled, InvalidInput, SalesClosed, SoldOut
from booking.models import (
    AuditEntry,
    EventStatus,
    Order,
    OrderHistory,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
)
from tests.factories import NOW, make_event, make_ticket_type

HOLD = timedelta(minutes=31)
KEY = tickets.derive_key("k" * 40, "tickets")
BUYER = orders.Buyer("Ada Lovelace", "ada@example.com")


@dataclass
class FakeCheckout:
    """What Stripe reports of a session (the real one comes from booking.payments)."""

    id: str
    amount_total: int
    client_reference_id: str | None = None
    status: str = "complete"
    payment_status: str = "paid"
    currency: str = "gbp"
    payment_intent: str | None = "pi_123"


def reserve(db, event, quantities, now=NOW):
    with db.write_session() as s:
        return orders.reserve(
            s, event_id=event.id, quantities=quantities, buyer=BUYER, now=now, hold=HOLD
        )


def checkout_for(db, order, session_id="cs_test_1", **over):
    with db.write_session() as s:
        orders.attach_checkout(s, order_id=order.id, checkout_session_id=session_id)
    return FakeCheckout(
        id=session_id, amount_total=order.total, client_reference_id=order.reference, **over
    )


def fulfil(db, checkout, now=NOW):
    with db.write_session() as s:
        return orders.fulfil(s, checkout=checkout, now=now, code_key=KEY)


def taken(db, event, now=NOW):
    with db.session() as s:
        return sum(inventory.taken_by_type(s, event_id=event.id, now=now).values())


def test_reserve_holds_seats_and_snapshots_prices(db, session):
    event = make_event(session, capacity=10)
    standard = make_ticket_type(session, event, price=1000)
    concession = make_ticket_type(session, event, price=500, name="Concession")
    order = reserve(db, event, {standard.id: 2, concession.id: 1})
    assert order.total == 2500 and order.currency == "GBP"
    assert order.status == OrderStatus.PENDING
    assert order.expires_at == NOW + HOLD
    assert len(order.token) >= 32  # 192 bits, URL-safe
    assert taken(db, event) == 3


def test_reserve_refuses_more_than_remain_and_writes_nothing(db, session):
    event = make_event(session, capacity=3)
    tt = make_ticket_type(session, event)
    reserve(db, event, {tt.id: 2})
    with pytest.raises(SoldOut, match="Only 1 Standard tickets are left"):
        reserve(db, event, {tt.id: 2})
    assert len(session.exec(select(Order)).all()) == 1
    assert len(session.exec(select(Ticket)).all()) == 2


def test_room_capacity_is_shared_between_types(db, session):
    event = make_event(session, capacity=3)
    a = make_ticket_type(session, event, name="A")
    b = make_ticket_type(session, event, name="B")
    reserve(db, event, {a.id: 3})
    with pytest.raises(SoldOut, match="sold out"):
        reserve(db, event, {b.id: 1})


def test_per_type_cap_inside_the_room(db, session):
    event = make_event(session, capacity=100)
    members = make_ticket_type(session, event, name="Members", capacity=1)
    reserve(db, event, {members.id: 1})
    with pytest.raises(SoldOut):
        reserve(db, event, {members.id: 1})


@pytest.mark.parametrize(
    ("quantities", "field"),
    [({}, "quantity"), ("over_max", "qty-")],
)
def test_bad_quantities_are_named(db, session, quantities, field):
    event = make_event(session)
    tt = make_ticket_type(session, event, max_per_order=4)
    wanted = {tt.id: 5} if quantities == "over_max" else quantities
    with pytest.raises(InvalidInput) as info:
        reserve(db, event, wanted)
    assert any(k.startswith(field) for k in info.value.errors)
    if quantities == "over_max":
        assert "must be 4 or fewer" in next(iter(info.value.errors.values()))


def test_closed_sales_and_cancelled_events_sell_nothing(db, session):
    event = make_event(session)
    later = make_ticket_type(session, event, sales_start=NOW + timedelta(days=1))
    with pytest.raises(SalesClosed):
        reserve(db, event, {later.id: 1})
    cancelled = make_event(session, status=EventStatus.CANCELLED)
    tt = make_ticket_type(session, cancelled)
    with pytest.raises(EventCancelled):
        reserve(db, cancelled, {tt.id: 1})


def test_a_lapsed_hold_returns_its_seats_without_any_sweep(db, session):
    event = make_event(session, capacity=2)
    tt = make_ticket_type(session, event)
    reserve(db, event, {tt.id: 2})
    assert taken(db, event, now=NOW + HOLD - timedelta(seconds=1)) == 2
    assert taken(db, event, now=NOW + HOLD) == 0
    reserve(db, event, {tt.id: 2}, now=NOW + HOLD)  # the seats sell again


def test_fulfil_issues_signed_tickets_once(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 2})
    checkout = checkout_for(db, order)
    first = fulfil(db, checkout)
    second = fulfil(db, checkout)
    assert first.outcome == "paid" and second.outcome == "already_paid"
    issued = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert [t.status for t in issued] == [TicketStatus.VALID] * 2
    assert all(tickets.verify(t.code, KEY) for t in issued)
    assert len({t.code for t in issued}) == 2
    history = session.exec(select(OrderHistory).where(OrderHistory.order_id == order.id)).all()
    assert [h.status for h in history] == ["pending", "paid"]


@pytest.mark.parametrize(
    "change",
    [{"amount_total": 1}, {"currency": "eur"}, {"client_reference_id": "OTHER-ORDER"}],
)
def test_a_payment_that_does_not_match_is_refunded_in_full_never_dropped(db, session, change):
    """The buyer has paid: no tickets against a payment that is not the order's, and the
    money they paid goes back in full, through the refunds ledger, once."""
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 1})
    checkout = checkout_for(db, order)
    for key, value in change.items():
        setattr(checkout, key, value)
    first = fulfil(db, checkout)
    again = fulfil(db, checkout)
    assert first.outcome == again.outcome == "payment_mismatch_refund"
    order = session.get(Order, order.id)
    assert order.status == OrderStatus.REFUNDED and order.status_reason == "payment_mismatch"
    assert order.stripe_payment_intent == "pi_123"
    owed = session.exec(select(Refund).where(Refund.order_id == order.id)).all()
    assert [(r.amount, r.currency, r.status) for r in owed] == [
        (checkout.amount_total, checkout.currency.upper(), "pending")
    ]
    assert {t.status for t in session.exec(select(Ticket)).all()} == {TicketStatus.RELEASED}
    entries = session.exec(select(AuditEntry).where(AuditEntry.action == "order.payment_mismatch"))
    assert len(entries.all()) == 1
    assert taken(db, event) == 0  # the seats are free again


def test_an_unpaid_session_that_does_not_match_changes_nothing(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 1})
    checkout = checkout_for(db, order, payment_status="unpaid")
    checkout.amount_total = 1
    assert fulfil(db, checkout).outcome == "awaiting_payment"
    assert session.get(Order, order.id).status == OrderStatus.PENDING
    assert session.exec(select(Refund)).all() == []


def test_unpaid_delayed_payment_waits(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 1})
    checkout = checkout_for(db, order, payment_status="unpaid")
    assert fulfil(db, checkout).outcome == "awaiting_payment"


def test_paid_after_lapse_with_seats_left_is_confirmed(db, session):
    event = make_event(session, capacity=5)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 2})
    checkout = checkout_for(db, order)
    with db.write_session() as s:
        orders.release(s, order_id=order.id, now=NOW + HOLD, note="hold lapsed")
    result = fulfil(db, checkout, now=NOW + HOLD + timedelta(minutes=1))
    assert result.outcome == "paid"
    assert taken(db, event, now=NOW + HOLD + timedelta(minutes=2)) == 2


def test_paid_after_lapse_when_sold_out_is_refunded(db, session):
    event = make_event(session, capacity=2)
    tt = make_ticket_type(session, event)
    late = reserve(db, event, {tt.id: 2})
    checkout = checkout_for(db, late)
    later = NOW + HOLD + timedelta(minutes=1)
    reserve(db, event, {tt.id: 2}, now=later)  # someone else takes the seats
    result = fulfil(db, checkout, now=later)
    assert result.outcome == "sold_out_refund"
    order = session.get(Order, late.id)
    assert order.status == OrderStatus.REFUNDED and order.status_reason == "sold_out"
    assert order.refund_due == order.total
    assert taken(db, event, now=later) == 2  # never oversold


def test_release_is_idempotent_and_never_touches_paid_orders(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 1})
    with db.write_session() as s:
        assert orders.release(s, order_id=order.id, now=NOW, note="cancel") is True
    with db.write_session() as s:
        assert orders.release(s, order_id=order.id, now=NOW, note="cancel") is False
    paid = reserve(db, event, {tt.id: 1})
    fulfil(db, checkout_for(db, paid, session_id="cs_test_2"))
    with db.write_session() as s:
        assert orders.release(s, order_id=paid.id, now=NOW, note="cancel") is False
    assert session.get(Order, paid.id).status == OrderStatus.PAID


def test_free_orders_are_confirmed_at_once(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event, price=0)
    order = reserve(db, event, {tt.id: 2})
    with db.write_session() as s:
        confirmed = orders.confirm_free(s, order_id=order.id, now=NOW, code_key=KEY)
    assert confirmed.status == OrderStatus.PAID


def test_lapsed_holds_lists_only_pending_past_their_time(db, session):
    event = make_event(session)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 1})
    with db.session() as s:
        assert orders.lapsed_holds(s, now=NOW) == []
        assert [o.id for o in orders.lapsed_holds(s, now=NOW + HOLD)] == [order.id]


def test_a_code_differing_only_in_its_padding_bits_is_refused():
    code = tickets.new_code(KEY)
    last = tickets.ALPHABET.index(code[-1])
    twin = code[:-1] + tickets.ALPHABET[last ^ 1]  # flips one of the 2 unused low bits
    assert tickets.verify(code, KEY) and not tickets.verify(twin, KEY)


def test_paid_after_the_event_was_cancelled_is_refunded(db, session):
    event = make_event(session, capacity=5)
    tt = make_ticket_type(session, event)
    order = reserve(db, event, {tt.id: 2})
    checkout = checkout_for(db, order)
    event.status = EventStatus.CANCELLED
    session.add(event)
    session.commit()
    result = fulfil(db, checkout)
    assert result.outcome == "event_cancelled_refund"
    refunded = session.exec(select(Order).where(Order.id == order.id)).one()
    assert refunded.status == OrderStatus.REFUNDED and refunded.status_reason == "event_cancelled"
    assert refunded.refund_due == refunded.total
    assert all(
        t.code is None for t in session.exec(select(Ticket).where(Ticket.order_id == order.id))
    )
