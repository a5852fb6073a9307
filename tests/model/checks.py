"""What must hold after every step of the order-life machine, read from the database and
from the Stripe stand-in's own records (not from what the machine thinks happened).

The allowed order status changes come from one place: the "Order states" diagram in the
README, parsed here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from booking.domain import tickets
from booking.models import (
    AccessCode,
    BulkJob,
    CheckIn,
    CheckInConflict,
    Event,
    MailKind,
    MailOutbox,
    Order,
    OrderHistory,
    OrderLine,
    OrderStatus,
    Refund,
    Ticket,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)
from booking.stripe_standin import StandIn

README = Path(__file__).resolve().parents[2] / "README.md"
START = "[*]"
EDGE = re.compile(r"^\s*(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::.*)?$")


def diagram() -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(statuses an order starts in, allowed (from, to) changes) from the README's
    "Order states" mermaid block."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Order states", 1)[1]
    block = section.split("```mermaid", 1)[1].split("```", 1)[0]
    starts, edges = set(), set()
    for line in block.splitlines():
        m = EDGE.match(line)
        if not m:
            continue
        a, b = m.groups()
        if a == START:
            starts.add(b)
        elif b != START:
            edges.add((a, b))
    names = {s.value for s in OrderStatus}
    assert starts | {x for e in edges for x in e} <= names, "the diagram names an unknown status"
    return frozenset(starts), frozenset(edges)


STARTS, ALLOWED = diagram()
FIGURES: Counter[str] = Counter()  # examples, steps, invariant checks, per-rule tallies


@dataclass
class Rows:
    """Everything the invariants read, in one pass."""

    orders: dict[int, Order]
    tickets: list[Ticket]
    lines: list[OrderLine]
    refunds: list[Refund]
    history: dict[int, list[str]]
    confirmations: Counter[int]
    checkins: list[CheckIn]
    conflicts: Counter[int]
    types: dict[int, TicketType]
    events: dict[int, Event]
    codes: list[AccessCode]
    jobs: list[BulkJob]
    entries: dict[int, WaitlistEntry]

    @classmethod
    def load(cls, s: Session) -> Rows:
        history: dict[int, list[str]] = defaultdict(list)
        for h in s.exec(select(OrderHistory).order_by(col(OrderHistory.id))).all():
            history[h.order_id].append(h.status)
        mails = s.exec(
            select(MailOutbox.order_id).where(MailOutbox.kind == MailKind.CONFIRMATION)
        ).all()
        conflicts = s.exec(select(CheckInConflict.ticket_id)).all()
        return cls(
            orders={o.id: o for o in s.exec(select(Order)).all()},  # type: ignore[misc]
            tickets=list(s.exec(select(Ticket).order_by(col(Ticket.id))).all()),
            lines=list(s.exec(select(OrderLine)).all()),
            refunds=list(s.exec(select(Refund)).all()),
            history=history,
            confirmations=Counter(m for m in mails if m is not None),
            checkins=list(s.exec(select(CheckIn)).all()),
            conflicts=Counter(conflicts),
            types={t.id: t for t in s.exec(select(TicketType)).all()},  # type: ignore[misc]
            events={e.id: e for e in s.exec(select(Event)).all()},  # type: ignore[misc]
            codes=list(s.exec(select(AccessCode)).all()),
            jobs=list(s.exec(select(BulkJob)).all()),
            entries={e.id: e for e in s.exec(select(WaitlistEntry)).all()},  # type: ignore[misc]
        )

    def counts_against(self, t: Ticket, now: datetime) -> bool:
        """Sold, or held (a waiting-list offer too) with the hold running; never a released,
        cancelled or returned ticket."""
        if t.status == TicketStatus.VALID:
            return True
        return t.status == TicketStatus.HELD and self.orders[t.order_id].expires_at > now

    def taken(self, event_id: int, now: datetime) -> Counter[int]:
        """Seats that count against capacity at the event, per ticket type."""
        return Counter(
            t.ticket_type_id
            for t in self.tickets
            if t.event_id == event_id and self.counts_against(t, now)
        )

    def queued(self, event_id: int) -> Counter[int | None]:
        """Seats the people waiting want, per ticket type (None: any)."""
        out: Counter[int | None] = Counter()
        for e in self.entries.values():
            if e.event_id == event_id and e.status == WaitlistStatus.WAITING:
                out[e.ticket_type_id] += e.quantity
        return out

    def fits(self, event_id: int, wanted: dict[int, int], now: datetime, *, queue: bool) -> bool:
        """Whether these seats are free (per type and in the room), after the seats the
        people waiting want when `queue`."""
        taken = self.taken(event_id, now)
        queued = self.queued(event_id) if queue else Counter()
        room = self.events[event_id].capacity
        if room is not None:
            left = room - sum(taken.values()) - sum(queued.values())
            if sum(wanted.values()) > left:
                return False
        for type_id, qty in wanted.items():
            cap = self.types[type_id].capacity
            if cap is None:
                continue
            held_back = queued[type_id] + (queued[None] if room is None else 0)
            if taken[type_id] + held_back + qty > cap:
                return False
        return True

    def request_fits(self, entry: WaitlistEntry, now: datetime) -> bool:
        """Whether what this entry asks for is free now, the queue aside: its ticket type,
        or else any visible ordinary type."""
        if entry.ticket_type_id is not None:
            candidates = [entry.ticket_type_id]
        else:
            candidates = [
                t.id  # type: ignore[misc]
                for t in self.types.values()
                if t.event_id == entry.event_id and t.visible and not t.access_place
            ]
        return any(
            self.fits(entry.event_id, {c: entry.quantity}, now, queue=False) for c in candidates
        )


def capacity(rows: Rows, now: datetime) -> None:
    """Per ticket type and per room: sold + held <= capacity; an access code's uses too."""
    by_type: Counter[int] = Counter()
    by_room: Counter[int] = Counter()
    by_code: Counter[int] = Counter()
    for t in rows.tickets:
        if rows.counts_against(t, now):
            by_type[t.ticket_type_id] += 1
            by_room[t.event_id] += 1
            code = rows.orders[t.order_id].access_code_id
            if code is not None:
                by_code[code] += 1
    for type_id, taken in by_type.items():
        cap = rows.types[type_id].capacity
        assert cap is None or taken <= cap, f"ticket type {type_id}: {taken} taken > capacity {cap}"
    for event_id, taken in by_room.items():
        cap = rows.events[event_id].capacity
        assert cap is None or taken <= cap, f"room of event {event_id}: {taken} taken > {cap}"
    for code in rows.codes:
        used = by_code[code.id]  # type: ignore[index]
        assert code.max_uses is None or used <= code.max_uses, f"code {code.id} used {used} times"


