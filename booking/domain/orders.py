"""Orders: hold seats, fulfil once, release lapsed holds, settle refunds.

Locking rule: every change that uses up capacity takes `db.lock(session, event_id)` once,
just before it checks availability, inside the transaction that writes (see booking/db.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Table, and_, bindparam, or_, update
from sqlmodel import Session, col, select

from booking import changes
from booking.db import lock, lock_reading
from booking.domain import access_codes, audit, inventory, outbox, refunds, tickets
from booking.domain.errors import (
    EventCancelled,
    InvalidInput,
    NotFound,
)
from booking.domain.inventory import availability
from booking.models import (
    AccessCode,
    AccessPlace,
    Event,
    EventStatus,
    MailKind,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Ticket,
    TicketStatus,
    TicketType,
)

# How long a new hold may wait for its Checkout Session before the sweeper takes it back:
# well past the Stripe client's timeout with its retries (10 s, three tries).
UNSTARTED_GRACE = timedelta(minutes=2)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200


MISMATCH = "payment_mismatch"  # status_reason of an order refunded for a mismatched payment


@dataclass(frozen=True)
class Buyer:
    name: str
    email: str
    # Names for the order's tickets, in the order they are made; a blank one is the buyer's.
    ticket_names: tuple[str, ...] = ()

    def name_for(self, index: int) -> str:
        """The name on the order's ticket number `index` (from 0)."""
        given = self.ticket_names[index] if index < len(self.ticket_names) else ""
        return given or self.name


class PaidCheckout(Protocol):
    """What fulfilment needs to know of a Stripe Checkout Session, read back from Stripe."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def payment_status(self) -> str: ...
    @property
    def amount_total(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def client_reference_id(self) -> str | None: ...
    @property
    def payment_intent(self) -> str | None: ...


@dataclass(frozen=True)
class Fulfilment:
    order: Order
    # paid, already_paid, awaiting_payment, sold_out_refund, event_cancelled_refund,
    # payment_mismatch_refund, closed
    outcome: str

    @property
    def newly_paid(self) -> bool:
        return self.outcome == "paid"


# The start of an RFC 2047 encoded-word: no name has it, and mail software may decode what
# follows it into a line break (see booking.mail.message).
ENCODED_WORD = "=?"
NO_ENCODED_WORD = "Full name must not contain =? (an equals sign followed by a question mark)"


def validate_buyer(name: str, email: str) -> tuple[Buyer, dict[str, str]]:
    name = " ".join(name.split())
    email = email.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter your full name"
    elif len(name) > MAX_NAME:
        errors["name"] = f"Full name must be {MAX_NAME} characters or fewer"
    elif ENCODED_WORD in name:
        errors["name"] = NO_ENCODED_WORD
    if not email:
        errors["email"] = "Enter your email address"
    elif len(email) > 254 or not EMAIL_RE.match(email) or ENCODED_WORD in email:
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    return Buyer(name, email), errors


def validate_ticket_names(
    raw: dict[int, str], *, tickets: int
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Optional names for tickets 1, 2, … (field number -> text) to names in ticket order.

    A name for a ticket number beyond `tickets` is an error, so no typed name is dropped.
    """
    names = {n: " ".join(text.split()) for n, text in raw.items()}
    errors: dict[str, str] = {}
    for n, name in sorted(names.items()):
        if not name:
            continue
        if len(name) > MAX_NAME:
            errors[f"attendee-{n}"] = f"Name on ticket {n} must be {MAX_NAME} characters or fewer"
        elif n > tickets:
            noun = "ticket" if tickets == 1 else "tickets"
            errors[f"attendee-{n}"] = (
                f"You chose {tickets} {noun}: clear the name on ticket {n} or choose more tickets"
            )
    return tuple(names.get(n, "") for n in range(1, tickets + 1)), errors


def parse_quantities(raw: dict[int, str]) -> tuple[dict[int, int], dict[str, str]]:
    """Form text to quantities per ticket type id; blanks are zero."""
    quantities: dict[int, int] = {}
    errors: dict[str, str] = {}
    for type_id, text in raw.items():
        text = text.strip()
        if not text:
            continue
        if not re.fullmatch(r"[0-9]{1,4}", text):  # not isdigit(): "²" and "①" pass it
            errors[f"qty-{type_id}"] = "Enter the number of tickets as a whole number, like 2"
            continue
        if int(text) > 0:
            quantities[type_id] = int(text)
    return quantities, errors


