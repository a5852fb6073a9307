"""The event's waiting list in the back office: the list in order, offering by hand, moving
up, pausing the automatic offers, the offer hours, and the CSV export."""

from __future__ import annotations

import csv
import io

from sqlmodel import select

from booking.domain import orders, waitlist
from booking.models import AuditEntry, Event, Order, OrderStatus, WaitlistEntry, WaitlistStatus
from tests.admin.conftest import fresh
from tests.factories import NOW
from tests.helpers import ticket_types


def _full_with_queue(db, session, event, people=3):  # type: ignore[no-untyped-def]
    standard, _ = ticket_types(session, event)
    with db.write_session() as s:
        held = orders.reserve(
            s,
            event_id=event.id,
            quantities={standard.id: 5},
            buyer=orders.Buyer("Ada", "ada@example.com"),
            now=NOW,
            hold=orders.UNSTARTED_GRACE * 100,
        )
    made = []
    for n in range(people):
        with db.write_session() as s:
            request = waitlist.Request(f"Person {n}", f"p{n}@example.com", 1, None)
            made.append(waitlist.join(s, event_id=event.id, request=request, now=NOW))
    return held, made


def test_the_list_in_order_with_move_up_offer_now_and_export(admin, forms, db, session, event):
    held, (p0, p1, p2) = _full_with_queue(db, session, event)
    page = admin.get(f"/admin/events/{event.id}/waitlist")
    assert page.status_code == 200
    assert page.text.index("p0@example.com") < page.text.index("p1@example.com")
    moved = forms.post(f"/admin/events/{event.id}/waitlist/{p2.id}/up")
    assert moved.status_code == 303
    assert (
        fresh(session, WaitlistEntry, p2.id).position
        < fresh(session, WaitlistEntry, p1.id).position
    )
    # No seat is free: offering by hand says so, without a 500.
    refused = forms.post(f"/admin/events/{event.id}/waitlist/{p1.id}/offer")
    assert refused.status_code == 409 and "not 1 free seats" in refused.text
    forms.post(f"/admin/events/{event.id}/waitlist", {"paused": "yes", "offer_hours": "3"})
    assert fresh(session, Event, event.id).waitlist_paused
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    assert fresh(session, WaitlistEntry, p0.id).status == WaitlistStatus.WAITING  # paused
    offered = forms.post(f"/admin/events/{event.id}/waitlist/{p1.id}/offer")
    assert offered.status_code == 303
    entry = fresh(session, WaitlistEntry, p1.id)
    hold = fresh(session, Order, entry.offer_order_id)
    assert entry.status == WaitlistStatus.OFFERED and hold.status == OrderStatus.PENDING
    assert (hold.expires_at - hold.created_at).total_seconds() == 3 * 3600
    export = admin.get(f"/admin/events/{event.id}/waitlist.csv")
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Place", "Name", "Email"]
    assert [(r[1], r[5]) for r in rows[1:]] == [
        ("Person 0", "waiting"),
        ("Person 2", "waiting"),
        ("Person 1", "offered"),
    ]
    actions = set(session.exec(select(AuditEntry.action)).all())
    assert {"waitlist.moved_up", "waitlist.configured", "waitlist.offered"} <= actions


def test_the_offer_hours_are_checked(forms, event):
    bad = forms.post(f"/admin/events/{event.id}/waitlist", {"offer_hours": "48"})
    assert bad.status_code == 400 and "from 1 to 24" in bad.text
