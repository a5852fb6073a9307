"""The mail outbox: emails written in the same transaction as the change that causes them.

A sender (booking.mail) claims due rows under a lease, renders them from the database at send
time and marks each one sent, retried or failed. Claims are safe with several senders: on
PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` hands each row to one sender, on SQLite the
claim runs in a BEGIN IMMEDIATE write transaction; every later mark is conditional on the
claim still being the caller's.

Delivery is at least once: if the SMTP server accepted a message but the "sent" mark was
lost (a crash, the database gone at that moment), the row is sent again once its lease runs
out, with the same Message-ID, so mail clients show it once.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from booking.models import MailKind, MailOutbox, Order, OrderStatus, OutboxStatus

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
LEASE = timedelta(minutes=10)
MAX_ERROR = 1000


# Queueing (inside the caller's transaction) ------------------------------------------------
def queue(
    session: Session,
    *,
    kind: MailKind,
    recipient: str,
    dedupe_key: str,
    now: datetime,
    order_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Add an email to the outbox in the caller's transaction; False if its key exists.

    A key already present leaves the transaction intact (INSERT … ON CONFLICT DO NOTHING),
    so a repeated cause never fails the change it belongs to.
    """
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(MailOutbox)
        .values(
            kind=kind,
            order_id=order_id,
            recipient=recipient,
            dedupe_key=dedupe_key,
            data=data or {},
            status=OutboxStatus.QUEUED,
            attempts=0,
            next_attempt_at=now,
            last_error="",
            message_id="",
            subject="",
            body_text="",
            body_html="",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(MailOutbox.id))
    )
    return session.execute(stmt).first() is not None


def queue_for_order(session: Session, *, order: Order, kind: MailKind, now: datetime) -> bool:
    """Queue the one email of `kind` an order gets (key "{kind}:{order id}")."""
    assert order.id is not None
    return queue(
        session,
        kind=kind,
        recipient=order.buyer_email,
        dedupe_key=f"{kind}:{order.id}",
        now=now,
        order_id=order.id,
    )


def queue_resend(session: Session, *, order: Order, now: datetime) -> bool:
    """Queue the confirmation again; each request gets its own key (rate-limit it first)."""
    assert order.id is not None
    return queue(
        session,
        kind=MailKind.RESEND,
        recipient=order.buyer_email,
        dedupe_key=f"resend:{order.id}:{secrets.token_hex(8)}",
        now=now,
        order_id=order.id,
    )


def queue_speaker_announcement(
    session: Session, *, event_id: int, speaker_id: int, now: datetime
) -> int:
    """Tell every buyer with a paid order for the event about a new speaker; returns how many.

    Runs in the caller's transaction; announcing the same speaker twice queues nothing new.
    """
    paid = session.exec(
        select(Order).where(Order.event_id == event_id, Order.status == OrderStatus.PAID)
    ).all()
    queued = 0
    for order in paid:
        queued += queue(
            session,
            kind=MailKind.SPEAKER_ANNOUNCED,
            recipient=order.buyer_email,
            dedupe_key=f"speaker:{speaker_id}:{order.id}",
            now=now,
            order_id=order.id,
            data={"speaker_id": speaker_id},
        )
    return queued


# Claiming and marking (each one transaction) -------------------------------------------------
def _due(now: datetime) -> Any:
    return or_(
        and_(col(MailOutbox.status) == OutboxStatus.QUEUED, col(MailOutbox.next_attempt_at) <= now),
        and_(col(MailOutbox.status) == OutboxStatus.SENDING, col(MailOutbox.claimed_until) < now),
    )


def has_due(session: Session, *, now: datetime) -> bool:
    """Whether any row is due: a cheap read, so an idle sender takes no write lock."""
    return session.exec(select(MailOutbox.id).where(_due(now)).limit(1)).first() is not None