@dataclass(frozen=True)
class Attribution:
    """Where an order came from, and the access or discount code the buyer gave."""

    promo_link_id: int | None = None
    source: str = ""
    code: str = ""


def quantity_errors(
    types: Mapping[int, TicketType],
    quantities: dict[int, int],
    *,
    unlocked: Collection[int | None] | None = None,
) -> dict[str, str]:
    """Unknown or hidden (and not unlocked) ticket types, and quantities over the maximum."""
    errors: dict[str, str] = {}
    for type_id, qty in quantities.items():
        tt = types.get(type_id)
        if (
            tt is None
            or not (tt.visible or type_id in (unlocked or set()))
            or tt.access_place == AccessPlace.COMPANION  # only ever with a wheelchair space
        ):
            errors["quantity"] = "Select tickets from the list"
        elif qty > tt.max_per_order:
            errors[f"qty-{type_id}"] = (
                f"Number of {tt.name} tickets must be {tt.max_per_order} or fewer"
            )
    return errors


def companion_name(buyer_name: str) -> str:
    """The name on a free companion seat's ticket."""
    return f"Companion of {buyer_name}"[:MAX_NAME]


def _history(session: Session, order: Order, status: str, note: str, now: datetime) -> None:
    assert order.id is not None
    session.add(OrderHistory(order_id=order.id, status=status, note=note, at=now))


# The event as it is now, over any copy the session holds (read under the lock).
_EVENT_NOW = (
    select(Event).where(Event.id == bindparam("event_id")).execution_options(populate_existing=True)
)
# An event's ticket types as they are now, over any copy the session holds (built once).
_FRESH_TYPES = (
    select(TicketType)
    .where(TicketType.event_id == bindparam("event_id"))
    .execution_options(populate_existing=True)
)


@dataclass(frozen=True)
class Held:
    """A pending order just written, and its lines as priced under the lock."""

    order: Order
    lines: list[OrderLine]


def reserve(
    session: Session,
    *,
    event_id: int,
    quantities: dict[int, int],
    buyer: Buyer,
    now: datetime,
    hold: timedelta,
    attribution: Attribution | None = None,
) -> Order:
    """`take_seats`, for a caller that needs only the order."""
    return take_seats(
        session,
        event_id=event_id,
        quantities=quantities,
        buyer=buyer,
        now=now,
        hold=hold,
        attribution=attribution,
    ).order


def take_seats(
    session: Session,
    *,
    event_id: int,
    quantities: dict[int, int],
    buyer: Buyer,
    now: datetime,
    hold: timedelta,
    attribution: Attribution | None = None,
) -> Held:
    """Hold seats and create a pending order in one transaction.

    `attribution` carries the promo link, the traffic source and an access code, whose
    discount is applied here, from the database's prices. Raises InvalidInput (nothing
    chosen, over the per-order max, a wrong code), SoldOut (more than remain), CodeUsedUp,
    SalesClosed or EventCancelled. Nothing is written when it raises.
    """
    came = attribution or Attribution()
    if not quantities:
        raise InvalidInput({"quantity": "Select how many tickets you want"})
    with session.begin():
        # Lock first, then read everything the decision depends on (the event, its ticket
        # types and capacities, the code): a row read before the lock can be stale by the
        # time it is held, as an organiser's edit may commit while this waits.
        found = lock_reading(session, event_id, _EVENT_NOW)
        event = found[0] if found else None
        if event is None or event.status == EventStatus.DRAFT:
            raise NotFound("No event at this address")
        if event.status == EventStatus.CANCELLED:
            raise EventCancelled("This event has been cancelled, so tickets are not on sale")
        types = {
            t.id: t
            for t in session.exec(_FRESH_TYPES, params={"event_id": event_id}).all()
            if t.id is not None
        }
        code = (
            access_codes.find(session, event_id=event_id, code=came.code, now=now)
            if came.code
            else None
        )
        unlocked = {code.unlocks_ticket_type_id} if code and code.unlocks_ticket_type_id else set()
        errors = quantity_errors(types, quantities, unlocked=unlocked)
        if errors:
            raise InvalidInput(errors)
        avail = availability(session, event=event, now=now, code=code)
        taken = inventory.places(types, quantities)
        refused = inventory.refusal(
            avail,
            event=event,
            types=types,
            quantities=taken,
            now=now,
        )
        if refused is not None:
            raise refused
        return hold_in(
            session,
            event=event,
            types=types,
            quantities=quantities,
            buyer=buyer,
            now=now,
            expires_at=now + hold,
            attribution=came,
            code=code,
        )


