"""Audit entries told as sentences: names not ids, London time, money in pounds, no field
names, one sentence per entry, and plain words for an entry this module does not know."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.domain.activity import Names
from booking.models import AuditEntry
from booking.narration import Narrator
from booking.templating import LocalTime

SUMMER = datetime(2026, 7, 1, 19, 23, 6, tzinfo=UTC)  # 8:23pm in London
NAMES = Names(
    users={7: "Sam Organiser", 8: "Dora Door"},
    devices={"phone-a1": "Main door phone", "phone-b2": "Side door phone"},
    tickets={42: ("Ada Lovelace", "K7QF-29XM")},
    venues={3: "Conway Hall", 4: "Bishopsgate Institute"},
)


def _say(
    action: str,
    data: dict,
    *,
    actor_id: int | None = 7,
    actor: str = "x@example.com",
    subject_id: int = 42,
) -> str:  # type: ignore[type-arg]
    entry = AuditEntry(
        action=action,
        subject_type=action.split(".")[0],
        subject_id=subject_id,
        actor_id=actor_id,
        actor=actor,
        data=data,
        at=SUMMER,
    )
    return Narrator(LocalTime(ZoneInfo("Europe/London")), NAMES).sentence(entry)


@pytest.mark.parametrize(
    ("action", "data", "said"),
    [
        (
            "ticket_type.updated",
            {"name": "Standard", "price": {"before": 1000, "after": 1200}},
            "Sam Organiser changed Standard's price from £10.00 to £12.00",
        ),
        (
            "ticket_type.updated",
            {"name": {"before": "Early", "after": "Standard"}},
            "Sam Organiser renamed the ticket type “Early” to “Standard”",
        ),
        (
            "ticket_type.updated",
            {"name": "Members", "visible": {"before": True, "after": False}},
            "Sam Organiser hid Members",
        ),
        (
            "event.updated",
            {
                "starts_at": {
                    "before": "2026-07-01T18:00:00+00:00",
                    "after": "2026-07-01T18:30:00+00:00",
                },
                "venue_id": {"before": 3, "after": 4},
                "description": {"before": "10 characters", "after": "12 characters"},
            },
            "Sam Organiser changed the start from Wed 1 Jul, 7pm to Wed 1 Jul, 7:30pm, "
            "the venue from Conway Hall to Bishopsgate Institute and the description",
        ),
        (
            "ticket_type.created",
            {"name": "Standard", "price": 1000, "capacity": None},
            "Sam Organiser added the ticket type Standard at £10.00, no limit",
        ),
        (
            "speaker.updated",
            {
                "name": "Jane Speaker",
                "affiliation": {"before": "", "after": "LSE"},
                "bio": "changed",
            },
            "Sam Organiser changed Jane Speaker's affiliation from none to “LSE” and biography",
        ),
        (
            "ticket.admitted",
            {"device": "phone-a1", "offline": True, "at": SUMMER.isoformat()},
            "Sam Organiser admitted Ada Lovelace's ticket (K7QF-29XM) on Main door phone "
            "at 8:23pm (scanned offline)",
        ),
        (
            "ticket.admitted_twice",
            {
                "first": {"device": "phone-a1", "at": SUMMER.isoformat(), "by": "Dora Door"},
                "second": {"device": "phone-b2", "at": SUMMER.isoformat(), "by": "Sam"},
            },
            "Admitted twice while offline: on Main door phone at 8:23pm and on Side door phone "
            "at 8:23pm (Ada Lovelace, K7QF-29XM)",
        ),
        (
            "ticket.admitted_twice",  # as recorded before both sides were kept
            {"device": "phone-ffff0000", "at": SUMMER.isoformat(), "first_checkin_id": 3},
            "Admitted twice while offline: the second on an unnamed phone (ffff) at 8:23pm "
            "(Ada Lovelace, K7QF-29XM)",
        ),
        (
            "order.tickets_refunded",
            {
                "reason": "Cannot come",
                "tickets": ["K7QF-29XM"],
                "refund": {"id": 9, "amount": 1000},
            },
            "Sam Organiser refunded 1 ticket (K7QF-29XM), £10.00: Cannot come",
        ),
        (
            "ticket.renamed",
            {"ticket": "K7QF-29XM", "attendee_name": {"before": "Ada", "after": "Ada Lovelace"}},
            "Sam Organiser changed the name on ticket K7QF-29XM from “Ada” to “Ada Lovelace”",
        ),
    ],
)
def test_entries_read_as_sentences(action, data, said):  # type: ignore[no-untyped-def]
    assert _say(action, data) == said


@pytest.mark.parametrize(
    ("action", "data", "said"),
    [
        (
            "waitlist.moved_up",
            {"email": "b@example.com", "passed": "a@example.com"},
            "Sam Organiser moved b@example.com up the waiting list, ahead of a@example.com",
        ),
        (
            "waitlist.configured",
            {"paused": {"before": False, "after": True}, "offer_hours": {"before": 24, "after": 6}},
            "Sam Organiser paused the waiting list's offers and gave offers 6 hours",
        ),
        (
            "order.seats_released",
            {"tickets": ["K7QF-29XM"], "terms": "resale", "refund": None},
            "The buyer released 1 ticket, to be refunded if someone from the waiting list "
            "takes the seats",
        ),
    ],
)
def test_waiting_list_entries_read_as_sentences(action, data, said):  # type: ignore[no-untyped-def]
    assert _say(action, data) == said


def test_who_did_it_is_a_name_or_a_role_never_an_id():
    assert _say("order.cancelled", {"refund": None}, actor_id=None, actor="buyer") == (
        "The buyer cancelled the order"
    )
    assert _say("refund.succeeded", {"amount": 550}, actor_id=None, actor="system") == (
        "Stripe made the refund of £5.50"
    )


def test_an_unknown_action_still_reads_as_words():
    said = _say("guest_list.issued", {"name": "Press", "count": {"before": 1, "after": 3}})
    assert said == "Sam Organiser: guest list Press issued (the count from 1 to 3)"
    assert "_" not in said.replace("guest list", "")
