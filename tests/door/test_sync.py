"""The offline queue: a batch syncs once however often it is sent, and one ticket admitted on
two offline devices is recorded as admitted twice."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from booking.domain import tickets
from booking.models import AuditEntry, CheckIn, CheckInConflict
from tests.door.conftest import admissions, paid_tickets


def _queued(code: str, nonce: str, at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"code": code, "nonce": nonce, "at": at.isoformat()}


def test_a_queue_syncs_once_however_many_times_it_is_sent(door, sale, session, clock):
    a, b, c = paid_tickets(session, sale.event, sale.standard, 3)
    scanned = clock() - timedelta(minutes=10)
    batch = [
        _queued(a.code, "A-1", scanned),
        _queued(tickets.reference(b.code), "A-2", scanned + timedelta(seconds=20)),
        _queued(c.code, "A-3", scanned + timedelta(seconds=40)),
    ]
    first = door.sync(sale.event, batch, device="phone-A")
    assert [r.result for r in first] == ["admitted"] * 3
    for _ in range(3):  # the answer was lost: the device sends the same queue again
        clock.advance(seconds=30)
        assert door.sync(sale.event, batch, device="phone-A") == first
    rows = session.exec(select(CheckIn).order_by(CheckIn.id)).all()
    assert [(r.nonce, r.offline, r.device) for r in rows] == [
        ("A-1", True, "phone-A"),
        ("A-2", True, "phone-A"),
        ("A-3", True, "phone-A"),
    ]
    assert rows[0].at == scanned  # when the guest came in, not when the phone synced
    admitted = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.admitted"))
    assert len(admitted.all()) == 3


def test_a_queue_half_synced_before_the_network_dropped_finishes_once(door, sale, session, clock):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    batch = [_queued(a.code, "A-1", clock()), _queued(b.code, "A-2", clock())]
    door.sync(sale.event, batch[:1], device="phone-A")
    results = door.sync(sale.event, batch, device="phone-A")
    assert [r.result for r in results] == ["admitted", "admitted"]
    assert len(session.exec(select(CheckIn)).all()) == 2


def test_an_online_scan_that_timed_out_then_synced_offline_is_one_admission(
    door, sale, session, clock
):
    """The phone gave up waiting, admitted from its list with the same nonce, and synced
    later; the server had admitted it the first time."""
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    door.admit(sale.event, ticket.code, nonce="A-1", device="phone-A")
    [result] = door.sync(sale.event, [_queued(ticket.code, "A-1", clock())], device="phone-A")
    assert result.result == "admitted"
    assert session.exec(select(CheckInConflict)).all() == []
    assert len(admissions(session, ticket)) == 1


def test_two_offline_devices_admitting_one_ticket_are_reported_once(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    at_a = clock() - timedelta(minutes=5)
    at_b = clock() - timedelta(minutes=2)
    [on_a] = door.sync(sale.event, [_queued(ticket.code, "A-1", at_a)], device="phone-A")
    assert on_a.result == "admitted"
    for _ in range(3):  # phone B retries its queue
        [on_b] = door.sync(sale.event, [_queued(ticket.code, "B-1", at_b)], device="phone-B")
        assert (on_b.result, on_b.reason) == ("conflict", "admitted_twice")
        assert (on_b.first_at, on_b.first_by, on_b.first_device) == (at_a, "Dora Door", "phone-A")
    [conflict] = session.exec(select(CheckInConflict)).all()
    first = admissions(session, ticket)[0]
    assert (conflict.ticket_id, conflict.device, conflict.nonce) == (ticket.id, "phone-B", "B-1")
    assert conflict.first_checkin_id == first.id and conflict.at == at_b
    assert len(admissions(session, ticket)) == 1
    twice = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.admitted_twice"))
    assert len(twice.all()) == 1


def test_offline_admissions_that_turn_out_not_valid_are_reported(
    door, sale, other_sale, session, clock
):
    [here] = paid_tickets(session, sale.event, sale.standard)
    [elsewhere] = paid_tickets(session, other_sale.event, other_sale.standard)
    forged = tickets.new_code(b"someone else's key")
    results = door.sync(
        sale.event,
        [
            _queued(here.code, "A-1", clock()),
            _queued(elsewhere.code, "A-2", clock()),
            _queued(forged, "A-3", clock()),
            {"code": here.code},  # no nonce
        ],
        device="phone-A",
    )
    assert [(r.result, r.reason) for r in results] == [
        ("admitted", ""),
        ("not_valid", "other_event"),
        ("not_valid", "forged"),
        ("not_valid", "invalid"),
    ]


def test_a_scan_time_from_a_wrong_clock_is_not_believed(door, sale, session, clock):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    door.sync(
        sale.event,
        [
            _queued(a.code, "A-1", clock() + timedelta(hours=2)),  # in the future
            {"code": b.code, "nonce": "A-2", "at": "last Tuesday"},
        ],
        device="phone-A",
    )
    assert {c.at for c in session.exec(select(CheckIn)).all()} == {clock()}
