"""No back-office form answers 500, whatever is sent to it."""

import re
from urllib.parse import urlencode

import pytest
from starlette.routing import Mount, Route

from booking.models import MailKind, MailOutbox, Role, User
from tests.factories import make_speaker

FIELDS = [
    *("title", "slug", "strapline", "description", "capacity", "contact_email"),
    *("starts_date", "starts_time", "ends_date", "ends_time", "doors_date", "doors_time"),
    *("venue", "venue_name", "venue_address", "venue_postcode", "organisers"),
    *("new_organisation", "buyer_cancel_allowed", "buyer_cancel_cutoff_hours"),
    *("name", "price", "max_per_order", "visible", "direction", "description"),
    *("sales_start_date", "sales_start_time", "sales_end_date", "sales_end_time"),
    *("source", "existing_speaker", "existing_role", "affiliation", "bio", "url", "role"),
    *("visibility", "more_speakers_tba", "action", "subject", "note", "refund", "email"),
]
ODD = ["", "-1", "9" * 40, "x" * 60_000, "\x00<script>31/02/2036", "²١٢"]


def admin_routes(app, method):  # type: ignore[no-untyped-def]
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/admin":
            for sub in route.routes:
                if isinstance(sub, Route) and method in (sub.methods or ()):
                    yield "/admin" + sub.path


@pytest.mark.parametrize("odd", ODD, ids=range(len(ODD)))
def test_odd_values_in_every_field_of_every_form(
    app, forms, db, session, event, password_hash, odd
):
    speaker = make_speaker(session, event, name="Andrew Adonis")
    with db.write() as s:
        other = User(email="door@example.com", role=Role.STAFF, password_hash=password_hash)
        mail = MailOutbox(kind=MailKind.RESEND, recipient="x@example.com", dedupe_key="k")
        s.add_all([other, mail])
        s.flush()
    tt_id = forms.client.get(f"/admin/events/{event.id}").context["view"].types[0].ticket_type.id
    ids = {
        "event_id": event.id,
        "ticket_type_id": tt_id,
        "speaker_id": speaker.id,
        "user_id": other.id,
        "mail_id": mail.id,
    }
    short = odd[:4000]  # a URL has a length limit of its own
    query = urlencode({"status": short, "added": short, "subject": short, "note": short})
    for template in admin_routes(app, "GET"):
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids.get(m.group(1), 1)), template)
        response = forms.client.get(f"{path}?{query}")
        assert response.status_code < 500, (template, odd, response.text[-500:])
    paths = sorted(admin_routes(app, "POST"), key=lambda p: "cancel" in p)  # cancelling last
    assert len(paths) > 15
    for template in paths:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids.get(m.group(1), 1)), template)
        response = forms.post(path, {name: odd for name in FIELDS})
        assert response.status_code < 500, (template, odd, response.text[-500:])
