"""Everything the back office shows about one order, read in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from booking.domain import activity, audit, devices, outbox, refunds
from booking.domain.errors import NotFound
from booking.domain.order_changes import TicketLine, numbered_tickets
from booking.models import (
    AccessCode,
    AuditEntry,
    CheckIn,
    Event,
    MailOutbox,
    Order,
    OrderHistory,
    OrderLine,
    PromoLink,
    Refund,
    TicketStatus,
    User,
)


@dataclass(frozen=True)
class AdminTicket:
    line: TicketLine
    checked_in_at: datetime | None  # the admission that stands (not undone)

    @property
    def valid(self) -> bool:
        return self.line.ticket.status == TicketStatus.VALID


@dataclass(frozen=True)
class TrailItem:
    """One line of the order's history: a status change, or an audited action."""

    at: datetime
    what: str
    who: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    entry: AuditEntry | None = None  # told as a sentence by the page


@dataclass(frozen=True)
class OrderDetail:
    order: Order
    event: Event
    lines: list[OrderLine]
    tickets: list[AdminTicket]
    refunds: list[Refund]
    refund_authors: dict[int, str]
    mails: list[MailOutbox]
    checkins: list[tuple[CheckIn, TicketLine]]
    trail: list[TrailItem]
    promo_link: PromoLink | None
    access_code: AccessCode | None
    refundable: int
    names: activity.Names = field(default_factory=activity.Names)

    @property
    def valid_tickets(self) -> list[AdminTicket]:
        return [t for t in self.tickets if t.valid]


def get_order(session: Session, *, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("No order with this number")
    return order


_STATUS_WORDS = {
    "pending": "Order placed; tickets held while the buyer pays",
    "paid": "Paid",
    "expired": "Not paid in time; the tickets went back on sale",
    "failed": "The payment failed; the tickets went back on sale",
    "cancelled": "Order cancelled",
    "refunded": "Order refunded",
}
_NOTES_SAID = {"", "paid", "pending", "cancelled", "refunded", "expired", "failed"}


def _history_words(h: OrderHistory, status: str) -> str:
    note = h.note[:1].upper() + h.note[1:]
    if h.status == status:  # a note, not a change
        return note or _STATUS_WORDS.get(h.status, h.status)
    if h.status == "pending" or h.note in _NOTES_SAID:
        return _STATUS_WORDS.get(h.status, h.status)
    if h.status == "paid":
        return note
    return f"{_STATUS_WORDS.get(h.status, h.status)}: {h.note}"


def _trail(history: list[OrderHistory], entries: list[AuditEntry]) -> list[TrailItem]:
    """One item per action: where an audited action also left a note in the order's
    history (in the same transaction, so at the same moment), the audit entry tells it."""
    audited = {e.at for e in entries}
    items: list[TrailItem] = []
    status = ""
    for h in history:
        if h.at not in audited:
            items.append(TrailItem(h.at, _history_words(h, status)))
        status = h.status
    items += [TrailItem(e.at, e.action, e.actor, e.data or {}, e) for e in entries]
    return sorted(items, key=lambda item: item.at)


def load(session: Session, *, order_id: int) -> OrderDetail:
    """The order page's data. Raises NotFound."""
    order = get_order(session, order_id=order_id)
    event = session.get(Event, order.event_id)
    assert event is not None and order.id is not None
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all())
    numbered = numbered_tickets(session, order_id=order.id)
    by_ticket = {line.ticket.id: line for line in numbered}
    checkins = list(
        session.exec(
            select(CheckIn)
            .where(col(CheckIn.ticket_id).in_(list(by_ticket)))
            .order_by(col(CheckIn.at), col(CheckIn.id))
        ).all()
        if by_ticket
        else []
    )
    admitted = {c.ticket_id: c.at for c in checkins if c.undone_at is None}
    refund_rows = refunds.for_order(session, order_id=order.id)
    authors = {r.created_by for r in refund_rows if r.created_by}
    names = (
        {u.id: u.email for u in session.exec(select(User).where(col(User.id).in_(authors)))}
        if authors
        else {}
    )
    history = list(
        session.exec(
            select(OrderHistory)
            .where(OrderHistory.order_id == order.id)
            .order_by(col(OrderHistory.at), col(OrderHistory.id))
        ).all()
    )
    entries = audit.for_order(session, order_id=order.id)
    told = activity.names_for(session, entries)
    told.devices.update(devices.names(session, keys={c.device for c in checkins}))
    return OrderDetail(
        names=told,
        order=order,
        event=event,
        lines=lines,
        tickets=[AdminTicket(line, admitted.get(line.ticket.id or 0)) for line in numbered],
        refunds=refund_rows,
        refund_authors={k: v for k, v in names.items() if k is not None},
        mails=outbox.recent(session, order_id=order.id, limit=100),
        checkins=[(c, by_ticket[c.ticket_id]) for c in checkins],
        trail=_trail(history, entries),
        promo_link=session.get(PromoLink, order.promo_link_id) if order.promo_link_id else None,
        access_code=(
            session.get(AccessCode, order.access_code_id) if order.access_code_id else None
        ),
        refundable=refunds.refundable(session, order=order),
    )