# The tables behind the models, for the Core inserts of a hold (SQLModel leaves them untyped).
_ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
_LINES: Table = OrderLine.__table__  # type: ignore[attr-defined]
_TICKETS: Table = Ticket.__table__  # type: ignore[attr-defined]
_HISTORY: Table = OrderHistory.__table__  # type: ignore[attr-defined]
# A Checkout Session is remembered once: a second one for the same order is ignored.
_ATTACH = (
    _ORDERS.update()
    .where(_ORDERS.c.id == bindparam("order_id"), _ORDERS.c.stripe_session_id.is_(None))
    .values(stripe_session_id=bindparam("session_id"))
)


def hold_in(
    session: Session,
    *,
    event: Event,
    types: Mapping[int, TicketType],
    quantities: Mapping[int, int],
    buyer: Buyer,
    now: datetime,
    expires_at: datetime,
    attribution: Attribution | None = None,
    code: AccessCode | None = None,
    waitlist_entry_id: int | None = None,
) -> Held:
    """Write a pending order holding these seats until `expires_at`, in the caller's
    transaction. The caller has taken the event's lock and decided that the seats can be
    held (`inventory.refusal`, or `inventory.shortfall` for a waiting-list offer)."""
    came = attribution or Attribution()
    event_id = event.id
    assert event_id is not None
    taken = inventory.places(types, quantities)  # with a companion seat per wheelchair space
    prices = {t: access_codes.price(types[t].price, code) for t in quantities}
    prices.update({t: 0 for t in taken if t not in quantities})  # companion seats are free
    total = sum(prices[t] * q for t, q in quantities.items())
    order = Order(
        promo_link_id=came.promo_link_id,
        access_code_id=code.id if code else None,
        discount_total=sum((types[t].price - prices[t]) * q for t, q in quantities.items()),
        source=came.source[:200],
        event_id=event_id,
        reference=tickets.new_order_reference(),
        token=tickets.new_token(),
        buyer_name=buyer.name,
        buyer_email=buyer.email,
        total=total,
        currency=event.currency,
        created_at=now,
        expires_at=expires_at,
        waitlist_entry_id=waitlist_entry_id,
    )
    # Core inserts (no unit of work): this runs under the event's lock in every sale.
    fields = order.model_dump(exclude={"id"})
    conn = session.connection()
    order.id = conn.execute(_ORDERS.insert().returning(_ORDERS.c.id), fields).scalar_one()
    lines: list[OrderLine] = []
    made_tickets: list[dict[str, object]] = []
    made = 0
    for type_id, qty in sorted(taken.items()):
        tt = types[type_id]
        lines.append(
            OrderLine(
                order_id=order.id,
                ticket_type_id=type_id,
                quantity=qty,
                unit_price=prices[type_id],
                name=tt.name,
            )
        )
        for _ in range(qty):
            companion = type_id not in quantities
            made_tickets.append(
                Ticket(
                    order_id=order.id,
                    event_id=event_id,
                    ticket_type_id=type_id,
                    attendee_name=companion_name(buyer.name) if companion else buyer.name_for(made),
                    price=prices[type_id],
                ).model_dump(exclude={"id"})
            )
            made += 0 if companion else 1
    conn.execute(_LINES.insert(), [line.model_dump(exclude={"id"}) for line in lines])
    conn.execute(_TICKETS.insert(), made_tickets)
    changes.sold(session)
    conn.execute(
        _HISTORY.insert(),
        [
            {
                "order_id": order.id,
                "status": OrderStatus.PENDING,
                "note": f"held until {order.expires_at:%H:%M} UTC",
                "at": now,
            }
        ],
    )
    return Held(order, lines)


def attach_checkout(session: Session, *, order_id: int, checkout_session_id: str) -> None:
    """Remember the Stripe Checkout Session made for this order."""
    with session.begin():
        attach_checkouts_in(session, {order_id: checkout_session_id})


def attach_checkouts_in(session: Session, sessions: Mapping[int, str]) -> None:
    """`attach_checkout` for several orders (order id -> Checkout Session id) in the
    caller's transaction, in one statement run for each (booking.attaching)."""
    if sessions:
        session.connection().execute(
            _ATTACH,
            [{"order_id": order, "session_id": made} for order, made in sessions.items()],
        )


