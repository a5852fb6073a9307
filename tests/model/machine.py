"""The order life as a Hypothesis state machine: everything that can happen to an order,
in any order, with the invariants in tests/model/checks.py checked after every step.

Rules pick their order or ticket from what exists (an index into the current candidates),
so every step acts on something real. A step with nothing to act on does nothing.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlmodel import col, select

from booking import bulk, checkout
from booking.domain import (
    cancellation,
    checkin,
    event_admin,
    inventory,
    order_changes,
    order_refunds,
    orders,
    ticket_types,
)
from booking.domain.errors import BookingError, Conflict, InvalidInput, SoldOut
from booking.models import BulkJob, CheckIn, EventStatus, Order, OrderStatus, Ticket, TicketStatus
from booking.stripe_standin.errors import ApiError
from tests.model import checks
from tests.model.waiting import WaitingList
from tests.model.world import CODE, ROOM, WEBHOOK_TYPES, World, event_fields

PICK = st.integers(min_value=0, max_value=10_000)
CARDS = {"ok": "4242424242424242", "declined": "4000000000000002"}
DEVICES = ("phone-a", "phone-b")
FAULTS = {
    "500": {"status": 500},
    "429": {"status": 429},
    "answer lost": {"action": "reset", "when": "after"},
    "timeout": {"action": "hang", "delay": 2.0},
}
FIGURES = checks.FIGURES


class OrderLife(WaitingList, RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.cast = world.reset()
        self.cursor = 0  # stand-in events already seen
        self.inbox: list[dict[str, Any]] = []  # sent by Stripe, not yet delivered
        self.delivered: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.admitted: Counter[int] = Counter()
        self.undone: Counter[int] = Counter()
        self.offline: dict[str, list[dict[str, str]]] = {d: [] for d in DEVICES}
        self.last_sync: dict[str, tuple[list[dict[str, str]], list[Any]]] = {}
        self.seen: dict[int, tuple[str, int]] = {}
        self.since_settled = 0
        self.summary: Counter[str] = Counter()
        FIGURES["examples"] += 1

    # -- helpers ---------------------------------------------------------------------
    def has(self, what: str) -> bool:
        """Whether a rule has something to act on (from the last invariant check)."""
        if what == "inbox":
            self._collect()
            return bool(self.inbox)
        if what == "delivered":
            return bool(self.delivered)
        if what == "phones":
            return any(self.offline.values()) or bool(self.last_sync)
        return self.summary[what] > 0

    def _step(self, name: str) -> None:
        self.since_settled += 1
        FIGURES["steps"] += 1
        FIGURES[f"rule {name}"] += 1

    @property
    def now(self):  # type: ignore[no-untyped-def]
        return self.world.clock.now

    def _orders(self, *statuses: str, with_session: bool = False) -> list[Order]:
        with self.world.db.session() as s:
            query = select(Order).order_by(col(Order.id))
            if statuses:
                query = query.where(col(Order.status).in_(statuses))
            if with_session:
                query = query.where(col(Order.stripe_session_id).is_not(None))
            return list(s.exec(query).all())

    def _issued(self) -> list[Ticket]:
        with self.world.db.session() as s:
            return list(
                s.exec(
                    select(Ticket).where(col(Ticket.code).is_not(None)).order_by(col(Ticket.id))
                ).all()
            )

    @staticmethod
    def _pick(items: list[Any], pick: int) -> Any:
        return items[pick % len(items)] if items else None

    def _stripe_session(self, order: Order) -> dict[str, Any]:
        with self.world.standin.lock:
            return dict(self.world.standin.sessions[order.stripe_session_id].obj)  # type: ignore[index]

    def _collect(self) -> None:
        standin = self.world.standin
        with standin.lock:
            new = [copy.deepcopy(e) for e in standin.events[self.cursor :]]
            self.cursor = len(standin.events)
        self.inbox.extend(e for e in new if e["type"] in WEBHOOK_TYPES)

    def _deliver(self, evt: dict[str, Any]) -> None:
        status = self.world.post_webhook(evt)
        assert status in (200, 503), f"webhook {evt['type']} answered {status}"
        if status == 503:  # Stripe unavailable: Stripe sends it again later
            self.inbox.append(evt)
        else:
            self.delivered.append(evt)

    def _send_refunds(self, order_id: int) -> None:
        self.world.call(checkout.send_refunds_for, self.world.svc, order_id=order_id)

    def _reserve(self, event_id: int, wanted: dict[int, int], *, code: str = "") -> Order | None:
        """Hold `wanted` for a buyer, or None when refused; a "sold out" must be true, and a
        hold must fit after the seats the waiting list wants (nobody buys ahead of it)."""
        rows = self._taken()
        try:
            order = self.world.write(
                orders.reserve,
                event_id=event_id,
                quantities=wanted,
                buyer=orders.Buyer("Ada Lovelace", "ada@example.com"),
                now=self.now,
                hold=checkout.hold_duration(self.world.svc),
                attribution=orders.Attribution(code=code),
            )
        except SoldOut:
            assert not rows.fits(event_id, wanted, self.now, queue=True), (
                f"sold out, yet {wanted} fits"
            )
            return None
        except BookingError:
            return None
        assert rows.fits(event_id, wanted, self.now, queue=True), f"{wanted} sold past the queue"
        return order

    def _taken(self) -> checks.Rows:
        return self.world.read(checks.Rows.load)

    # -- buying ----------------------------------------------------------------------
    @rule(
        event=st.integers(0, 1),
        standard=st.integers(0, 3),
        members=st.integers(0, 2),
        code=st.booleans(),
        then=st.sampled_from(["stays", "pays", "pays and comes back"]),
    )
    def hold(self, event: int, standard: int, members: int, code: bool, then: str) -> None:
        """A buyer holds seats (with the members' code, perhaps) and goes to Stripe, where
        they stay a while, pay, or pay and come back to the success page."""
        self._step(f"hold, {then}")
        event_id = self.cast.events[event]
        wanted = {self.cast.standard[event_id]: standard, self.cast.members[event_id]: members}
        wanted = {k: v for k, v in wanted.items() if v} or {self.cast.standard[event_id]: 1}
        order = self._reserve(event_id, wanted, code=CODE if code else "")
        if order is None:
            return
        try:
            self.world.start_checkout(order)
        except checkout.CheckoutUnavailable:
            FIGURES["checkout unavailable"] += 1
            return
        if then == "stays":
            return
        cs_id = self.world.order(order.id).stripe_session_id  # type: ignore[arg-type]
        paid = self.world.standin.pay(cs_id, CARDS["ok"])  # type: ignore[arg-type]
        assert paid.ok, paid
        if then == "pays and comes back":
            response = self.world.client.get(f"/checkout/success?session_id={cs_id}")
            assert response.status_code == 303, f"success page answered {response.status_code}"

    @precondition(lambda self: self.has("open"))
    @rule(pick=PICK, card=st.sampled_from(["ok", "ok", "declined", "delayed"]))
    def pay(self, pick: int, card: str) -> None:
        """The buyer pays on Stripe's page: on time, late (the app's clock ran ahead),
        declined, or by a delayed method that settles later."""
        self._step(f"pay {card}")
        open_ = [
            o
            for o in self._orders(with_session=True)
            if self._stripe_session(o)["status"] == "open"
        ]
        order = self._pick(open_, pick)
        if order is None:
            return
        try:
            self.world.standin.pay(
                order.stripe_session_id,
                CARDS.get(card, CARDS["ok"]),
                delayed=card == "delayed",
            )
        except ApiError:
            return  # Stripe's own clock had expired the session

    @precondition(lambda self: self.has("late"))
    @rule(pick=PICK)
    def pay_late(self, pick: int) -> None:
        """The buyer pays after the app's hold lapsed, on a Stripe page still open (Stripe's
        clock is behind): confirmed if the seats are still free, refunded if not."""
        self._step("pay late")
        late = [
            o
            for o in self._orders(OrderStatus.PENDING, OrderStatus.EXPIRED, with_session=True)
            if o.expires_at <= self.now and self._stripe_session(o)["status"] == "open"
        ]
        order = self._pick(late, pick)
        if order is None:
            return
        try:
            self.world.standin.pay(order.stripe_session_id, CARDS["ok"])  # type: ignore[arg-type]
        except ApiError:
            return

    @precondition(lambda self: self.has("delayed"))
    @rule(pick=PICK, succeeded=st.booleans())
    def delayed_payment_settles(self, pick: int, succeeded: bool) -> None:
        self._step("delayed payment settles")
        waiting = [
            o
            for o in self._orders(with_session=True)
            if self._stripe_session(o)["status"] == "complete"
            and self._stripe_session(o)["payment_status"] == "unpaid"
        ]
        order = self._pick(waiting, pick)
        if order is None:
            return
        with self.world.standin.lock:
            pi = self.world.standin.find(
                self.world.standin.sessions[order.stripe_session_id].payment_intent or ""  # type: ignore[index]
            )
        if pi is None or pi["status"] != "processing":
            return
        if succeeded:
            self.world.standin.async_succeed(order.stripe_session_id)  # type: ignore[arg-type]
        else:
            self.world.standin.async_fail(order.stripe_session_id)  # type: ignore[arg-type]

    @precondition(lambda self: self.has("pending_session"))
    @rule(pick=PICK)
    def buyer_goes_back(self, pick: int) -> None:
        """Back on Stripe's page: the app expires the session and releases the hold."""
        self._step("buyer goes back")
        order = self._pick(self._orders(OrderStatus.PENDING, with_session=True), pick)
        if order is not None:
            self.world.call(checkout.cancel, self.world.svc, order)

    @precondition(lambda self: self.has("with_session"))
    @rule(pick=PICK)
    def success_page(self, pick: int) -> None:
        """Stripe sends the buyer back: the page fulfils, as the webhook would."""
        self._step("success page")
        order = self._pick(self._orders(with_session=True), pick)
        if order is None:
            return
        response = self.world.client.get(f"/checkout/success?session_id={order.stripe_session_id}")
        assert response.status_code == 303, f"success page answered {response.status_code}"

    # -- webhooks --------------------------------------------------------------------
    @precondition(lambda self: self.has("inbox"))
    @rule()
    def webhook_arrives(self) -> None:
        self._step("webhook arrives")
        self._collect()
        if self.inbox:
            self._deliver(self.inbox.pop(0))

    @precondition(lambda self: self.has("inbox"))
    @rule(pick=PICK)
    def webhook_arrives_out_of_order(self, pick: int) -> None:
        self._step("webhook out of order")
        self._collect()
        if self.inbox:
            self._deliver(self.inbox.pop(pick % len(self.inbox)))

    @precondition(lambda self: self.has("delivered"))
    @rule(pick=PICK)
    def webhook_arrives_again(self, pick: int) -> None:
        self._step("webhook again")
        if self.delivered:
            self._deliver(self._pick(self.delivered, pick))

    @precondition(lambda self: self.has("inbox"))
    @rule(pick=PICK)
    def webhook_never_arrives(self, pick: int) -> None:
        self._step("webhook never arrives")
        self._collect()
        if self.inbox:
            self.dropped.append(self.inbox.pop(pick % len(self.inbox)))

    # -- jobs ------------------------------------------------------------------------
    @precondition(lambda self: self.has("orders"))
    @rule()
    def worker_ticks(self) -> None:
        """`booking worker` goes round once: sweeper, refunds, cancellation jobs."""
        self._step("worker ticks")
        self.world.call(checkout.sweep_lapsed, self.world.svc)
        self.world.call(checkout.settle_refunds, self.world.svc)
        self.world.call(bulk.run_pending, self.world.svc)

    @precondition(lambda self: self.has("pending"))
    @rule()
    def sweeper_runs(self) -> None:
        self._step("sweeper")
        self.world.call(checkout.sweep_lapsed, self.world.svc)

    @precondition(lambda self: self.has("refunds_pending"))
    @rule()
    def refunds_job_runs(self) -> None:
        self._step("refunds job")
        self.world.call(checkout.settle_refunds, self.world.svc)

    @precondition(lambda self: self.has("jobs_due"))
    @rule(interrupted=st.booleans())
    def cancellation_job_runs(self, interrupted: bool) -> None:
        """The event-cancellation runner; interrupted, it stops after one order with its
        lease held, to be resumed once the lease lapses."""
        self._step("cancellation job" + (" interrupted" if interrupted else ""))
        self.world.call(bulk.run_pending, self.world.svc, max_orders=1 if interrupted else None)

    # -- organisers ------------------------------------------------------------------
    @precondition(lambda self: self.has("paid"))
    @rule(pick=PICK, ticket=PICK)
    def organiser_refunds_a_ticket(self, pick: int, ticket: int) -> None:
        self._step("organiser refunds a ticket")
        order = self._pick(self._orders(OrderStatus.PAID), pick)
        if order is None:
            return
        mine = [t for t in self._issued() if t.order_id == order.id and t.status == "valid"]
        chosen = self._pick(mine, ticket)
        if chosen is None:
            return
        try:
            self.world.write(
                order_refunds.refund_tickets,
                order_id=order.id,
                ticket_ids={chosen.id},
                reason="Cannot come",
                actor=self.cast.organiser,
                now=self.now,
            )
        except BookingError:
            return
        self._send_refunds(order.id)  # type: ignore[arg-type]

    @precondition(lambda self: self.has("paid"))
    @rule(pick=PICK)
    def organiser_cancels_an_order(self, pick: int) -> None:
        self._step("organiser cancels an order")
        order = self._pick(self._orders(OrderStatus.PAID), pick)
        if order is None:
            return
        try:
            self.world.write(
                order_refunds.cancel_order,
                order_id=order.id,
                reason="Duplicate booking",
                actor=self.cast.organiser,
                now=self.now,
            )
        except BookingError:
            return
        self._send_refunds(order.id)  # type: ignore[arg-type]

    @precondition(lambda self: self.has("charges"))
    @rule(pick=PICK, share=st.sampled_from([None, 300]))
    def refunded_in_stripe_dashboard(self, pick: int, share: int | None) -> None:
        """Someone refunds the charge, or part of it, in Stripe's dashboard, whether or not
        the app has heard of the payment yet; its webhooks take their chances with the
        others."""
        self._step("refund in Stripe's dashboard")
        paid = [
            o for o in self._orders(with_session=True) if checks.charge_of(self.world.standin, o)
        ]
        order = self._pick(paid, pick)
        if order is None:
            return
        charge = checks.charge_of(self.world.standin, order)
        assert charge is not None
        left = charge["amount"] - charge["amount_refunded"]
        if left <= 0:
            return
        params = {"payment_intent": charge["payment_intent"]}
        if share is not None:
            params["amount"] = str(min(share, left))
        self.world.standin.create_refund(params)

    @precondition(lambda self: self.has("orders"))
    @precondition(lambda self: self.has("events_open"))
    @rule(pick=PICK, interrupted=st.booleans())
    def event_cancelled(self, pick: int, interrupted: bool) -> None:
        """The organiser cancels an event; its job starts at once (perhaps stopping after
        one order, to be resumed later)."""
        self._step("event cancelled")
        rows = self._taken()
        open_ = [e.id for e in rows.events.values() if e.status != EventStatus.CANCELLED]
        try:
            self.world.write(
                cancellation.start,
                event_id=self._pick(open_, pick),
                refund=True,
                email=True,
                note="The hall has flooded.",
                actor=self.cast.organiser,
                now=self.now,
            )
        except Conflict:
            return
        self.world.call(bulk.run_pending, self.world.svc, max_orders=1 if interrupted else None)

    @precondition(lambda self: self.has("jobs_failed"))
    @rule(event=st.integers(0, 1))
    def cancellation_run_again(self, event: int) -> None:
        """ "Cancel and refund the open orders" after a run stopped with orders left."""
        self._step("cancellation run again")
        with contextlib.suppress(Conflict):
            self.world.write(
                cancellation.start_again,
                event_id=self.cast.events[event],
                actor=self.cast.organiser,
                now=self.now,
            )

    @precondition(lambda self: self.has("orders"))
    @rule(
        event=st.integers(0, 1),
        which=st.sampled_from(["standard", "members", "room"]),
        delta=st.sampled_from([-2, -1, 1, 2]),
    )
    def capacity_changes(self, event: int, which: str, delta: int) -> None:
        """An organiser raises or lowers a capacity; below what is taken is refused."""
        self._step("capacity changes")
        event_id = self.cast.events[event]
        rows = self._taken()
        taken = [
            t for t in rows.tickets if t.event_id == event_id and rows.counts_against(t, self.now)
        ]
        if which == "room":
            ev = self.world.event(event_id)
            new = max(0, (ev.capacity or ROOM) + delta)
            fields = replace(event_fields(ev), capacity=new)
            call: Any = lambda: self.world.write(  # noqa: E731
                event_admin.update,
                event_id=event_id,
                fields=fields,
                actor=self.cast.organiser,
                now=self.now,
            )
            used = len(taken)
        else:
            type_id = (
                self.cast.standard[event_id] if which == "standard" else self.cast.members[event_id]
            )
            tt = self.world.ticket_type(type_id)
            new = max(0, (tt.capacity if tt.capacity is not None else ROOM) + delta)
            tfields = ticket_types.TicketTypeFields(
                name=tt.name,
                description=tt.description,
                price=tt.price,
                capacity=new,
                sales_start=tt.sales_start,
                sales_end=tt.sales_end,
                max_per_order=tt.max_per_order,
                visible=tt.visible,
            )
            call = lambda: self.world.write(  # noqa: E731
                ticket_types.update,
                event_id=event_id,
                ticket_type_id=type_id,
                fields=tfields,
                actor=self.cast.organiser,
                now=self.now,
            )
            used = len([t for t in taken if t.ticket_type_id == type_id])
        try:
            call()
        except InvalidInput:
            assert new < used, f"capacity {new} refused with {used} taken"
            return
        assert new >= used, f"capacity {new} accepted with {used} taken"

    @precondition(lambda self: self.has("orders"))
    @precondition(lambda self: self.has("codes_active"))
    @rule(pick=PICK)
    def access_code_switched_off(self, pick: int) -> None:
        self._step("access code switched off")
        rows = self._taken()
        self.world.switch_code_off(self._pick([c.event_id for c in rows.codes if c.active], pick))

    # -- buyers after paying ---------------------------------------------------------
    @precondition(lambda self: self.has("paid"))
    @rule(pick=PICK)
    def buyer_cancels(self, pick: int) -> None:
        self._step("buyer cancels")
        order = self._pick(self._orders(OrderStatus.PAID), pick)
        if order is None:
            return
        try:
            self.world.write(order_changes.cancel_by_buyer, token=order.token, now=self.now)
        except BookingError:
            return
        self._send_refunds(order.id)  # type: ignore[arg-type]

    @precondition(lambda self: self.has("paid"))
    @rule(
        pick=PICK, number=st.integers(1, 5), name=st.sampled_from(["Grace Hopper", "Alan Turing"])
    )
    def buyer_renames_a_ticket(self, pick: int, number: int, name: str) -> None:
        self._step("buyer renames a ticket")
        order = self._pick(self._orders(OrderStatus.PAID), pick)
        if order is None:
            return
        try:
            renamed = self.world.write(
                order_changes.rename_ticket,
                token=order.token,
                number=number,
                name=name,
                now=self.now,
            )
        except BookingError:
            return
        with self.world.db.session() as s:
            now = s.get(Ticket, renamed.id)
            assert now is not None and now.attendee_name == name and now.code == renamed.code

    # -- the door --------------------------------------------------------------------
    @precondition(lambda self: self.has("issued"))
    @rule(pick=PICK, device=st.sampled_from(DEVICES), typed=st.booleans())
    def ticket_scanned(self, pick: int, device: str, typed: bool) -> None:
        """A phone online scans a code (or staff type its reference)."""
        self._step("ticket scanned")
        ticket = self._pick(self._issued(), pick)
        if ticket is None:
            return
        standing = self._standing(ticket.id)
        outcome = self.world.write(
            checkin.admit,
            event_id=ticket.event_id,
            code=ticket.code[:8] if typed else ticket.code,
            nonce=uuid.uuid4().hex,
            device=device,
            by=self.cast.staff,
            now=self.now,
            key=self.world.key,
        )
        if ticket.status != TicketStatus.VALID:
            assert outcome.result == checkin.NOT_VALID, f"{ticket.status} ticket: {outcome}"
        elif standing:
            assert outcome.result == checkin.ALREADY, outcome
        else:
            assert outcome.result == checkin.ADMITTED, outcome
            self.admitted[ticket.id] += 1  # type: ignore[index]

    def _standing(self, ticket_id: int | None) -> bool:
        return self._standing_nonce(ticket_id) is not None

    def _standing_nonce(self, ticket_id: int | None) -> str | None:
        """The nonce of the ticket's admission that stands (what a phone's Undo names)."""
        with self.world.db.session() as s:
            row = s.exec(
                select(CheckIn).where(
                    CheckIn.ticket_id == ticket_id, col(CheckIn.undone_at).is_(None)
                )
            ).first()
            return None if row is None else row.nonce

    @precondition(lambda self: self.has("standing"))
    @rule(pick=PICK)
    def admission_undone(self, pick: int) -> None:
        self._step("admission undone")
        standing = [t for t in self._issued() if self._standing(t.id)]
        ticket = self._pick(standing, pick)
        if ticket is None:
            return
        result = self.world.write(
            checkin.undo,
            event_id=ticket.event_id,
            code=ticket.code,
            by=self.cast.staff,
            now=self.now,
            nonce=self._standing_nonce(ticket.id),
        )
        assert result.ok, result
        self.undone[ticket.id] += 1  # type: ignore[index]

    @precondition(lambda self: self.has("valid"))
    @rule(pick=PICK, device=st.sampled_from(DEVICES))
    def scanned_offline(self, pick: int, device: str) -> None:
        """A phone without signal lets a valid ticket holder in and queues the admission."""
        self._step("scanned offline")
        valid = [t for t in self._issued() if t.status == TicketStatus.VALID]
        ticket = self._pick(valid, pick)
        if ticket is None:
            return
        self.offline[device].append(
            {
                "code": ticket.code,
                "nonce": uuid.uuid4().hex,
                "at": self.now.isoformat(),
                "event": str(ticket.event_id),
            }  # type: ignore[dict-item]
        )

    @precondition(lambda self: self.has("phones"))
    @rule(device=st.sampled_from(DEVICES), again=st.booleans())
    def phone_syncs(self, device: str, again: bool) -> None:
        """The phone is back online and syncs its queue (or sends its last batch again,
        its answer having been lost)."""
        self._step("phone syncs" + (" again" if again else ""))
        if again:
            if device not in self.last_sync:
                return
            batch, before = self.last_sync[device]
            assert self._sync(device, batch, count=False) == before, "a resent batch changed"
            return
        batch, self.offline[device] = self.offline[device], []
        if batch:
            self.last_sync[device] = (batch, self._sync(device, batch, count=True))

    def _sync(self, device: str, batch: list[dict[str, str]], *, count: bool) -> list[Any]:
        results = []
        for event_id in sorted({item["event"] for item in batch}):
            mine = [item for item in batch if item["event"] == event_id]
            answer = self.world.write(
                checkin.sync_offline,
                event_id=int(event_id),
                admissions=mine,
                device=device,
                by=self.cast.staff,
                now=self.now,
                key=self.world.key,
            )
            for item, result in zip(mine, answer, strict=True):
                results.append((result.nonce, result.result, result.reason))
                if count and result.result in (checkin.ADMITTED, checkin.CONFLICT):
                    with self.world.db.session() as s:
                        t = s.exec(select(Ticket).where(Ticket.code == item["code"])).one()
                    self.admitted[t.id] += 1  # type: ignore[index]
        return results

    # -- time and Stripe's health ----------------------------------------------------
    @precondition(lambda self: self.has("orders"))
    @rule(minutes=st.sampled_from([1, 10, 31, 120]))
    def time_passes(self, minutes: int) -> None:
        self._step("time passes")
        self.world.time_passes(minutes)

    @precondition(lambda self: self.has("orders"))
    @precondition(lambda self: self.world.lag < timedelta(hours=1))
    @rule(minutes=st.sampled_from([1, 31]))
    def app_clock_runs_ahead(self, minutes: int) -> None:
        """The app's clock moves on but Stripe's does not yet: its page is still open after
        the hold has lapsed, so the buyer can pay late."""
        self._step("app clock runs ahead")
        self.world.app_runs_ahead(minutes)

    @precondition(lambda self: self.has("orders"))
    @precondition(lambda self: len(self.world.standin.faults.pending()) < 2)
    @rule(
        path=st.sampled_from(["/v1/checkout/sessions", "/v1/refunds", "/v1/"]),
        kind=st.sampled_from(sorted(FAULTS)),
        count=st.integers(1, 2),
    )
    def stripe_fails(self, path: str, kind: str, count: int) -> None:
        """Stripe's next call(s) on this path fail: a 500, a 429, a lost answer (the request
        took effect) or a timeout. The adapter retries once, so two in a row fail the call."""
        self._step(f"stripe fails ({kind})")
        self.world.standin.add_fault(path_prefix=path, count=count, **FAULTS[kind])

    # -- everything settles ----------------------------------------------------------
    @precondition(lambda self: self.since_settled >= 8)
    @rule()
    def everything_settles(self) -> None:
        """Stripe is healthy again, every webhook it still retries arrives, the jobs run and
        organisers re-run stopped cancellations: then the money must agree with Stripe's."""
        self._step("everything settles")
        self.since_settled = 0
        self.world.standin.faults.clear()
        self.world.time_passes(3)  # past any cancellation runner's lease
        for _ in range(3):
            self._collect()
            while self.inbox:
                self._deliver(self.inbox.pop(0))
            self.world.call(checkout.sweep_lapsed, self.world.svc)
            self.world.call(checkout.settle_refunds, self.world.svc)
            self.world.call(bulk.run_pending, self.world.svc)
            for event_id in self.cast.events:
                last = self.world.read(cancellation.latest_job, event_id=event_id)
                if isinstance(last, BulkJob) and last.status == "failed":
                    self.world.write(
                        cancellation.start_again,
                        event_id=event_id,
                        actor=self.cast.organiser,
                        now=self.now,
                    )
        self._collect()
        while self.inbox:
            self._deliver(self.inbox.pop(0))
        FIGURES["settled checks"] += 1
        checks.settled(self._taken(), self.world.standin, self._unobserved())

    def _unobserved(self) -> set[str]:
        """Sessions whose payment the app may never have heard of (its webhook dropped)."""
        return {
            e["data"]["object"]["id"]
            for e in self.dropped
            if e["type"].startswith("checkout.session.")
        } | {
            e["data"]["object"].get("payment_intent") or ""
            for e in self.dropped
            if e["type"] == "charge.refunded"
        }

    # -- invariants ------------------------------------------------------------------
    @invariant()
    def promises_hold(self) -> None:
        FIGURES["invariant checks"] += 1
        rows = self._taken()
        checks.capacity(rows, self.now)
        for event_id in rows.events:  # the app counts the seats taken as the checks do
            app = self.world.read(inventory.taken_by_type, event_id=event_id, now=self.now)
            mine = rows.taken(event_id, self.now)
            assert app == dict(mine), f"event {event_id}: the app counts {app}, held+sold {mine}"
        checks.seats(rows, self.world.key)
        checks.money(rows, self.world.standin)
        checks.mail(rows)
        checks.door(rows, self.admitted, self.undone)
        checks.transitions(rows, self.seen)
        checks.released(rows)
        checks.waitlist(rows, self.now)
        self.summary = self._summarise(rows)

    def _summarise(self, rows: checks.Rows) -> Counter[str]:
        summary: Counter[str] = Counter()
        standin = self.world.standin
        summary["orders"] = len(rows.orders)
        for order in rows.orders.values():
            summary[order.status] += 1
            if not order.stripe_session_id:
                continue
            summary["with_session"] += 1
            summary["pending_session"] += order.status == OrderStatus.PENDING
            with standin.lock:
                record = standin.sessions.get(order.stripe_session_id)
                obj = record.obj if record else {}
                summary["open"] += obj.get("status") == "open"
                summary["late"] += obj.get("status") == "open" and order.expires_at <= self.now
                summary["delayed"] += (obj.get("status"), obj.get("payment_status")) == (
                    "complete",
                    "unpaid",
                )
            summary["charges"] += checks.charge_of(standin, order) is not None
        summary["refunds_pending"] = sum(r.status == "pending" for r in rows.refunds)
        summary["issued"] = sum(t.code is not None for t in rows.tickets)
        summary["valid"] = sum(t.status == TicketStatus.VALID for t in rows.tickets)
        summary["standing"] = sum(c.undone_at is None for c in rows.checkins)
        summary["codes_active"] = sum(c.active for c in rows.codes)
        summary["events_open"] = sum(e.status != "cancelled" for e in rows.events.values())
        for entry in rows.entries.values():
            summary[f"entries {entry.status}"] += 1
        for job in rows.jobs:
            summary["jobs_due"] += job.status in ("queued", "running")
            summary["jobs_failed"] += job.status == "failed"
        return summary
