"""The SMTP server down for an hour of (fake) time, then back, while orders keep coming and
two senders run every minute: no email is lost, none is sent twice, and no row is tried
before its backoff is up (1, 2, 4 … minutes, at most an hour)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from booking.domain import outbox
from booking.models import MailOutbox, OutboxStatus
from tests.conftest import SMTPServer, free_port
from tests.faults.conftest import budget
from tests.mail.flows import deliver, free_orders, sender

pytestmark = pytest.mark.slow
DOWN = timedelta(hours=1)
STEP = timedelta(minutes=1)
ORDERS_PER_WAVE = 3


def _backoff(attempts: int) -> timedelta:
    """The shortest wait after the n-th failed attempt (before jitter)."""
    return min(outbox.BACKOFF_FIRST * 2 ** (attempts - 1), outbox.BACKOFF_MAX)


def _rows(session) -> dict[int, MailOutbox]:  # type: ignore[no-untyped-def]
    """The outbox as it is now (copies: the session's own objects change on the next read)."""
    rows = {
        r.id: r.model_copy() for r in session.exec(select(MailOutbox).order_by(col(MailOutbox.id)))
    }
    session.commit()
    return rows  # type: ignore[return-value]


def test_smtp_down_for_an_hour_then_back(session, settings, db, clock, figures):
    server = SMTPServer(free_port())  # nothing listening: the server is down
    smtp_settings = server.settings_for(settings)
    senders = [sender(smtp_settings, db, clock), sender(smtp_settings, db, clock)]
    start = clock.now
    waves = {start + timedelta(minutes=m) for m in (0, 7, 30, 59, 61)}
    tried: dict[int, list] = {}  # outbox id -> when each attempt was made
    checks = 0
    try:
        step = 0
        while True:
            now = clock.now
            if now in waves:
                free_orders(session, db, settings, count=ORDERS_PER_WAVE * budget(), now=now)
            if now - start == DOWN:
                server.start()
                figures["server_back_at_minute"] = step
            before = _rows(session)
            due = {
                i
                for i, r in before.items()
                if r.status == OutboxStatus.QUEUED and r.next_attempt_at <= now
            }
            deliver(senders[step % 2])
            after = _rows(session)
            attempted = {i for i, r in after.items() if r.attempts > before[i].attempts}
            # Exactly the rows that were due are tried, each once: the backoff holds.
            assert attempted == due, (step, attempted, due)
            checks += 1
            for i in attempted:
                tried.setdefault(i, []).append(now)
                assert after[i].attempts == before[i].attempts + 1
                if after[i].status == OutboxStatus.QUEUED:  # failed: next try after the backoff
                    wait = after[i].next_attempt_at - now
                    assert _backoff(after[i].attempts) <= wait <= _backoff(after[i].attempts) * 1.2
                    checks += 1
            if now - start < DOWN:
                assert not server.messages
            elif all(r.status == OutboxStatus.SENT for r in after.values()):
                break
            assert step < 4 * 60, "emails still unsent two hours after the server came back"
            clock.advance(minutes=1)
            step += 1
    finally:
        server.stop()

    rows = _rows(session)
    arrived = [str(m["Message-ID"]).strip() for m in server.messages]
    assert sorted(arrived) == sorted(r.message_id for r in rows.values())  # once each, none lost
    checks += 1
    for row in rows.values():
        times = tried[row.id]
        # Each gap between tries is at least the backoff for the attempt before it.
        for n, (earlier, later) in enumerate(zip(times, times[1:], strict=False), start=1):
            assert later - earlier >= _backoff(n)
            checks += 1
        assert len(times) == row.attempts and row.sent_at == times[-1]
    figures.update(
        emails=len(rows),
        attempts=sum(r.attempts for r in rows.values()),
        faults=sum(r.attempts - 1 for r in rows.values()),
        most_attempts=max(r.attempts for r in rows.values()),
        sender_runs=step + 1,
        fake_minutes=step,
        invariant_checks=checks,
    )
