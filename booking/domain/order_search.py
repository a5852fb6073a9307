"""Finding orders in the back office: search, filters and keyset paging.

Pages are keyed on the order id, newest first: "older" asks for ids below the last one
shown and "newer" for ids above the first, so a deep page costs what the first one does.
Without a search every predicate has an index (event, status, promo link, and the ticket
type through the ticket table). A search that looks like a reference (an order reference,
a ticket code or its 8-character short form, with a digit in it) only uses the unique
indexes on those; anything else also matches part of a buyer's name or email.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from booking.domain import tickets
from booking.domain.errors import NotFound
from booking.models import Event, Order, OrderStatus, PromoLink, Ticket, TicketType

PAGE_SIZE = 50
MAX_QUERY = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integers on both databases
NO_PROMO = 0  # the promo filter's value for "came without a promo link"
ORDER_REFERENCE_LENGTH = 10
_ALIASES = str.maketrans("OIL", "011")  # as people misread Crockford base32


@dataclass(frozen=True)
class Filters:
    event_id: int | None = None
    q: str = ""
    status: OrderStatus | None = None
    ticket_type_id: int | None = None
    promo_link_id: int | None = None  # NO_PROMO for orders without one

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the event narrows the list."""
        return bool(self.q or self.status or self.ticket_type_id or self.promo_link_id is not None)


@dataclass(frozen=True)
class Row:
    order: Order
    event_title: str
    tickets: int
    promo_label: str = ""  # the promo link's label, when the order came through one

    @property
    def came_from(self) -> str:
        """Where the order came from, in words: the guest list, a promo link (the article it
        sits in), a campaign, or "Direct"."""
        if self.order.complimentary:
            return "Guest list"
        if self.promo_label:
            return self.promo_label
        source = self.order.source
        if source.startswith("utm:"):
            return "Campaign " + source.removeprefix("utm:").strip("/").replace("/", ", ")
        if source.startswith("link:"):
            return "Promo link " + source.removeprefix("link:")
        return source or "Direct"

    @property
    def partly_refunded(self) -> bool:
        """Paid, with some of it refunded or on its way back."""
        o = self.order
        return o.status == OrderStatus.PAID and (o.amount_refunded + o.refund_due) > 0


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    newer: int | None  # the `after` cursor for the page of newer orders, if there is one
    older: int | None  # the `before` cursor for the page of older orders, if there is one


def parse_id(raw: object) -> int | None:
    """A positive 32-bit id from text, or None for anything else."""
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def parse_filters(
    raw: Mapping[str, Any],
    *,
    event_id: int | None,
    ticket_type_ids: set[int] | None = None,
    promo_link_ids: set[int] | None = None,
    event_ids: set[int] | None = None,
) -> tuple[Filters, dict[str, str]]:
    """Query-string values to filters, with an error per value that is not on offer."""
    errors: dict[str, str] = {}
    typed = str(raw.get("q", ""))
    q = " ".join(
        "".join(c for c in typed if unicodedata.category(c) != "Cc" or c.isspace()).split()
    )
    if len(q) > MAX_QUERY:
        errors["q"] = f"Search must be {MAX_QUERY} characters or fewer"
    status = None
    if raw.get("status"):
        try:
            status = OrderStatus(str(raw["status"]))
        except ValueError:
            errors["status"] = "Select a status from the list"
    type_id = None
    if raw.get("ticket_type"):
        type_id = parse_id(raw["ticket_type"])
        if type_id is None or type_id not in (ticket_type_ids or set()):
            errors["ticket_type"] = "Select a ticket type from the list"
    promo = None
    if raw.get("promo"):
        promo = NO_PROMO if raw["promo"] == "none" else parse_id(raw["promo"])
        if promo is None or (promo != NO_PROMO and promo not in (promo_link_ids or set())):
            errors["promo"] = "Select a promo link from the list"
    if event_id is None and raw.get("event"):
        event_id = parse_id(raw["event"])
        if event_id is None or event_id not in (event_ids or set()):
            errors["event"] = "Select an event from the list"
    filters = Filters(
        event_id=event_id, q=q, status=status, ticket_type_id=type_id, promo_link_id=promo
    )
    return filters, errors


