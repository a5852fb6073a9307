"""Buyers' access needs: a few checkboxes and a short note on the order, which the buyer
edits from their order page, and which organisers see per event, in the attendees CSV and
at the door beside the name."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from booking.domain import audit, inputs, orders
from booking.domain.order_changes import NotChangeable
from booking.models import Event, Order, OrderStatus

NEEDS = {
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "bsl": "BSL interpretation",
    "captioning": "Live captioning",
    "other": "Other",
}
MAX_NOTE = 200


@dataclass(frozen=True)
class Needs:
    keys: tuple[str, ...] = ()
    note: str = ""

    @property
    def labels(self) -> list[str]:
        return [NEEDS[k] for k in self.keys]

    @property
    def text(self) -> str:
        """One line for a list, a CSV cell or the door: "Hearing loop; BSL interpretation:
        note"."""
        listed = "; ".join(self.labels)
        if self.note:
            return f"{listed}: {self.note}" if listed else self.note
        return listed

    def __bool__(self) -> bool:
        return bool(self.keys or self.note)


def stored(keys: str, note: str) -> Needs:
    """Needs from an order's two columns (unknown keys, from an older list, are left out)."""
    return Needs(tuple(k for k in keys.split(",") if k in NEEDS), note)


def of(order: Order) -> Needs:
    """The needs stored on an order."""
    return stored(order.access_needs, order.access_note)


def read_form(chosen: Iterable[str], note: str | None) -> tuple[Needs, dict[str, str]]:
    """The checked boxes (in the list's order) and the note, and any messages by field."""
    errors = inputs.Errors()
    picked = set(chosen)
    if picked - set(NEEDS):
        errors["needs"] = "Select access needs from the list"
    text = (
        errors.take(
            "access_note",
            lambda: inputs.text(note, name="Your note", limit=MAX_NOTE),
        )
        or ""
    )
    return Needs(tuple(k for k in NEEDS if k in picked), text), dict(errors)


def save(session: Session, *, token: str, needs: Needs, now: datetime) -> Order:
    """Store the buyer's access needs on their paid order, with an audit entry when they
    change. Raises NotFound or NotChangeable (unpaid, or the event has finished)."""
    with session.begin():
        order = orders.by_token(session, token=token)
        event = session.get(Event, order.event_id)
        assert event is not None and order.id is not None
        if order.status != OrderStatus.PAID:
            raise NotChangeable("Access needs can only be given on a paid order")
        if (event.ends_at or event.starts_at) <= now:
            raise NotChangeable("This event has finished, so access needs can no longer change")
        before = of(order)
        if before == needs:
            return order
        order.access_needs = ",".join(needs.keys)
        order.access_note = needs.note
        session.add(order)
        audit.record(
            session,
            "order.access_needs_changed",
            subject_type="order",
            subject_id=order.id,
            actor="buyer",
            now=now,
            event_id=order.event_id,
            order_id=order.id,
            data={"needs": {"before": before.text, "after": needs.text}},
        )
    return order


@dataclass(frozen=True)
class Tally:
    """How many paid orders asked for each need, for the organisers' event page."""

    counts: list[tuple[str, int]]  # (label, orders) in the list's order, zeros left out
    notes: list[tuple[str, str]]  # (buyer name, note)
    orders: int  # paid orders with any need

    def __bool__(self) -> bool:
        return self.orders > 0


def tally(session: Session, *, event_id: int) -> Tally:
    """Access needs over the event's paid orders."""
    paid = session.exec(
        select(Order).where(
            Order.event_id == event_id,
            Order.status == OrderStatus.PAID,
            (Order.access_needs != "") | (Order.access_note != ""),
        )
    ).all()
    counted: Counter[str] = Counter()
    notes = []
    for order in paid:
        needs = of(order)
        counted.update(needs.keys)
        if needs.note:
            notes.append((order.buyer_name, needs.note))
    counts = [(label, counted[key]) for key, label in NEEDS.items() if counted[key]]
    return Tally(counts, notes, len(paid))
