"""The door as the back office sees it: double admissions told in words, in London time, by
the names staff gave their phones, on the order's history, the event's check-in list and
dashboard; and the printable door list."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from booking.domain import checkin, devices, tickets
from tests.conftest import sign_in
from tests.door.conftest import paid_tickets

SUMMER = datetime(2026, 7, 1, 19, 30, tzinfo=UTC)  # 8:30pm in London
TWICE = (
    "Admitted twice while offline: on Main door phone at 8:23pm and on Side door phone at 8:23pm"
)


def _text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's words, as a reader sees them (tags out, entities decoded, spaces single)."""
    assert response.status_code == 200, response.text[:300]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


@pytest.fixture
def twice(db, door, door_staff, sale, session, clock):  # type: ignore[no-untyped-def]
    """Ada's ticket admitted offline at the main door at 20:23:06 (London) and at the side
    door two seconds later; the side door synced first."""
    [ada] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    with db.write_session() as s:
        devices.rename(s, key="phone-main", name="Main door phone", by=door_staff, now=SUMMER)
    with db.write_session() as s:
        devices.rename(s, key="phone-side", name="Side door phone", by=door_staff, now=SUMMER)
    clock.now = SUMMER
    at_main = SUMMER - timedelta(minutes=6, seconds=54)
    at_side = at_main + timedelta(seconds=2)
    door.sync(
        sale.event,
        [{"code": ada.code, "nonce": "S-1", "at": at_side.isoformat()}],
        device="phone-side",
    )
    door.sync(
        sale.event,
        [{"code": ada.code, "nonce": "M-1", "at": at_main.isoformat()}],
        device="phone-main",
    )
    return ada


def test_the_order_history_tells_a_double_admission_in_words(client, organiser, twice, sale):
    sign_in(client, organiser)
    page = _text(client.get(f"/admin/orders/{twice.order_id}"))
    assert f"{TWICE} (Ada Lovelace, {tickets.reference(twice.code)})" in page
    assert "Dora Door admitted Ada Lovelace's ticket" in page
    assert "on Side door phone at 8:23pm (scanned offline)" in page
    assert "Dora Door on Main door phone" in page  # the check-in that counts
    for raw in ("ticket.admitted", "phone-main", "phone-side", "First checkin id", "+00:00"):
        assert raw not in page


def test_the_check_in_list_and_dashboard_list_double_admissions(client, organiser, twice, sale, db):
    sign_in(client, organiser)
    listing = _text(client.get(f"/admin/events/{sale.event.id}/checkins"))
    assert "1 of 1 ticket checked in" in listing
    assert "1 ticket needs a look" in listing
    assert f"Ada Lovelace ( {tickets.reference(twice.code)} ): {TWICE}." in listing
    assert "Main door phone Scanned offline" in listing
    dashboard = _text(client.get(f"/admin/events/{sale.event.id}/dashboard"))
    assert "1 ticket admitted twice while offline" in dashboard and TWICE in dashboard

    # The side phone takes its admission back: the conflict is settled, and says so.
    with db.write_session() as s:
        checkin.undo(
            s,
            event_id=sale.event.id,
            code=twice.code,
            nonce="S-1",
            by=organiser,
            now=SUMMER,
        )
    listing = _text(client.get(f"/admin/events/{sale.event.id}/checkins"))
    assert "0 tickets need a look" in listing
    assert "the second admission was withdrawn at 8:30pm" in listing
    dashboard = _text(client.get(f"/admin/events/{sale.event.id}/dashboard"))
    assert "admitted twice" not in dashboard
    event_page = _text(client.get(f"/admin/events/{sale.event.id}"))
    assert (
        "Olive Organiser withdrew the second admission of Ada Lovelace's ticket "
        f"({tickets.reference(twice.code)}) on Side door phone at 8:23pm; the first still counts"
    ) in event_page


def test_the_printable_door_list(client, staff, sale, session):
    paid_tickets(session, sale.event, sale.standard, 2, names=["Zoe Zed", "Ada Lovelace"])
    [bea] = paid_tickets(session, sale.event, sale.concession, names=["Bea Bright"])
    sign_in(client, staff)
    response = client.get(f"/door/{sale.event.slug}/list")
    assert response.template.name == "door/list.html"
    assert [a.name for a in response.context["rows"]] == ["Ada Lovelace", "Bea Bright", "Zoe Zed"]
    page = _text(response)
    assert f"Bea Bright {tickets.reference(bea.code)} Concession" in page
    assert "3 valid tickets, by name" in page
    assert response.text.count('class="door-list__box"') == 3
    assert bea.code not in response.text  # references only: the list cannot be scanned in
