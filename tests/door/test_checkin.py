"""Admitting tickets: genuine, forged, altered, cancelled, another event's, typed by reference,
repeated, undone, and the lost race behind the lock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import true
from sqlmodel import select

from booking.domain import checkin, order_changes, resale, tickets
from booking.models import AuditEntry, CheckIn, Order, Ticket
from tests.door.conftest import KEY, admissions, paid_tickets
from tests.factories import make_ticket_type


def test_a_genuine_ticket_is_admitted_once_then_reported_with_when_and_who(
    door, sale, session, clock
):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    first = door.admit(sale.event, ticket.code, device="phone-A")
    assert first.result == "admitted"
    assert (first.ticket.name, first.ticket.type) == ("Ada Lovelace", "Standard")
    assert first.ticket.reference == tickets.reference(ticket.code)
    clock.advance(minutes=3)
    again = door.admit(sale.event, ticket.code, device="phone-B")
    assert again.result == "already_checked_in"
    assert again.checked_in_at == first.checked_in_at
    assert (again.by, again.device) == ("Dora Door", "phone-A")
    assert len(admissions(session, ticket)) == 1
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "ticket.admitted")).all()
    assert entry.subject_id == ticket.id and entry.data["device"] == "phone-A"


def test_a_forged_code_is_refused_without_the_database(door, sale, count_queries):
    forged = tickets.new_code(b"not the server's key")
    outcome = door.admit(sale.event, forged)
    assert (outcome.result, outcome.reason) == ("not_valid", "forged")
    assert count_queries.count == 0


@pytest.mark.parametrize("position", [0, 9, 25])
def test_an_altered_code_is_refused(door, sale, session, position):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    flipped = tickets.ALPHABET[tickets.ALPHABET.index(ticket.code[position]) ^ 16]  # a data bit
    altered = ticket.code[:position] + flipped + ticket.code[position + 1 :]
    outcome = door.admit(sale.event, altered)
    assert (outcome.result, outcome.reason) == ("not_valid", "forged")
    assert admissions(session, ticket) == []


def test_a_cancelled_ticket_is_refused(door, sale, session, clock):
    sale.event.buyer_cancel_allowed = True
    session.add(sale.event)
    session.commit()
    free = make_ticket_type(session, sale.event, name="Free", price=0)
    [ticket] = paid_tickets(session, sale.event, free)
    order = session.get(Order, ticket.order_id)
    with door.db.write_session() as ws:
        order_changes.cancel_by_buyer(ws, token=order.token, now=clock())
    outcome = door.admit(sale.event, ticket.code)
    assert (outcome.result, outcome.reason) == ("not_valid", "cancelled")
    assert outcome.ticket.name == ticket.attendee_name  # staff see whose ticket it was
    assert admissions(session, ticket) == []


def test_a_released_ticket_is_refused_as_released(door, sale, session, clock):
    free = make_ticket_type(session, sale.event, name="Free", price=0)
    [ticket] = paid_tickets(session, sale.event, free)
    order = session.get(Order, ticket.order_id)
    with door.db.write_session() as ws:
        resale.release(ws, token=order.token, numbers=None, now=clock())
    outcome = door.admit(sale.event, ticket.code)
    assert (outcome.result, outcome.reason) == ("not_valid", "released")
    assert "released" in outcome.message
    assert admissions(session, ticket) == []


def test_a_valid_ticket_of_another_event_is_not_valid_here(door, sale, other_sale, session):
    [ticket] = paid_tickets(session, other_sale.event, other_sale.standard)
    for code in (ticket.code, tickets.reference(ticket.code)):
        outcome = door.admit(sale.event, code)
        assert (outcome.result, outcome.reason) == ("not_valid", "other_event")
        assert "Who will house London?" in outcome.message
    assert door.admit(other_sale.event, ticket.code).result == "admitted"


def test_unknown_and_malformed_codes(door, sale, session):
    paid_tickets(session, sale.event, sale.standard)
    for code in ("", "HELLO", "https://example.com/", "0000-0000", "Z" * 40):
        outcome = door.admit(sale.event, code)
        assert outcome.result == "not_valid", code
        assert outcome.reason in ("unknown", "forged"), code


def test_staff_can_type_the_reference_with_look_alike_letters(door, sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    ref = tickets.reference(ticket.code).lower()
    typed = ref.replace("0", "o").replace("1", "l")
    outcome = door.admit(sale.event, f"  {typed} ")
    assert outcome.result == "admitted" and outcome.ticket.code == ticket.code


def test_a_reference_shared_by_two_tickets_asks_for_the_whole_code(door, sale, session):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    b.code = a.code[:8] + b.code[8:]  # the same first 8 characters (1 in 10^12 in real life)
    session.add(b)
    session.commit()
    outcome = door.admit(sale.event, a.code[:8])
    assert (outcome.result, outcome.reason) == ("not_valid", "ambiguous")
    assert door.admit(sale.event, a.code).result == "admitted"


def test_the_same_request_again_gets_the_first_answer(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    first = door.admit(sale.event, ticket.code, nonce="n-1", device="phone-A")
    clock.advance(seconds=5)
    again = door.admit(sale.event, ticket.code, nonce="n-1", device="phone-A")
    assert again.result == "admitted" and again.replay
    assert (again.checkin_id, again.checked_in_at) == (first.checkin_id, first.checked_in_at)
    assert len(admissions(session, ticket)) == 1


def test_a_nonce_is_one_admission_only(door, sale, session):
    a, b = paid_tickets(session, sale.event, sale.standard, 2)
    door.admit(sale.event, a.code, nonce="n-1", device="phone-A")
    reused = door.admit(sale.event, b.code, nonce="n-1", device="phone-A")
    assert (reused.result, reused.reason) == ("not_valid", "nonce_reused")
    other_device = door.admit(sale.event, a.code, nonce="n-1", device="phone-B")
    assert other_device.reason == "nonce_reused"
    assert admissions(session, b) == []


def test_undo_lets_the_ticket_in_again(door, sale, session, clock):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    first = door.admit(sale.event, ticket.code)
    undone = door.undo(sale.event, ticket.code, first.checkin_id)
    assert undone.ok and undone.checkin_id == first.checkin_id
    assert admissions(session, ticket) == []
    assert not door.undo(sale.event, ticket.code, first.checkin_id).ok  # nothing left to undo
    clock.advance(minutes=1)
    assert door.admit(sale.event, ticket.code).result == "admitted"
    assert len(admissions(session, ticket, active_only=False)) == 2
    actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]
    assert actions == ["ticket.admitted", "ticket.admission_undone", "ticket.admitted"]


def test_a_late_undo_does_not_cancel_a_newer_admission(door, sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    first = door.admit(sale.event, ticket.code, device="phone-A")
    assert door.undo(sale.event, ticket.code, first.checkin_id).ok
    door.admit(sale.event, ticket.code, device="phone-B")
    late = door.undo(sale.event, ticket.code, first.checkin_id)  # phone A's button, again
    assert not late.ok
    assert len(admissions(session, ticket)) == 1


def test_a_lost_race_reports_the_winner(door, sale, session, door_staff, clock, monkeypatch):
    """The unique index behind the lock: if the check saw no admission but another device's
    admission committed before ours, the insert is refused and we report theirs."""
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    with door.db.write_session() as ws, ws.begin():
        ws.add(
            CheckIn(
                ticket_id=ticket.id,
                event_id=sale.event.id,
                at=clock() - timedelta(seconds=1),
                by_user_id=door_staff.id,
                by_name="Other Door",
                device="phone-B",
                nonce="theirs",
            )
        )
    calls = []

    def saw_nothing(ticket_id, nonce):  # type: ignore[no-untyped-def]
        calls.append(ticket_id)
        return true()  # the check in the insert lets it through: only the index is left

    monkeypatch.setattr(checkin, "_unused", saw_nothing)
    monkeypatch.setattr(checkin, "_ADMISSIONS", {})  # the insert is built again, with it
    outcome = door.admit(sale.event, ticket.code, device="phone-A")
    assert outcome.result == "already_checked_in"
    assert (outcome.by, outcome.device) == ("Other Door", "phone-B")
    assert len(calls) == 1
    assert [c.nonce for c in admissions(session, ticket)] == ["theirs"]


def test_check_in_refuses_a_read_session_on_sqlite(db, sale, session, door_staff, clock):
    if not db.is_sqlite:
        pytest.skip("PostgreSQL locks the ticket's row from any session")
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    with db.session() as s, pytest.raises(RuntimeError, match="BEGIN IMMEDIATE"):
        checkin.admit(
            s,
            event_id=sale.event.id,
            code=ticket.code,
            nonce="n",
            device="A",
            by=door_staff,
            now=clock(),
            key=KEY,
        )
    assert session.exec(select(CheckIn)).all() == []


def test_codes_are_checked_against_the_servers_key(sale, session):
    [ticket] = paid_tickets(session, sale.event, sale.standard)
    assert tickets.verify(ticket.code, KEY)
    assert not tickets.verify(ticket.code, b"another key")
    assert session.exec(select(Ticket)).one().code == ticket.code
