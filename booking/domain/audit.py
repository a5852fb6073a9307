"""The audit log: who did what to which event or order, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlmodel import Session, col, select

from booking.models import AuditEntry, User


def _entry(
    action: str,
    *,
    subject_type: str,
    subject_id: int | None,
    actor: User | str,
    now: datetime,
    event_id: int | None,
    order_id: int | None,
    data: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "at": now,
        "actor_id": actor.id if isinstance(actor, User) else None,
        "actor": actor.email if isinstance(actor, User) else actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "event_id": event_id,
        "order_id": order_id,
        "data": data or {},
    }


def record(
    session: Session,
    action: str,
    *,
    subject_type: str,
    subject_id: int | None,
    actor: User | str,
    now: datetime,
    event_id: int | None = None,
    order_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry inside the caller's transaction. `data` holds before/after values."""
    entry = AuditEntry(
        **_entry(
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            actor=actor,
            now=now,
            event_id=event_id,
            order_id=order_id,
            data=data,
        )
    )
    session.add(entry)
    return entry


def insert(
    session: Session,
    action: str,
    *,
    subject_type: str,
    subject_id: int | None,
    actor: User | str,
    now: datetime,
    event_id: int | None = None,
    order_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """As `record`, written at once with one INSERT and no object kept in the session: for
    paths that count their statements (the door's admissions)."""
    session.connection().execute(
        _INSERT,
        _entry(
            action,
            subject_type=subject_type,
            subject_id=subject_id,
            actor=actor,
            now=now,
            event_id=event_id,
            order_id=order_id,
            data=data,
        ),
    )


_INSERT = sa_insert(AuditEntry)


def for_event(session: Session, *, event_id: int, limit: int = 200) -> list[AuditEntry]:
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.event_id == event_id)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(limit)
        ).all()
    )


def for_order(session: Session, *, order_id: int) -> list[AuditEntry]:
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.order_id == order_id)
            .order_by(col(AuditEntry.at), col(AuditEntry.id))
        ).all()
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Only what changed: {"capacity": {"before": 100, "after": 120}}."""
    return {
        key: {"before": before.get(key), "after": value}
        for key, value in after.items()
        if before.get(key) != value
    }
