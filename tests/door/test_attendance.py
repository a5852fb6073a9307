"""Counts, search and the offline list."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlmodel import select

from booking.domain import attendance, tickets
from booking.models import Order, Ticket, TicketStatus
from tests.door.conftest import paid_tickets
from tests.factories import make_ticket_type


def test_counts_are_admitted_of_expected_per_ticket_type(door, sale, other_sale, session):
    standard = paid_tickets(session, sale.event, sale.standard, 3)
    concession = paid_tickets(session, sale.event, sale.concession, 2)
    make_ticket_type(session, sale.event, name="Unsold", position=2)
    [cancelled] = paid_tickets(session, sale.event, sale.standard)
    [elsewhere] = paid_tickets(session, other_sale.event, other_sale.standard)
    door.admit(sale.event, cancelled.code)
    cancelled.status = TicketStatus.CANCELLED  # refunded after it was scanned
    session.add(cancelled)
    session.commit()
    for t in standard[:2] + concession[:1]:
        door.admit(sale.event, t.code)
    undone = door.admit(sale.event, standard[2].code)
    door.undo(sale.event, standard[2].code, undone.checkin_id)
    door.admit(other_sale.event, elsewhere.code)
    counts = attendance.counts(session, event_id=sale.event.id)
    assert (counts.admitted, counts.expected, counts.conflicts) == (3, 5, 0)
    assert [(t.name, t.admitted, t.expected) for t in counts.by_type] == [
        ("Standard", 2, 3),
        ("Concession", 1, 2),
    ]


def test_search_by_name_email_order_and_ticket_reference(door, sale, other_sale, session):
    ada, _ = paid_tickets(
        session,
        sale.event,
        sale.standard,
        2,
        names=["Ada Lovelace", ""],
        buyer_name="Charles Babbage",
        buyer_email="charles@example.com",
    )
    [bob] = paid_tickets(
        session,
        sale.event,
        sale.concession,
        names=["Bob 100% Real_Name"],
        buyer_name="Robert Smith",
        buyer_email="bob@example.org",
    )
    paid_tickets(session, other_sale.event, other_sale.standard, names=["Ada Elsewhere"])
    door.admit(sale.event, ada.code)

    def names(query: str) -> list[str]:
        found = attendance.search(session, event_id=sale.event.id, query=query)
        return [a.name for a in found]

    assert names("LOVELACE") == ["Ada Lovelace", ""]  # and the other ticket on the order
    assert names("babbage") == ["", "Ada Lovelace"]  # the buyer's tickets, one unnamed
    assert names("bob@example") == ["Bob 100% Real_Name"]
    assert names("robert") == ["Bob 100% Real_Name"]
    assert names("0%") == ["Bob 100% Real_Name"]
    assert names("e_l") == [] and names("b%n") == []  # letters here, not wildcards
    reference = session.get(Order, ada.order_id).reference
    assert names(reference.lower()) == ["", "Ada Lovelace"]
    assert names(reference.replace("-", "")) == ["", "Ada Lovelace"]
    assert names(tickets.reference(bob.code)) == ["Bob 100% Real_Name"]
    assert names("a") == []  # too short to mean anything
    found, _ = attendance.search(session, event_id=sale.event.id, query="lovelace")
    assert found.checked_in_at is not None and found.by == "Dora Door"
    assert found.code == tickets.reference(ada.code) and found.status == "valid"


def test_the_offline_list_has_every_ticket_but_no_codes(door, sale, session, clock):
    tickets_here = paid_tickets(session, sale.event, sale.standard, 3, names=["A", "B", "C"])
    door.admit(sale.event, tickets_here[0].code, device="phone-A")
    listing = attendance.ticket_list(session, event=sale.event)
    assert listing.salt == f"booking-door:{sale.event.id}:"
    assert listing.expires_at == sale.event.ends_at + timedelta(hours=12)
    text = json.dumps(listing.tickets)
    for t in tickets_here:
        assert t.code not in text and t.code[8:] not in text  # only the 8-character reference
        key = hashlib.sha256(f"{listing.salt}{t.code}".encode()).hexdigest()[:32]
        assert listing.tickets[key]["ref"] == tickets.reference(t.code)
    first = listing.tickets[attendance.list_key(listing.salt, tickets_here[0].code)]
    assert first["checked_in_at"] == clock().isoformat()
    assert (first["by"], first["device"], first["status"]) == ("Dora Door", "phone-A", "valid")


def test_changes_since_a_poll_cover_admissions_undos_and_late_offline_syncs(
    door, sale, session, clock
):
    a, b, c = paid_tickets(session, sale.event, sale.standard, 3)
    door.admit(sale.event, a.code)
    clock.advance(minutes=5)
    poll = clock()
    assert attendance.changes(session, event=sale.event, since=poll) == {}
    clock.advance(seconds=10)
    door.admit(sale.event, b.code)
    undone = door.admit(sale.event, c.code)
    door.undo(sale.event, c.code, undone.checkin_id)
    # Synced now, scanned an hour ago: it still shows up as a change.
    door.sync(
        sale.event,
        [{"code": a.code, "nonce": "late", "at": (clock() - timedelta(hours=1)).isoformat()}],
        device="phone-B",
    )
    changed = attendance.changes(session, event=sale.event, since=poll)
    salt = attendance.list_salt(sale.event)
    key = {t.id: attendance.list_key(salt, t.code) for t in (a, b, c)}
    # Phone B's scan of a was made first, so it now stands: a's entry changed too.
    assert set(changed) == {key[a.id], key[b.id], key[c.id]}
    assert changed[key[a.id]]["device"] == "phone-B"
    assert changed[key[b.id]]["checked_in_at"] is not None
    assert changed[key[c.id]]["checked_in_at"] is None
    assert session.exec(select(Ticket)).all()


def test_search_finds_everyone_on_a_matching_order(session, sale):
    couple = paid_tickets(
        session,
        sale.event,
        sale.standard,
        2,
        names=["Ada Lovelace", "Bea Bright"],
        buyer_name="Ada Lovelace",
        buyer_email="ada@example.com",
    )
    paid_tickets(
        session,
        sale.event,
        sale.standard,
        names=["Bea Other"],
        buyer_name="Cy",
        buyer_email="cy@example.com",
    )
    found = attendance.search(session, event_id=sale.event.id, query="bright")
    assert [a.name for a in found] == ["Bea Bright", "Ada Lovelace"]
    assert {a.order_reference for a in found} == {couple[0].order_id and found[0].order_reference}
    listed = attendance.door_list(session, event_id=sale.event.id)
    assert [a.name for a in listed] == ["Ada Lovelace", "Bea Bright", "Bea Other"]
