"""One rule decides whether seats can be sold, and one predicate counts what is taken: the
hold, the event page's early refusal, reports and access-code limits all agree."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.domain import access_codes, catalogue, inventory, orders, reports
from booking.domain.errors import SalesClosed, SoldOut
from tests.factories import NOW, make_event, make_ticket_type

HOLD = timedelta(minutes=31)


def _hold(db, event, quantities, *, now=NOW, code=""):  # type: ignore[no-untyped-def]
    with db.write_session() as s:
        return orders.reserve(
            s,
            event_id=event.id,
            quantities=quantities,
            buyer=orders.Buyer("Ada", "ada@example.com"),
            now=now,
            hold=HOLD,
            attribution=orders.Attribution(code=code),
        )


def _answers(db, event, tt, qty, now=NOW):  # type: ignore[no-untyped-def]
    """What the page's early check and the hold each say to `qty` tickets of `tt`."""
    with db.session() as s:
        page = catalogue.event_page(s, slug=event.slug, now=now)
        early = catalogue.shortfall(page, page.offers, {tt.id: qty})
    try:
        _hold(db, event, {tt.id: qty}, now=now)
    except SoldOut as exc:
        return early, {exc.field: exc.message}
    return early, {}


@pytest.mark.parametrize("wanted", [1, 2, 3, 4])
def test_the_page_and_the_hold_give_the_same_answer(db, session, wanted):
    event = make_event(session, capacity=5)
    tt = make_ticket_type(session, event, capacity=4)
    _hold(db, event, {tt.id: 2})
    early, held = _answers(db, event, tt, wanted)
    assert early == held
    assert bool(held) == (wanted > 2)


def test_the_room_limit_is_the_same_rule(db, session):
    event = make_event(session, capacity=3)
    a = make_ticket_type(session, event, name="A")
    b = make_ticket_type(session, event, name="B", position=1)
    _hold(db, event, {a.id: 2})
    early, held = _answers(db, event, b, 2)
    assert early == held == {f"qty-{b.id}": "Only 1 B tickets are left"}


def test_a_lapsed_hold_stops_counting_everywhere_at_once(db, session):
    event = make_event(session, capacity=10)
    tt = make_ticket_type(session, event, capacity=3, visible=False)
    with db.write_session() as s:
        code = access_codes.create(
            s, event_id=event.id, code="FRIENDS", unlocks_ticket_type_id=tt.id, max_uses=3
        )
    _hold(db, event, {tt.id: 3}, code="FRIENDS")
    for now, taken in ((NOW + HOLD - timedelta(seconds=1), 3), (NOW + HOLD, 0)):
        with db.session() as s:
            assert inventory.taken_by_type(s, event_id=event.id, now=now) == (
                {tt.id: taken} if taken else {}
            )
            assert access_codes.uses(s, access_code_id=code.id, now=now) == taken
            board = reports.dashboard(s, event_id=event.id, now=now, zone=ZoneInfo("UTC"))
            assert (board.types[0].held, board.types[0].remaining) == (taken, 3 - taken)


def test_refusal_says_why(db, session):
    event = make_event(session, capacity=10)
    later = make_ticket_type(session, event, sales_start=NOW + timedelta(days=1))
    members = make_ticket_type(session, event, name="Members", position=1, visible=False)
    with db.write_session() as s:
        code = access_codes.create(
            s, event_id=event.id, code="MEMBERS", unlocks_ticket_type_id=members.id, max_uses=2
        )
    with db.session() as s:
        types = {later.id: later, members.id: members}
        plain = inventory.availability(s, event=event, now=NOW)
        coded = inventory.availability(s, event=event, now=NOW, code=code)
        ask = {"event": event, "types": types, "now": NOW}
        assert isinstance(inventory.refusal(plain, quantities={later.id: 1}, **ask), SalesClosed)
        assert inventory.refusal(coded, quantities={members.id: 2}, **ask) is None
        used_up = inventory.refusal(coded, quantities={members.id: 3}, **ask)
        assert isinstance(used_up, inventory.CodeUsedUp) and used_up.field == "code"