def seats(rows: Rows, key: bytes) -> None:
    """No seat both held and sold: tickets follow their order's status, one per line seat."""
    per_order: dict[int, Counter[str]] = defaultdict(Counter)
    for t in rows.tickets:
        per_order[t.order_id][t.status] += 1
        order = rows.orders[t.order_id]
        if t.status == TicketStatus.HELD:
            assert order.status == OrderStatus.PENDING, f"held ticket {t.id} of a {order.status}"
        if t.status == TicketStatus.VALID:
            assert order.status == OrderStatus.PAID, f"valid ticket {t.id} of a {order.status}"
            assert t.code and tickets.verify(t.code, key), f"ticket {t.id} has no good code"
    wanted: Counter[int] = Counter()
    for line in rows.lines:
        wanted[line.order_id] += line.quantity
    for order_id, order in rows.orders.items():
        got = per_order[order_id]
        assert sum(got.values()) == wanted[order_id], f"order {order_id} has lost tickets"
        if order.status == OrderStatus.PENDING:
            assert set(got) == {TicketStatus.HELD}, f"pending order {order_id}: {dict(got)}"
        if order.status == OrderStatus.PAID:
            # A paid order whose every ticket was released waits for the list to take them.
            assert got[TicketStatus.VALID] + got[TicketStatus.RETURNED] >= 1, (
                f"paid order {order_id} without a valid or released ticket"
            )
            assert not got[TicketStatus.HELD] and not got[TicketStatus.RELEASED]


