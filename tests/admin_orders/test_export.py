"""The attendee export: streamed CSV, spreadsheet-safe, checked-in times in London."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from booking.domain.tickets import reference
from booking.models import Refund
from booking.web.admin import exports
from tests.admin_orders.conftest import add_order, check_in, tickets_of
from tests.helpers import ticket_types


def rows_of(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example","Click")',
            '\'=HYPERLINK("http://evil.example","Click")',
        ),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Siân O'Brien-Ćosić", "Siân O'Brien-Ćosić"),
        ("Ada = Lovelace", "Ada = Lovelace"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_quoted(admin, session, event, name, cell):
    standard = ticket_types(session, event)[0]
    add_order(session, event, [standard], name=name, email="-x@example.com")
    [row] = rows_of(admin.get(f"/admin/events/{event.id}/attendees.csv"))
    assert row["Name"] == cell
    assert row["Email"] == "'-x@example.com"


def test_the_export_lists_valid_tickets_with_their_details(admin, session, event, monkeypatch):
    standard, concession = ticket_types(session, event)
    paid = add_order(session, event, [standard, concession], name="Ada Lovelace")
    add_order(session, event, [standard], name="Grace Hopper", status="cancelled")
    add_order(session, event, [standard], name="Alan Turing", status="pending")  # only held
    first, second = tickets_of(session, paid)
    check_in(session, first, datetime(2026, 7, 1, 18, 5, tzinfo=UTC))  # 19:05 in London
    monkeypatch.setattr(exports, "PAGE", 1)  # three pages of the keyset
    response = admin.get(f"/admin/events/{event.id}/attendees.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="{event.slug}-attendees-')
    rows = rows_of(response)
    assert list(rows[0]) == exports.HEADER
    assert exports.HEADER[0] == "Status"
    assert [(r["Status"], r["Name"], r["Ticket type"]) for r in rows] == [
        ("Valid", "Ada Lovelace", "Standard"),
        ("Valid", "Ada Lovelace", "Concession"),
    ]
    assert rows[0]["Ticket code"] == first.code
    assert rows[0]["Ticket reference"] == reference(first.code)
    assert rows[0]["Order reference"] == paid.reference
    assert rows[0]["Email"] == "ada@example.com"
    assert rows[0]["Complimentary"] == "No"
    assert [r["Checked in at"] for r in rows] == ["2026-07-01 19:05", ""]
    assert second.code in response.text


def test_the_export_of_all_tickets_says_which_were_refunded_or_cancelled(
    admin, session, event, monkeypatch
):
    standard, _ = ticket_types(session, event)
    add_order(session, event, [standard], name="Ada Lovelace")
    cancelled = add_order(session, event, [standard], name="Grace Hopper", status="cancelled")
    refunded = add_order(session, event, [standard], name="Alan Turing", status="cancelled")
    [ticket] = tickets_of(session, refunded)
    refund = Refund(
        order_id=refunded.id, amount=1000, reason="Ill", idempotency_key=f"k-{refunded.id}"
    )
    session.add(refund)
    session.flush()
    ticket.refund_id = refund.id
    session.add(ticket)
    session.commit()
    response = admin.get(f"/admin/events/{event.id}/attendees.csv?tickets=all")
    assert response.headers["content-disposition"].startswith(
        f'attachment; filename="{event.slug}-all-tickets-'
    )
    rows = rows_of(response)
    assert [(r["Status"], r["Name"]) for r in rows] == [
        ("Valid", "Ada Lovelace"),
        ("Cancelled", "Grace Hopper"),
        ("Refunded", "Alan Turing"),
    ]
    assert rows[1]["Order reference"] == cancelled.reference


def test_the_export_of_an_unknown_event_is_not_found(admin):
    assert admin.get("/admin/events/4242/attendees.csv").status_code == 404
    assert admin.get("/admin/events/99999999999/attendees.csv").status_code == 404


def test_an_event_without_attendees_exports_the_header(admin, event):
    assert rows_of(admin.get(f"/admin/events/{event.id}/attendees.csv")) == []


def test_spreadsheet_safe_leaves_ordinary_text_alone():
    assert exports.spreadsheet_safe("Ada") == "Ada"
    assert exports.spreadsheet_safe("") == ""
    assert exports.spreadsheet_safe("=1") == "'=1"
    assert list(exports.csv_lines([["=a", "b,c"]])) == [exports.BOM, '\'=a,"b,c"\r\n']
