"""A payment that arrives after its hold lapsed counts against its access code's use limit,
as the hold did (found by the order-life machine, tests/model/)."""

from datetime import timedelta

from sqlmodel import select

from booking.domain import access_codes, orders
from booking.models import AccessCode, Order, OrderStatus
from tests.domain.test_orders import BUYER, HOLD, checkout_for, fulfil
from tests.factories import NOW, make_event, make_ticket_type


def hold_with_code(db, event, tt, qty, now):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return orders.reserve(
            s,
            event_id=event.id,
            quantities={tt.id: qty},
            buyer=BUYER,
            now=now,
            hold=HOLD,
            attribution=orders.Attribution(code="MEMBERS"),
        )


def test_a_late_payment_past_the_code_limit_is_refunded_not_confirmed(db, session):
    event = make_event(session, capacity=100)  # plenty of seats: only the code is short
    tt = make_ticket_type(session, event, price=1000)
    with db.write_session() as s:
        access_codes.create(s, event_id=event.id, code="MEMBERS", discount_amount=200, max_uses=3)
    late = hold_with_code(db, event, tt, 1, NOW)
    checkout = checkout_for(db, late)
    later = NOW + HOLD + timedelta(minutes=1)
    hold_with_code(db, event, tt, 3, later)  # the lapsed hold's use went to someone else
    result = fulfil(db, checkout, now=later)
    assert result.outcome == "sold_out_refund"
    order = session.get(Order, late.id)
    assert order.status == OrderStatus.REFUNDED and order.refund_due == order.total
    with db.session() as s:
        code = s.exec(select(AccessCode)).one()
        assert access_codes.uses(s, access_code_id=code.id, now=later) == 3
