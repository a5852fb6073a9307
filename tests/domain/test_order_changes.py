"""Buyers changing their own orders: names, resends, cancellation and its cut-off."""

from datetime import timedelta

import pytest
from sqlmodel import select

from booking import ratelimit
from booking.domain import order_changes, orders, refunds
from booking.domain.errors import InvalidInput, NotFound
from booking.models import EventStatus, MailOutbox, Order, OrderStatus, Ticket, TicketStatus
from tests.domain.test_orders import KEY, reserve
from tests.factories import NOW, make_event, make_ticket_type


def _free_order(db, session, **event_fields):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=2, **event_fields)
    free = make_ticket_type(session, event, price=0, name="Free ticket")
    order = reserve(db, event, {free.id: 2})
    with db.write_session() as s:
        orders.confirm_free(s, order_id=order.id, now=NOW, code_key=KEY)
    return event, free, session.exec(select(Order).where(Order.id == order.id)).one()


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("  Ada   Lovelace ", "Ada Lovelace"),
        ("Siân O'Brien-Ćosić 3rd", "Siân O'Brien-Ćosić 3rd"),
        ("Eve\r\nBcc: x@example.com", "Eve Bcc: x@example.com"),
        ("Nul\x00l\x1b[2J", "Null[2J"),
    ],
)
def test_names_are_cleaned_but_every_real_character_is_kept(raw, name):
    assert order_changes.clean_name(raw) == (name, {})


def test_cancel_policy_follows_the_event_and_its_cut_off(db, session):
    event, _, order = _free_order(db, session)
    policy = order_changes.cancel_policy(order, event, now=NOW)
    assert (policy.allowed, policy.reason) == (False, "not_offered")
    event.buyer_cancel_allowed = True
    event.buyer_cancel_cutoff_hours = 24
    deadline = event.starts_at - timedelta(hours=24)
    just_before = order_changes.cancel_policy(order, event, now=deadline - timedelta(seconds=1))
    assert just_before.allowed and just_before.deadline == deadline
    assert order_changes.cancel_policy(order, event, now=deadline).reason == "past_cutoff"
    event.status = EventStatus.CANCELLED
    assert order_changes.cancel_policy(order, event, now=NOW).reason == "event_cancelled"


def test_cancelling_a_free_order_frees_the_seats_without_a_refund(db, session):
    event, free, order = _free_order(db, session, buyer_cancel_allowed=True)
    with pytest.raises(Exception):  # noqa: B017 (sold out: both seats are taken)
        reserve(db, event, {free.id: 1})
    with db.write_session() as s:
        cancelled = order_changes.cancel_by_buyer(s, token=order.token, now=NOW)
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.refund_due == 0
    tickets = session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()
    assert {t.status for t in tickets} == {TicketStatus.CANCELLED}
    assert reserve(db, event, {free.id: 2}).status == OrderStatus.PENDING
    with db.write_session() as s, pytest.raises(order_changes.CancelNotAllowed):
        order_changes.cancel_by_buyer(s, token=order.token, now=NOW)
    kinds = [r.kind for r in session.exec(select(MailOutbox).order_by(MailOutbox.id)).all()]
    assert kinds == ["confirmation", "cancelled"]


def test_renaming_refuses_bad_names_unknown_tickets_and_finished_events(db, session):
    event, _, order = _free_order(db, session)
    with db.write_session() as s:
        with pytest.raises(InvalidInput):
            order_changes.rename_ticket(s, token=order.token, number=1, name="\t", now=NOW)
        with pytest.raises(NotFound):
            order_changes.rename_ticket(s, token=order.token, number=3, name="Ada", now=NOW)
        with pytest.raises(NotFound):
            order_changes.rename_ticket(s, token="nope", number=1, name="Ada", now=NOW)
        with pytest.raises(order_changes.NotChangeable):
            order_changes.rename_ticket(
                s, token=order.token, number=1, name="Ada", now=event.ends_at
            )
        ticket = order_changes.rename_ticket(
            s, token=order.token, number=2, name="Grace Hopper", now=NOW
        )
    assert ticket.attendee_name == "Grace Hopper"


def test_resends_are_limited_per_order(db, session):
    _, _, order = _free_order(db, session)
    with db.write_session() as s:
        for _ in range(order_changes.RESEND_LIMIT):
            order_changes.request_resend(s, token=order.token, now=NOW)
        with pytest.raises(ratelimit.RateLimited):
            order_changes.request_resend(s, token=order.token, now=NOW)
        order_changes.request_resend(s, token=order.token, now=NOW + timedelta(hours=1))
    assert len(session.exec(select(MailOutbox)).all()) == 1 + order_changes.RESEND_LIMIT + 1


@pytest.mark.parametrize("webhook_first", [True, False])
def test_a_cancel_refund_is_counted_once_whichever_record_comes_first(db, session, webhook_first):
    event, _, order = _free_order(db, session, buyer_cancel_allowed=True)
    with db.write() as s:  # make it a paid £20 order, as Stripe would have seen it
        paid = s.get(Order, order.id)
        paid.total, paid.stripe_payment_intent = 2000, "pi_test_1"
    with db.write_session() as s:
        order_changes.cancel_by_buyer(s, token=order.token, now=NOW)

    def webhook() -> None:
        with db.write_session() as s:
            orders.record_charge_refunded(
                s, payment_intent="pi_test_1", amount_refunded=2000, now=NOW
            )

    [pending] = refunds.for_order(session, order_id=order.id)
    assert (pending.status, pending.amount) == ("pending", 2000)

    def ours() -> None:
        with db.write_session() as s:
            refunds.mark_succeeded(
                s, refund_id=pending.id, stripe_refund_id="re_1", amount=2000, now=NOW
            )

    for step in (webhook, ours, ours) if webhook_first else (ours, webhook, ours):
        step()
    final = session.exec(select(Order).where(Order.id == order.id)).one()
    assert (final.amount_refunded, final.refund_due) == (2000, 0)
    assert final.status == OrderStatus.CANCELLED