def _issue_tickets(session: Session, order: Order, *, code_key: bytes) -> None:
    for ticket in session.exec(select(Ticket).where(Ticket.order_id == order.id)).all():
        if ticket.status in (TicketStatus.HELD, TicketStatus.RELEASED):
            ticket.status = TicketStatus.VALID
            ticket.code = ticket.code or tickets.new_code(code_key)
            session.add(ticket)


def _set_tickets(session: Session, order_id: int, status: TicketStatus, *, only: set[str]) -> None:
    session.execute(
        update(Ticket)
        .where(col(Ticket.order_id) == order_id, col(Ticket.status).in_(only))
        .values(status=status)
    )


def _seats_free_for(session: Session, order: Order, now: datetime) -> bool:
    """Whether a lapsed order's seats, and its access code's uses, could be sold to it
    again now (its own hold not counted, as it has lapsed). Call under the event's lock."""
    event = session.get(Event, order.event_id, populate_existing=True)
    assert event is not None
    lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    types = {
        t.id: t
        for t in session.exec(_FRESH_TYPES, params={"event_id": event.id}).all()
        if t.id is not None
    }
    wanted: dict[int, int] = {}
    for line in lines:
        wanted[line.ticket_type_id] = wanted.get(line.ticket_type_id, 0) + line.quantity
    avail = availability(session, event=event, now=now, queue=False)
    if inventory.shortfall(avail, types=types, quantities=wanted) is not None:
        return False
    code = session.get(AccessCode, order.access_code_id) if order.access_code_id else None
    if code is None or code.max_uses is None:
        return True
    assert order.access_code_id is not None
    used = access_codes.uses(session, access_code_id=order.access_code_id, now=now)
    return used + sum(wanted.values()) <= code.max_uses


def mismatch(order: Order, checkout: PaidCheckout) -> str | None:
    """Why this Checkout Session's payment is not a payment of this order, or None."""
    if checkout.client_reference_id not in (None, order.reference):
        return f"the payment names another order ({checkout.client_reference_id})"
    if checkout.currency.upper() != order.currency.upper():
        return f"paid in {checkout.currency.upper()}, the order is in {order.currency.upper()}"
    if checkout.amount_total != order.total:
        return f"paid {checkout.amount_total}, the order's total is {order.total} (minor units)"
    return None


def _refund_mismatch(
    session: Session, order: Order, checkout: PaidCheckout, problem: str, now: datetime
) -> Fulfilment:
    """The buyer paid, but not for this order as it stands: issue no tickets, give the seats
    back, and refund every penny taken through the refunds ledger. Once per order."""
    assert order.id is not None
    if order.status_reason == MISMATCH:
        return Fulfilment(order, "payment_mismatch_refund")
    if order.status not in (OrderStatus.PENDING, OrderStatus.EXPIRED, OrderStatus.FAILED):
        return Fulfilment(order, "closed")  # settled by a matching payment before
    before = order.status
    order.status = OrderStatus.REFUNDED
    order.status_reason = MISMATCH
    order.stripe_payment_intent = checkout.payment_intent
    session.add(order)
    _set_tickets(session, order.id, TicketStatus.RELEASED, only={TicketStatus.HELD})
    refund = refunds.open_payment_in(
        session,
        order=order,
        amount=checkout.amount_total,
        currency=checkout.currency.upper(),
        reason=f"The payment did not match the order: {problem}",
        now=now,
    )
    _history(session, order, OrderStatus.REFUNDED, f"payment did not match: {problem}", now)
    audit.record(
        session,
        "order.payment_mismatch",
        subject_type="order",
        subject_id=order.id,
        actor="stripe",
        now=now,
        event_id=order.event_id,
        order_id=order.id,
        data={
            "problem": problem,
            "checkout_session": checkout.id,
            "paid": {"amount": checkout.amount_total, "currency": checkout.currency.upper()},
            "order_total": {"amount": order.total, "currency": order.currency},
            "status": {"before": str(before), "after": str(order.status)},
            "refund": refund.id if refund else None,
        },
    )
    outbox.queue_for_order(session, order=order, kind=MailKind.PAYMENT_MISMATCH, now=now)
    return Fulfilment(order, "payment_mismatch_refund")


