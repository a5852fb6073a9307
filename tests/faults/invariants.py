"""The invariants every fault test ends with, read from the database, the Stripe stand-in's
own records and what reached the SMTP server. Each function returns how many checks it made
and raises AssertionError naming the first that failed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import Session, col, select

from booking.models import (
    Event,
    MailKind,
    MailOutbox,
    Order,
    OrderStatus,
    OutboxStatus,
    Refund,
    Ticket,
    TicketStatus,
    TicketType,
)
from booking.stripe_standin import StandIn


def seats(session: Session, event: Event, now: datetime) -> int:
    """For each ticket type and the room: sold + held (unexpired) <= capacity."""
    rows = session.exec(
        select(Ticket.ticket_type_id, Ticket.status, Order.expires_at).join(
            Order, col(Order.id) == col(Ticket.order_id)
        )
    ).all()
    taken: Counter[int] = Counter()
    for type_id, status, expires_at in rows:
        if status == TicketStatus.VALID or (status == TicketStatus.HELD and expires_at > now):
            taken[type_id] += 1
    checks = 0
    for tt in session.exec(select(TicketType).where(TicketType.event_id == event.id)).all():
        if tt.capacity is not None:
            assert taken[tt.id] <= tt.capacity, f"{tt.name}: {taken[tt.id]} > {tt.capacity}"
            checks += 1
    if event.capacity is not None:
        assert sum(taken.values()) <= event.capacity, f"room: {dict(taken)} > {event.capacity}"
        checks += 1
    return checks


def standin_refunds(standin: StandIn) -> list[dict]:
    with standin.lock:
        return [dict(o) for o in standin.objects.values() if o.get("object") == "refund"]


def paid_sessions(standin: StandIn) -> list[dict]:
    with standin.lock:
        return [dict(r.obj) for r in standin.sessions.values() if r.obj["payment_status"] == "paid"]


def no_paid_order_lost(session: Session, standin: StandIn) -> int:
    """Every session Stripe says is paid has a paid order with tickets, or all its money
    back; and no order is paid that Stripe did not take money for."""
    made = standin_refunds(standin)
    refunded: Counter[str] = Counter()
    for refund in made:
        if refund["status"] in ("succeeded", "pending"):
            refunded[refund["payment_intent"]] += refund["amount"]
    checks = 0
    paid_ids = set()
    for cs in paid_sessions(standin):
        paid_ids.add(cs["id"])
        order = session.exec(select(Order).where(Order.stripe_session_id == cs["id"])).first()
        assert order is not None, f"paid session {cs['id']} has no order"
        valid = session.exec(
            select(Ticket).where(Ticket.order_id == order.id, Ticket.status == TicketStatus.VALID)
        ).all()
        if order.status == OrderStatus.PAID:
            assert valid and all(t.code for t in valid), f"{order.reference}: paid, no tickets"
        else:
            assert order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED), (
                f"{order.reference} paid at Stripe but {order.status}"
            )
            assert refunded[cs["payment_intent"]] == cs["amount_total"], (
                f"{order.reference}: {order.status}, refunded "
                f"{refunded[cs['payment_intent']]} of {cs['amount_total']}"
            )
            assert not valid
        checks += 1
    for order in session.exec(select(Order).where(Order.status == OrderStatus.PAID)).all():
        if order.total:
            assert order.stripe_session_id in paid_ids, f"{order.reference} paid without payment"
            checks += 1
    return checks


def refunds_once(session: Session, standin: StandIn, *, settled: bool) -> int:
    """No refund made twice at Stripe; money refunded <= paid; once the jobs have run, the
    ledger agrees with Stripe's own record of refunds, order by order."""
    made = standin_refunds(standin)
    per_row = Counter(r["metadata"].get("refund") for r in made)
    twice = {k: n for k, n in per_row.items() if n > 1}
    assert not twice, f"refunds made more than once at Stripe: {twice}"
    checks = 1
    by_intent: Counter[str] = Counter()
    for refund in made:
        by_intent[refund["payment_intent"]] += refund["amount"]
    ledger = {r.id: r for r in session.exec(select(Refund)).all()}
    for refund in made:
        row = ledger.get(int(refund["metadata"]["refund"]))
        assert row is not None, f"Stripe refund {refund['id']} has no ledger row"
        assert row.amount == refund["amount"], f"refund {row.id}: {row.amount} != Stripe's"
        checks += 1
    for order in session.exec(select(Order).where(col(Order.paid_at).is_not(None))).all():
        assert order.amount_refunded <= order.total, f"{order.reference} refunded > paid"
        stripe_total = by_intent[order.stripe_payment_intent or ""]
        assert stripe_total <= order.total, f"{order.reference}: Stripe refunded > paid"
        if settled:
            rows = [r for r in ledger.values() if r.order_id == order.id]
            assert all(r.status != "pending" for r in rows), f"{order.reference} still pending"
            succeeded = sum(r.amount for r in rows if r.status == "succeeded")
            assert succeeded == stripe_total, (
                f"{order.reference}: ledger {succeeded}, Stripe {stripe_total}"
            )
            assert order.amount_refunded == stripe_total, (
                f"{order.reference}: amount_refunded {order.amount_refunded}, Stripe {stripe_total}"
            )
        checks += 1
    return checks


def emails_once(session: Session, messages: list, *, resent_allowed: int = 0) -> tuple[int, int]:
    """Every email the outbox marked sent reached the server, none twice under different
    Message-IDs, nothing is left queued, and every order that was paid got its confirmation
    (or had it skipped because the order was cancelled before it went).

    A message the server accepted just before its sender was killed is sent again with the
    same Message-ID (delivery is at least once); such copies are counted, and must be no more
    than `resent_allowed`. Returns (checks, copies)."""
    arrived = Counter(str(m["Message-ID"]).strip() for m in messages)
    rows = session.exec(select(MailOutbox)).all()
    by_id = {r.message_id: r for r in rows if r.message_id}
    checks = 0
    for message_id in arrived:
        assert message_id in by_id, f"{message_id} arrived but no outbox row has it"
        checks += 1
    for row in rows:
        assert row.status in (OutboxStatus.SENT, OutboxStatus.SKIPPED), (
            f"email {row.id} ({row.dedupe_key}) left {row.status}: {row.last_error}"
        )
        if row.status == OutboxStatus.SENT:
            assert arrived[row.message_id] >= 1, f"email {row.dedupe_key} marked sent, not received"
        checks += 1
    copies = sum(n - 1 for n in arrived.values())
    assert copies <= resent_allowed, f"{copies} emails arrived twice: {arrived.most_common(3)}"
    confirmations = Counter(
        r.order_id
        for r in rows
        if r.kind == MailKind.CONFIRMATION and r.status == OutboxStatus.SENT
    )
    for order in session.exec(select(Order).where(col(Order.paid_at).is_not(None))).all():
        if order.status == OrderStatus.PAID:
            assert confirmations[order.id] == 1, f"{order.reference}: {confirmations[order.id]}"
        else:
            assert confirmations[order.id] <= 1
        checks += 1
    return checks, copies