def _code_like(text: str) -> tuple[str, bool]:
    """The search as a ticket or order code (upper case, no dashes or spaces, typos
    mended), and whether it can only be one: the right length with a digit in it."""
    typed = tickets.normalise(text)
    key = typed.translate(_ALIASES)
    if not key or any(c not in tickets.ALPHABET for c in key):
        return "", False
    lengths = (tickets.REFERENCE_LENGTH, ORDER_REFERENCE_LENGTH, tickets.CODE_LENGTH)
    if len(key) not in lengths:
        return "", False
    return key, any(c.isdigit() for c in typed)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search(text: str) -> Any:
    key, only_code = _code_like(text)
    found = []
    if len(key) == ORDER_REFERENCE_LENGTH:
        found.append(col(Order.reference) == f"{key[:5]}-{key[5:]}")
    elif len(key) == tickets.CODE_LENGTH:
        found.append(col(Order.id).in_(select(Ticket.order_id).where(Ticket.code == key)))
    elif key:
        # Every code is 26 characters of the alphabet, "0" lowest and "Z" highest, so this
        # range is exactly the codes starting with `key`, and the unique index serves it.
        rest = tickets.CODE_LENGTH - len(key)
        prefix = col(Ticket.code).between(key + "0" * rest, key + "Z" * rest)
        found.append(col(Order.id).in_(select(Ticket.order_id).where(prefix)))
    if not only_code:
        like = f"%{_escape_like(text)}%"
        found.append(col(Order.buyer_name).ilike(like, escape="\\"))
        found.append(col(Order.buyer_email).ilike(like, escape="\\"))
    return or_(*found)


def _predicates(filters: Filters) -> list[Any]:
    where: list[Any] = []
    if filters.event_id is not None:
        where.append(col(Order.event_id) == filters.event_id)
    if filters.status is not None:
        where.append(col(Order.status) == filters.status)
    if filters.promo_link_id == NO_PROMO:
        where.append(col(Order.promo_link_id).is_(None))
    elif filters.promo_link_id is not None:
        where.append(col(Order.promo_link_id) == filters.promo_link_id)
    if filters.ticket_type_id is not None:
        of_type = select(Ticket.order_id).where(Ticket.ticket_type_id == filters.ticket_type_id)
        where.append(col(Order.id).in_(of_type))
    if filters.q:
        where.append(_search(filters.q))
    return where


def search(
    session: Session,
    *,
    filters: Filters,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of orders matching `filters`, newest first, in two queries.

    `before` gives the page of orders older than that id, `after` the page newer than it.
    """
    stmt = (
        select(Order, Event.title)
        .join(Event, col(Event.id) == Order.event_id)
        .where(*_predicates(filters))
    )
    if after is not None:
        stmt = stmt.where(col(Order.id) > after).order_by(col(Order.id).asc())
    else:
        if before is not None:
            stmt = stmt.where(col(Order.id) < before)
        stmt = stmt.order_by(col(Order.id).desc())
    found = list(session.exec(stmt.limit(size + 1)).all())
    more = len(found) > size
    found = found[:size]
    if after is not None:
        found.reverse()
    counts = _ticket_counts(session, [order.id for order, _ in found if order.id])
    labels = _promo_labels(session, {o.promo_link_id for o, _ in found if o.promo_link_id})
    rows = [
        Row(order, title, counts.get(order.id or 0, 0), labels.get(order.promo_link_id or 0, ""))
        for order, title in found
    ]
    if not rows:
        return Page(rows, None, None)
    first, last = rows[0].order.id, rows[-1].order.id
    if after is not None:
        return Page(rows, newer=first if more else None, older=last)
    return Page(rows, newer=first if before is not None else None, older=last if more else None)


def _promo_labels(session: Session, link_ids: set[int]) -> dict[int, str]:
    if not link_ids:
        return {}
    rows = session.exec(
        select(PromoLink.id, PromoLink.label).where(col(PromoLink.id).in_(link_ids))
    ).all()
    return {int(i): label for i, label in rows if i is not None}


def _ticket_counts(session: Session, order_ids: list[int]) -> dict[int, int]:
    if not order_ids:
        return {}
    rows = session.exec(
        select(Ticket.order_id, func.count())
        .where(col(Ticket.order_id).in_(order_ids))
        .group_by(col(Ticket.order_id))
    ).all()
    return {order_id: int(count) for order_id, count in rows}


@dataclass(frozen=True)
class Choices:
    """What the filters offer: one event's ticket types and promo links, or every event."""

    event: Event | None
    ticket_types: list[TicketType]
    promo_links: list[PromoLink]
    events: list[tuple[int, str]]


def choices(session: Session, *, event_id: int | None) -> Choices:
    """The filter options for one event's orders, or for all orders. Raises NotFound."""
    if event_id is None:
        events = session.exec(
            select(Event.id, Event.title).order_by(col(Event.starts_at).desc())
        ).all()
        return Choices(None, [], [], [(int(i), title) for i, title in events if i])
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event with this number")
    types = session.exec(
        select(TicketType)
        .where(TicketType.event_id == event_id)
        .order_by(col(TicketType.position), col(TicketType.id))
    ).all()
    links = session.exec(
        select(PromoLink).where(PromoLink.event_id == event_id).order_by(col(PromoLink.id))
    ).all()
    return Choices(event, list(types), list(links), [])