def fulfil_in(
    session: Session, *, checkout: PaidCheckout, now: datetime, code_key: bytes
) -> Fulfilment:
    """Fulfilment inside the caller's transaction; see `fulfil`."""
    order = session.exec(select(Order).where(Order.stripe_session_id == checkout.id)).first()
    if order is None:
        raise NotFound("No order for this checkout session")
    assert order.id is not None
    problem = mismatch(order, checkout)
    if checkout.payment_status not in ("paid", "no_payment_required") or (
        problem and checkout.payment_status != "paid"
    ):
        return Fulfilment(order, "awaiting_payment")
    lock(session, order.event_id)
    session.refresh(order)
    if problem:
        return _refund_mismatch(session, order, checkout, problem, now)
    if order.status == OrderStatus.PAID:
        return Fulfilment(order, "already_paid")
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        return Fulfilment(order, "closed")
    lapsed = order.status in (OrderStatus.EXPIRED, OrderStatus.FAILED) or order.expires_at <= now
    event = session.get(Event, order.event_id)
    cancelled = event is not None and event.status == EventStatus.CANCELLED
    if cancelled or (lapsed and not _seats_free_for(session, order, now)):
        # Paid for seats that cannot be given: the event was cancelled meanwhile, or the
        # hold lapsed and the seats went to someone else. The money goes back.
        reason, note, kind = (
            ("event_cancelled", "paid after the event was cancelled", MailKind.EVENT_CANCELLED)
            if cancelled
            else (
                "sold_out",
                "paid after the hold lapsed and the seats were gone",
                MailKind.SOLD_OUT_REFUND,
            )
        )
        order.status = OrderStatus.REFUNDED
        order.status_reason = reason
        order.stripe_payment_intent = checkout.payment_intent
        refunds.open_in(
            session,
            order=order,
            amount=order.total - order.amount_refunded,
            reason=note.capitalize(),
            now=now,
        )
        _set_tickets(session, order.id, TicketStatus.RELEASED, only={TicketStatus.HELD})
        session.add(order)
        _history(session, order, OrderStatus.REFUNDED, note, now)
        outbox.queue_for_order(session, order=order, kind=kind, now=now)
        return Fulfilment(order, f"{reason}_refund")
    _issue_tickets(session, order, code_key=code_key)
    order.status = OrderStatus.PAID
    order.paid_at = now
    order.stripe_payment_intent = checkout.payment_intent
    session.add(order)
    _history(
        session, order, OrderStatus.PAID, "paid after the hold lapsed" if lapsed else "paid", now
    )
    outbox.queue_for_order(session, order=order, kind=MailKind.CONFIRMATION, now=now)
    if order.waitlist_entry_id is not None:
        from booking.domain import resale  # it builds on this module

        resale.offer_taken_in(session, order=order, now=now)
    return Fulfilment(order, "paid")


def fulfil(
    session: Session, *, checkout: PaidCheckout, now: datetime, code_key: bytes
) -> Fulfilment:
    """Mark the order paid and issue its tickets, once, however often it is called.

    Trusts only `checkout` as read back from Stripe. A payment that does not name this order
    or whose amount or currency is not the order's total issues no tickets: the order is
    refunded in full instead, as it is when the hold lapsed and the seats have gone since.
    Raises NotFound.
    """
    with session.begin():
        return fulfil_in(session, checkout=checkout, now=now, code_key=code_key)


def confirm_free(session: Session, *, order_id: int, now: datetime, code_key: bytes) -> Order:
    """Confirm an order whose total is zero: no payment step."""
    with session.begin():
        order = session.get(Order, order_id)
        if order is None or order.total != 0:
            raise NotFound("No free order to confirm")
        if order.status == OrderStatus.PENDING:
            _issue_tickets(session, order, code_key=code_key)
            order.status = OrderStatus.PAID
            order.paid_at = now
            session.add(order)
            _history(session, order, OrderStatus.PAID, "free order confirmed", now)
            outbox.queue_for_order(session, order=order, kind=MailKind.CONFIRMATION, now=now)
            if order.waitlist_entry_id is not None:
                from booking.domain import resale  # it builds on this module

                resale.offer_taken_in(session, order=order, now=now)
    return order


def release_in(
    session: Session, *, order: Order, status: OrderStatus, note: str, now: datetime
) -> bool:
    """End an unpaid hold inside the caller's transaction. True if this call released it."""
    assert order.id is not None
    result = session.exec(
        update(Order)
        .where(col(Order.id) == order.id, col(Order.status) == OrderStatus.PENDING)
        .values(status=status)
    )
    if result.rowcount != 1:
        return False
    _set_tickets(session, order.id, TicketStatus.RELEASED, only={TicketStatus.HELD})
    _history(session, order, status, note, now)
    return True