def money(rows: Rows, standin: StandIn) -> None:
    """Refunded <= paid, in the app and in Stripe; every paid order has its tickets or a
    refund owed or made for them."""
    sums: dict[int, Counter[str]] = defaultdict(Counter)
    for r in rows.refunds:
        assert r.amount > 0, f"refund {r.id} of {r.amount}"
        sums[r.order_id][r.status] += r.amount
    for order_id, order in rows.orders.items():
        assert 0 <= order.amount_refunded <= order.total, f"order {order_id} over-refunded"
        assert 0 <= order.refund_due <= order.total - order.amount_refunded
        s = sums[order_id]
        assert s["succeeded"] + s["pending"] <= order.total, f"order {order_id} refunds > total"
        charge = charge_of(standin, order)
        if charge is None:
            continue
        assert charge["amount_refunded"] <= charge["amount"]
        assert charge["amount"] == order.total, f"order {order_id} charged {charge['amount']}"
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            back = max(order.amount_refunded, s["succeeded"]) + s["pending"]
            assert back >= order.total or charge["amount_refunded"] >= order.total, (
                f"order {order_id} ({order.status}, {order.status_reason}) was paid "
                f"{order.total} and has only {back} refunded or owed"
            )
    owed: Counter[int] = Counter()
    for t in rows.tickets:
        if t.status == TicketStatus.CANCELLED and rows.orders[t.order_id].total:
            owed[t.order_id] += 1
    for order_id in owed:
        order = rows.orders[order_id]
        if order.status == OrderStatus.PAID and charge_of(standin, order) is not None:
            s = sums[order_id]
            back = max(order.amount_refunded, s["succeeded"]) + s["pending"]
            assert back > 0, f"paid order {order_id} has cancelled tickets and no refund"


def released(rows: Rows) -> None:
    """A released ticket belongs to an order that was paid; the refund it points to (if
    its money is, or is being, returned) is of its own order and never more than the share
    of the tickets it covers."""
    refunds = {r.id: r for r in rows.refunds}
    covered: dict[int, list[Ticket]] = defaultdict(list)
    for t in rows.tickets:
        if t.status != TicketStatus.RETURNED:
            continue
        order = rows.orders[t.order_id]
        assert OrderStatus.PAID in rows.history[t.order_id], f"released ticket {t.id} unpaid"
        assert order.status != OrderStatus.PENDING, f"released ticket {t.id} of a pending order"
        if t.refund_id is not None:
            covered[t.refund_id].append(t)
    for refund_id, mine in covered.items():
        refund = refunds.get(refund_id)
        assert refund is not None, f"released tickets point at a missing refund {refund_id}"
        assert {t.order_id for t in mine} == {refund.order_id}, f"refund {refund_id} crosses"
        share = sum(t.price for t in mine)
        assert refund.amount <= share, (
            f"refund {refund_id} of {refund.amount} for released tickets worth {share}"
        )


def waitlist(rows: Rows, now: datetime) -> None:
    """No entry has two open offers; an open offer (a pending, unexpired order for an
    entry) belongs to an entry that is offered it, or that left while paying it; an offered
    entry's order is its own and not paid; a taken entry's order was paid."""
    open_offers: Counter[int] = Counter()
    for order in rows.orders.values():
        if order.waitlist_entry_id is None:
            continue
        entry = rows.entries.get(order.waitlist_entry_id)
        assert entry is not None, f"offer {order.id} of a missing entry"
        if order.status == OrderStatus.PENDING and order.expires_at > now:
            open_offers[entry.id] += 1  # type: ignore[index]
            offered = entry.status == WaitlistStatus.OFFERED and entry.offer_order_id == order.id
            paying = entry.status == WaitlistStatus.LEFT and order.stripe_session_id is not None
            assert offered or paying, (
                f"open offer {order.id} of entry {entry.id}, which is {entry.status} "
                f"(its offer {entry.offer_order_id})"
            )
    two = {e: n for e, n in open_offers.items() if n > 1}
    assert not two, f"entries with two open offers: {two}"
    for entry in rows.entries.values():
        order = rows.orders.get(entry.offer_order_id or 0)
        if entry.status == WaitlistStatus.OFFERED:
            assert order is not None and order.waitlist_entry_id == entry.id
            assert order.status != OrderStatus.PAID, f"entry {entry.id} offered a paid order"
        if entry.status == WaitlistStatus.TAKEN:
            assert order is not None and OrderStatus.PAID in rows.history[order.id], (  # type: ignore[index]
                f"entry {entry.id} taken, its offer never paid"
            )


def served(rows: Rows, now: datetime, event_id: int | None = None) -> int:
    """Right after the offer job (at every event), or after a step that offers the free
    seats of one event (`event_id`), at those on sale whose offers are not paused: an entry
    is offered exactly when its offer is open, and nobody waits whose request fits the
    seats that are free. Returns how many waiting entries were checked."""
    checked = 0
    for entry in rows.entries.values():
        if event_id is not None and entry.event_id != event_id:
            continue
        event = rows.events[entry.event_id]
        if event.status != "published" or event.starts_at <= now:
            continue
        order = rows.orders.get(entry.offer_order_id or 0)
        open_ = order is not None and order.status == OrderStatus.PENDING and order.expires_at > now
        if entry.status == WaitlistStatus.OFFERED:
            assert open_, f"entry {entry.id} still offered an offer that lapsed"
        if event.waitlist_paused or entry.status != WaitlistStatus.WAITING:
            continue
        checked += 1
        assert not rows.request_fits(entry, now), (
            f"entry {entry.id} ({entry.quantity} x {entry.ticket_type_id}) waits while its "
            f"seats are free: taken {dict(rows.taken(entry.event_id, now))}"
        )
    return checked


