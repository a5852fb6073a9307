"""Door staff see a ticket's access needs beside the name: in the scan result, in search
results, on the printed list and in the offline list."""

from __future__ import annotations

import re

from booking.models import Order
from tests.door.conftest import paid_tickets


def _with_needs(session, ticket, keys="step_free,bsl", note="Aisle seat"):  # type: ignore[no-untyped-def]
    order = session.get(Order, ticket.order_id)
    order.access_needs, order.access_note = keys, note
    session.add(order)
    session.commit()


NEEDS = "Step-free access; BSL interpretation: Aisle seat"


def test_the_door_api_carries_access_needs(api, session, sale):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    [other] = paid_tickets(session, sale.event, sale.standard, names=["Adam Smith"])
    _with_needs(session, ticket)
    admitted = api.admit(ticket.code)
    assert admitted["ticket"]["access"] == NEEDS
    assert api.admit(other.code)["ticket"]["access"] == ""
    found = api.get("/attendees", params={"q": "ada"}).json()["attendees"]
    assert {a["name"]: a["access"] for a in found} == {"Ada Lovelace": NEEDS, "Adam Smith": ""}
    listing = api.get("/tickets").json()["tickets"]
    assert sorted(e["access"] for e in listing.values()) == ["", NEEDS]


def test_the_door_pages_show_access_needs_escaped(api, client, session, sale):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    _with_needs(session, ticket, keys="hearing_loop", note="<b>front</b>")
    search = client.get(f"/door/{sale.event.slug}", params={"q": "Ada"})
    assert "Hearing loop: &lt;b&gt;front&lt;/b&gt;" in search.text
    printed = client.get(f"/door/{sale.event.slug}/list")
    assert "Access: Hearing loop: &lt;b&gt;front&lt;/b&gt;" in printed.text


def test_the_scan_result_page_shows_access_needs(api, client, session, sale):
    [ticket] = paid_tickets(session, sale.event, sale.standard, names=["Ada Lovelace"])
    _with_needs(session, ticket)
    page = client.get(f"/door/{sale.event.slug}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    result = client.post(
        f"/door/{sale.event.slug}/admit",
        data={"csrf_token": token, "nonce": nonce, "code": ticket.code},
    )
    assert result.status_code == 200 and "Admitted" in result.text
    assert f"<strong>Access needs:</strong> {NEEDS}" in result.text
