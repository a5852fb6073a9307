"""The waiting list's emails: joining (with the link to leave) and an offer (with its link)."""

from __future__ import annotations

from sqlmodel import select

from booking.domain import orders, waitlist
from booking.models import MailKind, Order
from tests.factories import NOW, make_event, make_ticket_type
from tests.mail.flows import deliver, outbox_rows


def test_joining_and_an_offer_send_their_emails_and_a_stale_offer_is_skipped(db, session, app):
    event = make_event(session, capacity=1, title="Should London ban cars?")
    tt = make_ticket_type(session, event, name="Standard", price=1000)
    with db.write_session() as s:
        held = orders.reserve(
            s,
            event_id=event.id,
            quantities={tt.id: 1},
            buyer=orders.Buyer("Ada", "ada@example.com"),
            now=NOW,
            hold=orders.UNSTARTED_GRACE * 20,
        )
    request = waitlist.Request("Wanda Waiting", "wanda@example.com", 1, None)
    with db.write_session() as s:
        entry = waitlist.join(s, event_id=event.id, request=request, now=NOW)
    with db.write_session() as s:
        orders.release(s, order_id=held.id, now=NOW, note="lapsed")
    with db.write_session() as s:
        waitlist.leave(s, token=entry.token, now=NOW)  # takes no offer: none made yet
    with db.write_session() as s:
        again = waitlist.join(s, event_id=event.id, request=request, now=NOW)
    assert deliver(app.state.services).captured == 2
    by_kind = {}
    for row in outbox_rows(session):
        by_kind.setdefault(row.kind, []).append(row)
    joined = by_kind[MailKind.WAITLIST_JOINED]
    assert [r.status for r in joined] == ["skipped", "captured"]  # the first left meanwhile
    assert joined[1].subject == "You're on the waiting list for Should London ban cars?"
    assert f"/waitlist/{again.token}" in joined[1].body_text
    offer = by_kind[MailKind.WAITLIST_OFFER][0]
    order = session.exec(select(Order).where(Order.id == offer.order_id)).one()
    assert offer.subject.startswith("Seats are held for you: Should London ban cars?")
    assert f"/offers/{order.token}" in offer.body_text
    assert "1 × Standard" in offer.body_text and "Buy your tickets" in offer.body_html