def claim(
    session: Session,
    *,
    worker: str,
    now: datetime,
    limit: int,
    message_id_domain: str,
    lease: timedelta = LEASE,
) -> list[MailOutbox]:
    """Take up to `limit` due rows for `worker` until now + lease, counting an attempt each.

    Due: queued and past next_attempt_at, or claimed by a sender whose lease ran out.
    """
    with session.begin():
        rows = list(
            session.exec(
                select(MailOutbox)
                .where(_due(now))
                .order_by(col(MailOutbox.next_attempt_at), col(MailOutbox.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        )
        for row in rows:
            row.status = OutboxStatus.SENDING
            row.claimed_by = worker
            row.claimed_until = now + lease
            row.attempts += 1
            if not row.message_id:
                row.message_id = make_msgid(
                    idstring=f"{row.kind}.{row.id}", domain=message_id_domain
                )
            session.add(row)
    return rows


def _finish(session: Session, *, outbox_id: int, worker: str, values: dict[str, Any]) -> bool:
    """Apply `values` if `worker` still holds the claim; False if another sender took it."""
    with session.begin():
        result = session.exec(
            update(MailOutbox)
            .where(
                col(MailOutbox.id) == outbox_id,
                col(MailOutbox.claimed_by) == worker,
                col(MailOutbox.status) == OutboxStatus.SENDING,
            )
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(result.rowcount)


@dataclass(frozen=True)
class Rendered:
    """What a message said, kept on its row for organisers to read."""

    subject: str
    text: str
    html: str


def _content(rendered: Rendered) -> dict[str, Any]:
    return {
        "subject": rendered.subject[:300],
        "body_text": rendered.text,
        "body_html": rendered.html,
    }


def mark_sent(
    session: Session, *, outbox_id: int, worker: str, now: datetime, rendered: Rendered
) -> bool:
    """The SMTP server accepted the message."""
    values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": "", **_content(rendered)}
    return _finish(session, outbox_id=outbox_id, worker=worker, values=values)


def mark_captured(
    session: Session, *, outbox_id: int, worker: str, now: datetime, rendered: Rendered
) -> bool:
    """No SMTP server is configured: keep the rendered message on the row instead."""
    values = {"status": OutboxStatus.CAPTURED, "sent_at": now, **_content(rendered)}
    return _finish(session, outbox_id=outbox_id, worker=worker, values=values)


def mark_skipped(session: Session, *, outbox_id: int, worker: str, reason: str) -> bool:
    """The email no longer applies (e.g. tickets for an order cancelled meanwhile)."""
    values = {"status": OutboxStatus.SKIPPED, "last_error": reason[:MAX_ERROR]}
    return _finish(session, outbox_id=outbox_id, worker=worker, values=values)


def mark_failed(session: Session, *, outbox_id: int, worker: str, error: str) -> bool:
    """Refused for good (e.g. the server rejected the address): no more attempts."""
    values = {"status": OutboxStatus.FAILED, "last_error": error[:MAX_ERROR]}
    return _finish(session, outbox_id=outbox_id, worker=worker, values=values)


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 1, 2, 4 … minutes, at most an hour."""
    delay: timedelta = min(BACKOFF_FIRST * 2 ** max(0, attempts - 1), BACKOFF_MAX)
    return delay * random.uniform(1.0, 1.2)  # noqa: S311 (jitter spreads out retries)


def mark_retry(
    session: Session, *, outbox_id: int, worker: str, attempts: int, now: datetime, error: str
) -> bool:
    """A temporary failure: try again after a backoff, or give up after MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        return mark_failed(session, outbox_id=outbox_id, worker=worker, error=f"gave up: {error}")
    values = {
        "status": OutboxStatus.QUEUED,
        "next_attempt_at": now + retry_delay(attempts),
        "last_error": error[:MAX_ERROR],
    }
    return _finish(session, outbox_id=outbox_id, worker=worker, values=values)


# For organisers ----------------------------------------------------------------------------
def recent(
    session: Session,
    *,
    limit: int = 50,
    status: OutboxStatus | None = None,
    order_id: int | None = None,
) -> list[MailOutbox]:
    """The newest outbox rows, with status, attempts and last error (for the back office)."""
    stmt = select(MailOutbox).order_by(col(MailOutbox.id).desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(MailOutbox.status == status)
    if order_id is not None:
        stmt = stmt.where(MailOutbox.order_id == order_id)
    return list(session.exec(stmt).all())


def requeue(session: Session, *, outbox_id: int, now: datetime) -> bool:
    """Give a failed or skipped email a fresh set of attempts, starting now."""
    with session.begin():
        result = session.exec(
            update(MailOutbox)
            .where(
                col(MailOutbox.id) == outbox_id,
                col(MailOutbox.status).in_([OutboxStatus.FAILED, OutboxStatus.SKIPPED]),
            )
            .values(status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=now, last_error="")
        )
        return bool(result.rowcount)
