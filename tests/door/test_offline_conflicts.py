"""Two devices admit one ticket while offline: the scan made first stands whichever device
syncs first, and each device's Undo takes back only its own admission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from booking.domain import attendance
from booking.models import AuditEntry, CheckIn, CheckInConflict
from tests.door.conftest import admissions, paid_tickets


def _queued(code: str, nonce: str, at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"code": code, "nonce": nonce, "at": at.isoformat()}


def _standing(session, ticket) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    [row] = admissions(session, ticket)
    return row.device, row.nonce


def _duplicates(session, ticket) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    rows = session.exec(
        select(CheckInConflict)
        .where(CheckInConflict.ticket_id == ticket.id)
        .order_by(col(CheckInConflict.id))
    ).all()
    return [(c.device, c.nonce, c.withdrawn_at is not None) for c in rows]


@pytest.mark.parametrize("first_to_sync", ["phone-A", "phone-B"])
def test_the_scan_made_first_stands_whichever_device_syncs_first(
    door, sale, session, clock, first_to_sync
):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    at_a = clock() - timedelta(seconds=8)  # phone A scanned two seconds before phone B
    at_b = clock() - timedelta(seconds=6)
    queues = {
        "phone-A": [_queued(ticket.code, "A-1", at_a)],
        "phone-B": [_queued(ticket.code, "B-1", at_b)],
    }
    second_to_sync = "phone-B" if first_to_sync == "phone-A" else "phone-A"
    [early] = door.sync(sale.event, queues[first_to_sync], device=first_to_sync)
    assert early.result == "admitted"
    [late] = door.sync(sale.event, queues[second_to_sync], device=second_to_sync)

    assert _standing(session, ticket) == ("phone-A", "A-1")
    assert admissions(session, ticket)[0].at == at_a
    assert _duplicates(session, ticket) == [("phone-B", "B-1", False)]
    [conflict] = session.exec(select(CheckInConflict)).all()
    assert conflict.at == at_b and conflict.first_checkin_id == admissions(session, ticket)[0].id
    if second_to_sync == "phone-B":  # B learns its scan was the second
        assert (late.result, late.first_device, late.first_at) == ("conflict", "phone-A", at_a)
    else:  # A's earlier scan takes the place of B's, and A hears about B's
        assert (late.result, late.reason) == ("admitted", "admitted_twice")
        assert (late.later_device, late.later_at) == ("phone-B", at_b)
    counts = attendance.counts(session, event_id=sale.event.id)
    assert (counts.admitted, counts.conflicts) == (1, 1)
    [twice] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "ticket.admitted_twice")
    ).all()
    assert twice.data["first"]["device"] == "phone-A"
    assert twice.data["second"]["device"] == "phone-B"
    # Either phone's queue sent again changes nothing.
    for device, queue in queues.items():
        door.sync(sale.event, queue, device=device)
    assert _standing(session, ticket) == ("phone-A", "A-1")
    assert len(_duplicates(session, ticket)) == 1


def test_a_scan_at_the_same_moment_leaves_the_first_synced_standing(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    at = clock() - timedelta(seconds=5)
    door.sync(sale.event, [_queued(ticket.code, "B-1", at)], device="phone-B")
    door.sync(sale.event, [_queued(ticket.code, "A-1", at)], device="phone-A")
    assert _standing(session, ticket) == ("phone-B", "B-1")


def test_an_earlier_offline_scan_stands_before_a_later_online_admission(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    scanned = clock() - timedelta(seconds=30)
    door.admit(sale.event, ticket.code, nonce="B-1", device="phone-B")  # online, now
    door.sync(sale.event, [_queued(ticket.code, "A-1", scanned)], device="phone-A")
    assert _standing(session, ticket) == ("phone-A", "A-1")
    assert _duplicates(session, ticket) == [("phone-B", "B-1", False)]


def test_undo_on_the_phone_whose_admission_is_the_duplicate_withdraws_only_that(
    door, sale, session, clock
):
    """The issue as seen: A syncs, then B; B presses Undo on its own offline admission."""
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    door.sync(sale.event, [_queued(ticket.code, "A-1", clock())], device="phone-A")
    clock.advance(seconds=2)
    door.sync(sale.event, [_queued(ticket.code, "B-1", clock())], device="phone-B")

    undone = door.undo(sale.event, ticket.code, nonce="B-1")
    assert (undone.ok, undone.duplicate, undone.still_in) == (True, True, True)
    assert _standing(session, ticket) == ("phone-A", "A-1")
    assert _duplicates(session, ticket) == [("phone-B", "B-1", True)]
    counts = attendance.counts(session, event_id=sale.event.id)
    assert (counts.admitted, counts.conflicts) == (1, 0)
    again = door.undo(sale.event, ticket.code, nonce="B-1")
    assert not again.ok
    assert _standing(session, ticket) == ("phone-A", "A-1")


def test_undo_without_naming_the_admission_undoes_nothing(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    door.sync(sale.event, [_queued(ticket.code, "A-1", clock())], device="phone-A")
    assert not door.undo(sale.event, ticket.code).ok
    assert not door.undo(sale.event, ticket.code, nonce="never-used").ok
    assert _standing(session, ticket) == ("phone-A", "A-1")


def test_undo_of_another_tickets_nonce_undoes_nothing(door, sale, session, clock):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    door.admit(sale.event, a.code, nonce="A-1", device="phone-A")
    assert not door.undo(sale.event, b.code, nonce="A-1").ok
    assert len(admissions(session, a)) == 1


def test_undoing_the_admission_that_stands_lets_the_duplicate_stand(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    door.sync(sale.event, [_queued(ticket.code, "A-1", clock())], device="phone-A")
    clock.advance(seconds=2)
    door.sync(sale.event, [_queued(ticket.code, "B-1", clock())], device="phone-B")

    undone = door.undo(sale.event, ticket.code, nonce="A-1")
    assert (undone.ok, undone.duplicate, undone.still_in) == (True, False, True)
    assert _standing(session, ticket) == ("phone-B", "B-1")  # the guest did come in
    assert _duplicates(session, ticket) == []
    counts = attendance.counts(session, event_id=sale.event.id)
    assert (counts.admitted, counts.conflicts) == (1, 0)
    # B's Undo now takes back the admission that stands, and the ticket is out.
    assert door.undo(sale.event, ticket.code, nonce="B-1").ok
    assert admissions(session, ticket) == []
    assert len(session.exec(select(CheckIn)).all()) == 2  # both kept, undone


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=20), min_size=2, max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_whatever_the_sync_order_the_earliest_scan_stands(  # type: ignore[no-untyped-def]
    door, sale, session, clock, offsets, order
):
    """Phones scan one ticket at these seconds; they sync in any order. The earliest scan
    stands (of equal ones, the first synced), alone, and every other is its duplicate."""
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    start = clock() - timedelta(minutes=1)
    scans = [(f"phone-{i}", start + timedelta(seconds=s)) for i, s in enumerate(offsets)]
    synced = list(scans)
    order.shuffle(synced)
    for device, at in synced:
        door.sync(sale.event, [_queued(ticket.code, f"{device}-{ticket.id}", at)], device=device)
    earliest = min(at for _, at in scans)
    first_synced_earliest = next(d for d, at in synced if at == earliest)
    assert _standing(session, ticket)[0] == first_synced_earliest
    duplicates = _duplicates(session, ticket)
    assert sorted(d for d, _, _ in duplicates) == sorted(
        d for d, _ in scans if d != first_synced_earliest
    )
    conflicts = session.exec(
        select(CheckInConflict).where(CheckInConflict.ticket_id == ticket.id)
    ).all()
    standing = admissions(session, ticket)[0]
    assert {c.first_checkin_id for c in conflicts} == {standing.id}
    assert all(c.at >= standing.at for c in conflicts)
