"""Sales per promo link, per access code and per co-organiser: the report a newsroom wants."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from booking.models import (
    AccessCode,
    CheckIn,
    Order,
    OrderStatus,
    Organisation,
    PromoLink,
    PromoVisit,
    Ticket,
    TicketStatus,
)

PAID = (OrderStatus.PAID,)


@dataclass
class Row:
    key: str
    label: str
    visits: int = 0
    bot_visits: int = 0
    orders_started: int = 0
    orders_paid: int = 0
    tickets: int = 0
    revenue: int = 0
    attended: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def conversion(self) -> float | None:
        """Paid orders per human visit."""
        return self.orders_paid / self.visits if self.visits else None


@dataclass
class Report:
    links: list[Row]
    codes: list[Row]
    organisations: list[Row]
    utm: list[Row]
    direct: Row


# Per value of a column: orders started, (orders paid, revenue), tickets, attended.
_Stats = tuple[dict[Any, int], dict[Any, tuple[int, int]], dict[Any, int], dict[Any, int]]


def _order_stats(session: Session, event_id: int, column: Mapped[Any]) -> _Stats:
    """Per value of `column`: orders started, orders paid, revenue."""
    started = dict(
        session.exec(
            select(column, func.count()).where(Order.event_id == event_id).group_by(column)
        ).all()
    )
    paid = {
        key: (count, revenue)
        for key, count, revenue in session.exec(
            select(
                column,
                func.count(),
                func.coalesce(func.sum(Order.total - Order.amount_refunded), 0),
            )
            .where(Order.event_id == event_id, col(Order.status).in_(PAID))
            .group_by(column)
        ).all()
    }
    tickets = dict(
        session.exec(
            select(column, func.count())
            .select_from(Ticket)
            .join(Order, col(Order.id) == Ticket.order_id)
            .where(Order.event_id == event_id, Ticket.status == TicketStatus.VALID)
            .group_by(column)
        ).all()
    )
    attended = dict(
        session.exec(
            select(column, func.count())
            .select_from(CheckIn)
            .join(Ticket, col(Ticket.id) == CheckIn.ticket_id)
            .join(Order, col(Order.id) == Ticket.order_id)
            .where(Order.event_id == event_id, col(CheckIn.undone_at).is_(None))
            .group_by(column)
        ).all()
    )
    return started, paid, tickets, attended


def _fill(row: Row, key: object, stats: _Stats) -> Row:
    started, paid, tickets, attended = stats
    row.orders_started = int(started.get(key, 0))
    row.orders_paid, row.revenue = (int(v) for v in paid.get(key, (0, 0)))
    row.tickets = int(tickets.get(key, 0))
    row.attended = int(attended.get(key, 0))
    return row


def build(session: Session, *, event_id: int) -> Report:
    links = list(
        session.exec(
            select(PromoLink).where(PromoLink.event_id == event_id).order_by(col(PromoLink.id))
        ).all()
    )
    visits: dict[tuple[object, bool], int] = defaultdict(int)
    for link_id, source, bot, count in session.exec(
        select(PromoVisit.promo_link_id, PromoVisit.source, PromoVisit.bot, func.count())
        .where(PromoVisit.event_id == event_id)
        .group_by(col(PromoVisit.promo_link_id), col(PromoVisit.source), col(PromoVisit.bot))
    ).all():
        visits[(link_id if link_id else source, bool(bot))] += int(count)

    by_link = _order_stats(session, event_id, col(Order.promo_link_id))
    link_rows = []
    for link in links:
        row = _fill(Row(link.code, link.label, extra={"code": link.code}), link.id, by_link)
        row.visits, row.bot_visits = visits[(link.id, False)], visits[(link.id, True)]
        link_rows.append(row)
    direct = _fill(Row("direct", "Direct and other"), None, by_link)

    by_code = _order_stats(session, event_id, col(Order.access_code_id))
    codes = session.exec(
        select(AccessCode).where(AccessCode.event_id == event_id).order_by(col(AccessCode.id))
    ).all()
    code_rows = [_fill(Row(c.code, c.label or c.code), c.id, by_code) for c in codes]

    org_names = {o.id: o.name for o in session.exec(select(Organisation)).all()}
    org_rows: dict[int | None, Row] = {}
    for link, row in zip(links, link_rows, strict=True):
        key = link.organisation_id
        name = org_names.get(key, "No organisation") if key else "No organisation"
        total = org_rows.setdefault(key, Row(str(key or ""), name))
        for attr in (
            "visits",
            "bot_visits",
            "orders_started",
            "orders_paid",
            "tickets",
            "revenue",
            "attended",
        ):
            setattr(total, attr, getattr(total, attr) + getattr(row, attr))

    by_source = _order_stats(session, event_id, col(Order.source))
    utm_rows = []
    sources = {s for (s, _bot) in visits if isinstance(s, str) and s.startswith("utm:")}
    sources |= {s for s in by_source[0] if isinstance(s, str) and s.startswith("utm:")}
    for source in sorted(sources):
        row = _fill(Row(source, source.removeprefix("utm:")), source, by_source)
        row.visits, row.bot_visits = visits[(source, False)], visits[(source, True)]
        utm_rows.append(row)
    return Report(link_rows, code_rows, list(org_rows.values()), utm_rows, direct)