def charge_of(standin: StandIn, order: Order) -> dict[str, Any] | None:
    """The stand-in's succeeded charge for the order's payment, if it has one."""
    if not order.stripe_session_id:
        return None
    with standin.lock:
        record = standin.sessions.get(order.stripe_session_id)
        pi = standin.find(record.payment_intent) if record and record.payment_intent else None
        if pi is None or not pi.get("latest_charge"):
            return None
        charge = standin.find(pi["latest_charge"])
        return dict(charge) if charge and charge["status"] == "succeeded" else None


def mail(rows: Rows) -> None:
    """Exactly one confirmation row per order that was ever paid, none for the others."""
    for order_id in rows.orders:
        paid = OrderStatus.PAID in rows.history[order_id]
        got = rows.confirmations[order_id]
        assert got == (1 if paid else 0), f"order {order_id}: {got} confirmations, paid={paid}"


def door(rows: Rows, admitted: Counter[int], undone: Counter[int]) -> None:
    """One standing admission per ticket, and no ticket let in twice unless the second
    entry was recorded as a conflict."""
    standing = Counter(c.ticket_id for c in rows.checkins if c.undone_at is None)
    assert all(n <= 1 for n in standing.values()), f"tickets admitted twice: {standing}"
    for ticket_id, n in admitted.items():
        assert n - undone[ticket_id] <= 1 + rows.conflicts[ticket_id], (
            f"ticket {ticket_id} let in {n} times, {undone[ticket_id]} undone, "
            f"{rows.conflicts[ticket_id]} conflicts recorded"
        )


def transitions(rows: Rows, seen: dict[int, tuple[str, int]]) -> None:
    """Each order's history is a walk through the diagram ending at its status, and only
    grows; `seen` keeps (status, history length) from the last check."""
    for order_id, order in rows.orders.items():
        hist = rows.history[order_id]
        walk = [s for i, s in enumerate(hist) if i == 0 or s != hist[i - 1]]
        assert walk and walk[0] in STARTS, f"order {order_id} started as {walk[:1]}"
        # Only the guest list's complimentary orders start paid; a sale starts with its hold.
        assert order.complimentary or walk[0] == "pending", f"order {order_id} started paid"
        for a, b in zip(walk, walk[1:], strict=False):
            assert (a, b) in ALLOWED, f"order {order_id} went {a} -> {b} (history {walk})"
        assert walk[-1] == order.status, f"order {order_id} is {order.status}, history {walk}"
        before = seen.get(order_id)
        length = len(rows.history[order_id])
        if before is not None:
            assert length >= before[1], f"order {order_id} lost history"
        seen[order_id] = (order.status, length)


def settled(rows: Rows, standin: StandIn, unobserved: set[str]) -> None:
    """Once every job has run and every webhook Stripe would still retry has arrived: no
    refund is pending, the app's refunded amounts are Stripe's, and every payment Stripe
    took is an order that is paid, or cancelled or refunded with its money back."""
    for r in rows.refunds:
        assert r.status != "pending", f"refund {r.id} still pending after the jobs ran"
    for order_id, order in rows.orders.items():
        charge = charge_of(standin, order)
        if charge is None:
            continue
        assert order.refund_due == 0, f"order {order_id} still owes {order.refund_due}"
        if order.stripe_session_id in unobserved or charge["payment_intent"] in unobserved:
            continue  # the app was never told (a webhook that never arrived)
        assert order.amount_refunded == charge["amount_refunded"], (
            f"order {order_id} ({order.status}, {order.status_reason}): app says "
            f"{order.amount_refunded} refunded, Stripe {charge['amount_refunded']}"
        )
        assert order.status in (OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.REFUNDED), (
            f"order {order_id} was paid in Stripe and is {order.status}"
        )
        if order.status != OrderStatus.PAID:
            assert charge["amount_refunded"] == order.total, (
                f"order {order_id} is {order.status} ({order.status_reason}) and Stripe "
                f"refunded {charge['amount_refunded']} of {order.total}"
            )
