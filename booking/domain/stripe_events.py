"""Stripe events already handled: each event id is acted on at most once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from booking.models import StripeEvent


def claim(session: Session, *, event_id: str, event_type: str, now: datetime) -> bool:
    """Record the event inside the caller's transaction; False if it was handled before.

    A concurrent delivery of the same id waits on the primary key and then fails with an
    IntegrityError when the first commits, which rolls back its whole transaction.
    """
    if session.get(StripeEvent, event_id) is not None:
        return False
    session.add(StripeEvent(id=event_id, type=event_type, received_at=now))
    session.flush()
    return True
