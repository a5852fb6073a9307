"""The outbox: one row per key, claims under a lease, marks only by the claim's holder."""

from datetime import timedelta

from sqlmodel import select

from booking.domain import outbox
from booking.models import MailKind, MailOutbox, OutboxStatus
from tests.factories import NOW
from tests.mail.flows import free_orders

DOMAIN = "tickets.example.org"


def _claim(db, worker, now=NOW, limit=10, lease=outbox.LEASE):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return outbox.claim(
            s, worker=worker, now=now, limit=limit, message_id_domain=DOMAIN, lease=lease
        )


def _rows(session):  # type: ignore[no-untyped-def]
    return list(session.exec(select(MailOutbox).order_by(MailOutbox.id)).all())


def test_a_key_is_queued_once_and_a_repeat_leaves_the_transaction_alone(db, session):
    with db.write() as s:
        assert outbox.queue(
            s, kind=MailKind.CONFIRMATION, recipient="a@example.com", dedupe_key="k:1", now=NOW
        )
        assert not outbox.queue(
            s, kind=MailKind.CONFIRMATION, recipient="a@example.com", dedupe_key="k:1", now=NOW
        )
        assert outbox.queue(
            s, kind=MailKind.RESEND, recipient="a@example.com", dedupe_key="k:2", now=NOW
        )
    assert [r.dedupe_key for r in _rows(session)] == ["k:1", "k:2"]


def test_a_free_order_queues_its_confirmation_in_the_same_transaction(db, session, settings):
    [order] = free_orders(session, db, settings, count=1)
    [row] = _rows(session)
    assert (row.kind, row.order_id, row.recipient) == ("confirmation", order.id, order.buyer_email)
    assert row.dedupe_key == f"confirmation:{order.id}" and row.status == OutboxStatus.QUEUED


def test_claims_are_exclusive_until_the_lease_runs_out(db, session, settings):
    free_orders(session, db, settings, count=2, now=NOW)
    [first] = _claim(db, "a", limit=1)
    [second] = _claim(db, "b", now=NOW + timedelta(minutes=5), limit=5)
    assert first.id != second.id and _claim(db, "c", now=NOW + timedelta(minutes=5)) == []
    assert first.attempts == 1 and first.message_id.endswith(f"@{DOMAIN}>")
    # "a" stalls past its lease: "c" takes its row over, keeping the Message-ID.
    later = NOW + outbox.LEASE + timedelta(seconds=1)
    [taken] = _claim(db, "c", now=later)
    assert taken.id == first.id and taken.attempts == 2 and taken.message_id == first.message_id
    rendered = outbox.Rendered("Subject", "text", "<p>html</p>")
    with db.write_session() as s:
        assert not outbox.mark_sent(s, outbox_id=first.id, worker="a", now=later, rendered=rendered)
        assert outbox.mark_sent(s, outbox_id=first.id, worker="c", now=later, rendered=rendered)
        assert outbox.mark_sent(s, outbox_id=second.id, worker="b", now=later, rendered=rendered)
    rows = _rows(session)
    assert [r.status for r in rows] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert rows[0].subject == "Subject" and rows[0].claimed_by is None


def test_retries_back_off_then_fail_and_can_be_requeued(db, session, settings):
    free_orders(session, db, settings, count=1, now=NOW)
    now = NOW
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        [row] = _claim(db, "a", now=now)
        with db.write_session() as s:
            assert outbox.mark_retry(
                s, outbox_id=row.id, worker="a", attempts=row.attempts, now=now, error="421 busy"
            )
        [row] = _rows(session)
        if attempt < outbox.MAX_ATTEMPTS:
            assert row.status == OutboxStatus.QUEUED and row.next_attempt_at > now
            assert _claim(db, "a", now=now) == []  # not before its time
            now = row.next_attempt_at
    assert row.status == OutboxStatus.FAILED and row.last_error == "gave up: 421 busy"
    assert outbox.recent(session, status=OutboxStatus.FAILED)[0].id == row.id
    assert outbox.requeue(db.write_session(), outbox_id=row.id, now=now)
    [row] = _rows(session)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.QUEUED, 0, "")


def test_backoff_doubles_up_to_an_hour():
    assert timedelta(minutes=1) <= outbox.retry_delay(1) <= timedelta(minutes=1.2)
    assert timedelta(minutes=4) <= outbox.retry_delay(3) <= timedelta(minutes=4.8)
    assert timedelta(hours=1) <= outbox.retry_delay(20) <= timedelta(hours=1.2)
