"""Rate limits kept in the database, so every app process and worker shares one count.

Each key (e.g. "order-lookup:203.0.113.9", "resend:42", "login:ada@example.com") has a
fixed-window counter in `rate_bucket`. One atomic upsert both counts the hit and starts a
new window when the old one is over, on SQLite and PostgreSQL alike, so two processes
counting at once never lose a hit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import case, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from booking.domain.errors import BookingError
from booking.models import RateBucket, UTCDateTime


class RateLimited(BookingError):
    code = "rate_limited"
    status = 429


def hit_in(session: Session, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one hit against `key` in the caller's transaction; True while within `limit`.

    The window starts at the first hit and lasts `window`; the hit after that starts a new one.
    """
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(RateBucket).values(key=key[:200], window_start=now, count=1)
    table = RateBucket.__table__.c  # type: ignore[attr-defined]  # SQLModel leaves __table__ undeclared
    expired = table.window_start <= now - window
    upsert = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((expired, 1), else_=table.count + 1),
            "window_start": case((expired, literal(now, UTCDateTime())), else_=table.window_start),
        },
    ).returning(table.count)
    count = session.execute(upsert).scalar_one()
    return int(count) <= limit


def take(session: Session, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Take one of `key`'s `limit` slots in the caller's transaction; False (nothing counted)
    when they are all taken in the current window.

    One conditional upsert, so of any number of requests racing for the last slots (in any
    number of processes) at most `limit` get one: count first, then do the guarded work.
    """
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = RateBucket.__table__.c  # type: ignore[attr-defined]  # SQLModel leaves __table__ undeclared
    expired = table.window_start <= now - window
    stmt = (
        insert(RateBucket)
        .values(key=key[:200], window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case((expired, 1), else_=table.count + 1),
                "window_start": case(
                    (expired, literal(now, UTCDateTime())), else_=table.window_start
                ),
            },
            where=expired | (table.count < limit),
        )
        .returning(table.count)
    )
    return session.execute(stmt).first() is not None


def give_back(session: Session, *, key: str) -> None:
    """Return a slot taken with `take` (the guarded work turned out not to count)."""
    table = RateBucket.__table__.c  # type: ignore[attr-defined]  # SQLModel leaves __table__ undeclared
    session.execute(
        update(RateBucket)
        .where(table.key == key[:200], table.count > 0)
        .values(count=table.count - 1)
    )


def hit(session: Session, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one hit against `key` and commit; True while within `limit` hits per `window`.

    For login throttling: `if not ratelimit.hit(session, key=f"login:{email}", limit=10,
    window=timedelta(minutes=15), now=now): refuse`.
    """
    with session.begin():
        return hit_in(session, key=key, limit=limit, window=window, now=now)


def exceeded(session: Session, *, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """True when `key` has already had `limit` hits in its current window (counts nothing)."""
    bucket = session.get(RateBucket, key[:200])
    if bucket is None or bucket.window_start <= now - window:
        return False
    return bucket.count >= limit


def retry_after(session: Session, *, key: str, window: timedelta, now: datetime) -> timedelta:
    """How long until `key`'s current window ends (zero when there is none)."""
    bucket = session.get(RateBucket, key[:200])
    if bucket is None:
        return timedelta(0)
    return max(timedelta(0), bucket.window_start + window - now)


def is_blocked(
    session: Session, *, keys: Iterable[tuple[str, int]], window: timedelta, now: datetime
) -> bool:
    """True when any (key, limit) pair has reached its limit in its current window."""
    return any(
        exceeded(session, key=key, limit=limit, window=window, now=now) for key, limit in keys
    )
