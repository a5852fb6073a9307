"""The door's hot path in SQL statements: what one admission, a second scan and the door
screen's counts poll cost, pinned so that they cannot grow unnoticed (on SQLite and
PostgreSQL alike). `bench/door_rush.py` measures what they add up to."""

from __future__ import annotations

from tests.door.conftest import DoorClient, paid_tickets

# Signed-in user; the event with the door permission; this device's name | the ticket (and
# on PostgreSQL its row lock); the admission (check and insert in one); the audit entry.
ADMISSION = 6
# As an admission, the insert refused; then the nonce (checkins, conflicts), the admission
# that stands, and the other device's name.
SECOND_SCAN = 9
COUNTS_POLL = 3  # signed-in user; event and permission; the counts


def _statements(count_queries, call):  # type: ignore[no-untyped-def]
    count_queries.reset()
    answer = call()
    return answer, [" ".join(s.split()) for s in count_queries.statements]


def test_an_admission_takes_six_statements(api: DoorClient, sale, session, count_queries):  # type: ignore[no-untyped-def]
    first, second = paid_tickets(session, sale.event, sale.standard, 2)
    api.admit(first.code, device="phone-1")  # compiled statements cached, as in a running app
    answer, sql = _statements(count_queries, lambda: api.admit(second.code, device="phone-1"))
    assert answer["result"] == "admitted"
    assert len(sql) == ADMISSION, sql
    assert [s.split()[0] for s in sql[-3:]] == ["SELECT", "INSERT", "INSERT"], sql
    assert sql[-2].startswith("INSERT INTO checkin") and "NOT (EXISTS" in sql[-2], sql[-2]


def test_a_second_scan_and_the_counts_poll(api: DoorClient, sale, session, count_queries):  # type: ignore[no-untyped-def]
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    api.admit(ticket.code, device="phone-1")
    again, sql = _statements(count_queries, lambda: api.admit(ticket.code, device="phone-2"))
    assert (again["result"], again["device"]) == ("already_checked_in", "phone-1")
    assert len(sql) == SECOND_SCAN, sql
    poll, sql = _statements(count_queries, lambda: api.get("/checkins").json())
    assert (poll["admitted"], poll["expected"]) == (1, 1)
    assert len(sql) == COUNTS_POLL, sql