def release(
    session: Session,
    *,
    order_id: int,
    now: datetime,
    note: str,
    status: OrderStatus = OrderStatus.EXPIRED,
) -> bool:
    """Give an unpaid order's seats back (cancelled, expired, payment failed). Idempotent."""
    with session.begin():
        order = session.get(Order, order_id)
        if order is None:
            return False
        return release_in(session, order=order, status=status, note=note, now=now)


def end_hold(session: Session, *, order_id: int, now: datetime) -> bool:
    """End a pending order's hold now, leaving the order to the sweeper: its seats stop
    counting at once (a hold counts until it expires), and the next sweep settles it with
    Stripe before releasing it. For a hold whose Checkout Session could not be expired."""
    with session.begin():
        order = session.get(Order, order_id)
        if order is None or order.status != OrderStatus.PENDING or order.expires_at <= now:
            return False
        order.expires_at = now
        session.add(order)
        return True


def lapsed_holds(session: Session, *, now: datetime, limit: int = 100) -> list[Order]:
    """Pending orders whose hold has run out (their seats already count as free), and ones
    still without a Checkout Session UNSTARTED_GRACE after they were made: the process that
    held the seats stopped before making the payment page, so no buyer can pay for them."""
    stranded = and_(
        col(Order.stripe_session_id).is_(None),
        col(Order.created_at) <= now - UNSTARTED_GRACE,
        # A waiting-list offer gets its Checkout Session when its person takes it up.
        col(Order.waitlist_entry_id).is_(None),
    )
    return list(
        session.exec(
            select(Order)
            .where(Order.status == OrderStatus.PENDING, or_(col(Order.expires_at) <= now, stranded))
            .order_by(col(Order.expires_at))
            .limit(limit)
        ).all()
    )


def by_token(session: Session, *, token: str) -> Order:
    order = session.exec(select(Order).where(Order.token == token)).first()
    if order is None:
        raise NotFound("No order at this address")
    return order


def by_checkout_session(session: Session, *, checkout_session_id: str) -> Order:
    order = session.exec(
        select(Order).where(Order.stripe_session_id == checkout_session_id)
    ).first()
    if order is None:
        raise NotFound("No order for this checkout session")
    return order


def by_reference(session: Session, *, reference: str) -> Order | None:
    return session.exec(select(Order).where(Order.reference == reference)).first()


def by_payment_intent(session: Session, *, payment_intent: str) -> Order | None:
    return session.exec(select(Order).where(Order.stripe_payment_intent == payment_intent)).first()


def record_charge_refunded(
    session: Session, *, payment_intent: str, amount_refunded: int, now: datetime
) -> Order | None:
    """Stripe says the charge has had `amount_refunded` back in all (charge.refunded).

    That total may include refunds this app sent and ones made in Stripe's dashboard; it
    only ever raises the order's derived amount refunded (see booking.domain.refunds), so a
    refund is counted once whichever is recorded first. Fully refunded paid orders become
    REFUNDED and their tickets stop working.
    """
    with session.begin():
        found = by_payment_intent(session, payment_intent=payment_intent)
        order = refunds.lock_order(session, found.id) if found and found.id else None
        if order is None:
            return None
        return reported_in(session, order=order, amount_refunded=amount_refunded, now=now)


def reported_in(session: Session, *, order: Order, amount_refunded: int, now: datetime) -> Order:
    """`record_charge_refunded` for an order already locked, in the caller's transaction."""
    assert order.id is not None
    before = order.amount_refunded
    refunds.sync_in(session, order=order, reported=amount_refunded)
    if order.amount_refunded != before:
        audit.record(
            session,
            "order.refund_reported",
            subject_type="order",
            subject_id=order.id,
            actor="stripe",
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={"amount_refunded": {"before": before, "after": order.amount_refunded}},
        )
    if order.amount_refunded >= order.total and order.status == OrderStatus.PAID:
        order.status = OrderStatus.REFUNDED
        order.status_reason = "refunded_in_stripe"
        _set_tickets(session, order.id, TicketStatus.CANCELLED, only={TicketStatus.VALID})
        _history(session, order, OrderStatus.REFUNDED, "refunded in Stripe", now)
        outbox.queue_for_order(session, order=order, kind=MailKind.REFUNDED, now=now)
    session.add(order)
    return order
