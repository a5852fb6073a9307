"""Every POST route in the route table, signed in with the role it needs and sent a valid
CSRF token, fed generated hostile input (empty, huge, any Unicode, NUL and other control
characters, numbers at the edges, unknown and repeated fields, odd encodings): no answer is
a 5xx, and a refused request (4xx) leaves every table's row count as it was.

FUZZ_EXAMPLES (default 12) sets the examples per route; the figures are printed at the end.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import SQLModel
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from booking.domain import accounts
from booking.domain.tickets import derive_key
from booking.models import MailKind, MailOutbox, Role, User
from booking.web import routes as web_routes
from tests.admin import conftest as admin_fixtures
from tests.admin.conftest import signed_in
from tests.door.conftest import paid_tickets
from tests.factories import NOW, make_event, make_organisation, make_speaker, make_ticket_type
from tests.helpers import csrf_from

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
# Tables that record a refusal on purpose: failed sign-ins and wrong order links are counted.
COUNTS_REFUSALS = {"rate_bucket"}


def _post_routes() -> list[tuple[str, str]]:
    def walk(routes: list[Any], prefix: str = "") -> Any:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(route.routes, prefix + route.path)
            elif isinstance(route, Route) and "POST" in (route.methods or ()):
                yield route.name, prefix + route.path

    return sorted(walk(web_routes()))


POST_ROUTES = _post_routes()
JSON_ROUTES = {"api_checkins", "api_checkins_bulk", "api_checkins_undo", "stripe_webhook"}
FIELDS = [
    *("title", "slug", "strapline", "description", "capacity", "contact_email", "venue"),
    *("starts_date", "starts_time", "ends_date", "ends_time", "doors_date", "doors_time"),
    *("venue_name", "venue_address", "venue_postcode", "organisers", "new_organisation"),
    *("buyer_cancel_allowed", "buyer_cancel_cutoff_hours", "name", "price", "max_per_order"),
    *("visible", "direction", "sales_start_date", "sales_start_time", "sales_end_date"),
    *("sales_end_time", "source", "existing_speaker", "existing_role", "affiliation", "bio"),
    *("url", "role", "visibility", "more_speakers_tba", "action", "subject", "note", "refund"),
    *("email", "password", "next", "code", "promo", "nonce", "ticket", "amount", "reason"),
    *("confirm", "label", "link_code", "organisation_id", "access_code_id", "unlocks"),
    *("discount_amount", "discount_percent", "max_uses", "code_label", "q", "status"),
]
EDGES = [
    *("", " ", "0", "-0", "-1", "1", "2", "6", "99", "2147483647", "2147483648", "9" * 40),
    *("1e3", "1e308", "inf", "-inf", "nan", "0x10", "1_000", "١٢", "²", "①", "１２", "7,50"),
    *("1,000.005", "£", "£-1", "£10", "10.00", "yes", "no", "on", "true", "null", "[]", "{}"),
    *("2036-02-31", "31/02/2036", "0001-01-01", "9999-12-31", "2036-07-03", "19:00", "25:61"),
    *("24:00", "12pm", "organiser", "staff", "ORGANISER", "ada@example.com", "@", "a@b"),
    *("'; DROP TABLE event; --", "<script>alert(1)</script>", "=?utf-8?q?=0D=0AX-A:1?="),
    *("\u202e", "\ufeff", "../../etc/passwd", "%00", "\r\n", "\t", "\x00", "a\x00b", "\x1b[2J"),
]
NUMBERS = [
    *("²", "①", "⁵", "١", "２", "-1", "0", "00", "+1", "1.0", "1.5", " 1", "2147483648"),
    *("9" * 19, "9" * 40, "1e3", "inf", "nan", "-0", "1_0", "0b1", "1,000", "12,50"),
]
TEXT = st.characters(exclude_categories=["Cs"])  # a form cannot carry half a surrogate pair


# Where the form that posts to a route lives, when it is not the route's own GET page.
FORM_PAGES = {
    "checkout_start": "/events/{slug}",
    "door_admit": "/door/{slug}",
    "admin_promo_link": "/admin/events/{event_id}/promo",
    "admin_promo_code": "/admin/events/{event_id}/promo",
    "admin_speaker_add": "/admin/events/{event_id}/speakers",
    "admin_speakers_tba": "/admin/events/{event_id}/speakers",
    "admin_order_resend": "/admin/orders/{order_id}",
    "order_resend": "/orders/{token}",
    "admin_event_publish": "/admin/events/{event_id}",
    "admin_event_unpublish": "/admin/events/{event_id}",
    "admin_ticket_type_move": "/admin/events/{event_id}",
    "admin_ticket_type_visibility": "/admin/events/{event_id}",
    "admin_speaker_move": "/admin/events/{event_id}/speakers",
    "admin_speaker_visibility": "/admin/events/{event_id}/speakers",
    "admin_speaker_remove": "/admin/events/{event_id}/speakers",
    "admin_user_deactivate": "/admin/users",
    "admin_user_reactivate": "/admin/users",
    "admin_mail_retry": "/admin/mail/{mail_id}",
}


# What a person would type into an empty field of that name (a trailing -id is ignored).
PLAUSIBLE = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "qty": "1",
    "password": "a long and unguessable passphrase",
    "title": "London and Brexit",
    "label": "Article",
    "price": "10.00",
    "capacity": "50",
    "note": "Sorry",
    "subject": "News",
    "affiliation": "LSE",
    "starts_date": "2036-07-03",
    "starts_time": "19:00",
}


class FormScraper(HTMLParser):
    """Each form on a page by its action: its fields as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.action: str | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    @classmethod
    def forms_of(cls, html: str) -> dict[str, list[tuple[str, str]]]:
        scraper = cls()
        scraper.feed(html)
        return scraper.forms

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = urlsplit(a.get("action", "")).path
            self.forms.setdefault(self.action, [])
        if self.action is None or "name" not in a and tag != "option":
            return
        fields = self.forms[self.action]
        if tag == "input" and a.get("type") not in ("submit", "button", "file", "image"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            fields.append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("value"):
            fields.append((a["name"], a["value"]))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select is not None:
            fields.append((self.select, a.get("value", "")))
            self.select = None  # the first option stands for the choice
        elif tag == "textarea":
            self.textarea = a["name"]
            fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self.textarea is not None and self.action is not None:
            key, value = self.forms[self.action][-1]
            self.forms[self.action][-1] = (key, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.action = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


@dataclass
class World:
    """Rows for every path parameter to name, and a client per role."""

    ids: dict[str, str]
    clients: dict[str, TestClient]
    tokens: dict[str, str] = field(default_factory=dict)
    picks: list[str] = field(default_factory=list)
    forms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class Tally:
    routes: set[str] = field(default_factory=set)
    inputs: int = 0
    statuses: Counter[int] = field(default_factory=Counter)


TALLY = Tally()
password_hash = admin_fixtures.password_hash  # a fixture: one argon2 hash for the run


@pytest.fixture(scope="module", autouse=True)
def figures(request):  # type: ignore[no-untyped-def]
    yield
    server_errors = sum(n for status, n in TALLY.statuses.items() if status >= 500)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(
            f"\nForm fuzzing: {len(TALLY.routes)} POST routes, {TALLY.inputs} inputs, "
            f"{server_errors} 5xx; statuses {dict(sorted(TALLY.statuses.items()))}"
        )


@pytest.fixture
def world(app, db, session, settings, password_hash, standin) -> Any:  # type: ignore[no-untyped-def]
    event = make_event(session, slug="brexit-debate", title="London and Brexit", capacity=50)
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    speaker = make_speaker(session, event, name="Andrew Adonis")
    org = make_organisation(session, event, name="On London")
    [ticket, _] = paid_tickets(session, event, standard, 2)
    with db.write() as s:
        olive = User(
            email="olive@example.com",
            name="Olive",
            role=Role.ORGANISER,
            password_hash=password_hash,
        )
        dora = User(
            email="dora@example.com", name="Dora", role=Role.STAFF, password_hash=password_hash
        )
        mail = MailOutbox(kind=MailKind.RESEND, recipient="x@example.com", dedupe_key="k")
        s.add_all([olive, dora, mail])
        s.flush()
    with db.write_session() as s:
        _, invitation = accounts.invite(
            s,
            email="new@example.com",
            role=Role.STAFF,
            invited_by=None,
            now=NOW,
            key=derive_key(settings.secret_key, "invitations"),
        )
    from booking.models import Order

    order = session.get(Order, ticket.order_id)
    assert order is not None
    clients = {}
    for role, user in (("organiser", olive), ("staff", dora), ("anonymous", None)):
        client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
        client.__enter__()
        if user is not None:
            signed_in(client, user, db, settings)
        clients[role] = client
    ids = {
        "slug": event.slug,
        "event_id": str(event.id),
        "ticket_type_id": str(standard.id),
        "speaker_id": str(speaker.id),
        "user_id": str(dora.id),
        "mail_id": str(mail.id),
        "order_id": str(order.id),
        "ticket_id": str(ticket.id),
        "number": "1",
        "token": order.token,
        "invitation": invitation,
    }
    picks = [*ids.values(), str(org.id), event.title, ticket.code, f"qty-{standard.id}"]
    made = World(ids=ids, clients=clients, picks=picks)
    for role, client in clients.items():
        made.tokens[role] = csrf_from(client, "/sign-in")
    yield made
    for client in clients.values():
        client.__exit__(None, None, None)


def _scrape_form(world: World, name: str, template: str) -> None:
    """The route's form as its page shows it, with empty fields given plausible values."""
    ids = world.ids

    def fill(template: str) -> str:
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: ids.get(m.group(1), "1"), template)

    action = f"/invitation/{ids['invitation']}" if name == "invitation" else fill(template)
    page = FORM_PAGES.get(name, action).format(**ids)
    forms = FormScraper.forms_of(world.clients[_role(template)].get(page).text)
    world.forms[name] = [
        (key, value or PLAUSIBLE.get(re.sub(r"-\d+$", "", key), ""))
        for key, value in forms.get(action) or forms.get("", [])
        if key != "csrf_token"
    ]


def _role(path: str) -> str:
    if path.startswith("/admin"):
        return "organiser"
    if path.startswith(("/door", "/api/events/")):
        return "staff"
    return "anonymous"


def _row_counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    names = sorted(t.name for t in SQLModel.metadata.sorted_tables)
    query = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{n}")' for n in names)
    with db.engine.connect() as conn:
        row = conn.execute(text(query)).one()
    return dict(zip(names, row, strict=True))


def values(world_picks: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(EDGES),
        st.sampled_from(NUMBERS),
        st.sampled_from(NUMBERS),  # twice: numbers at the edges matter most
        st.sampled_from(world_picks),
        st.text(TEXT, max_size=30),
        st.text(st.characters(codec="ascii"), max_size=12),
        st.integers(-(2**70), 2**70).map(str),
        st.floats().map(str),
        st.builds(lambda c, n: c * n, TEXT, st.integers(1_000, 70_000)),  # huge
    )


def _json_value(world_picks: list[str]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        values(world_picks),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )


@st.composite
def json_body(draw: st.DrawFn, picks: list[str]) -> bytes:
    kind = draw(st.sampled_from(["known", "any", "raw"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    if kind == "any":
        return json.dumps(draw(_json_value(picks))).encode()
    keys = ["code", "nonce", "device", "admissions", "checkin_id", "at"]
    body = draw(st.dictionaries(st.sampled_from(keys), _json_value(picks), max_size=6))
    if draw(st.booleans()):
        admission = st.dictionaries(st.sampled_from(keys), _json_value(picks), max_size=4)
        body["admissions"] = draw(st.lists(admission, max_size=5))
    return json.dumps(body).encode()


@st.composite
def request_for(draw: st.DrawFn, template: str, name: str, world: World) -> dict[str, Any]:
    """A path with its parameters filled (now and then oddly), and a hostile body."""

    def fill(match: re.Match[str]) -> str:
        param = match.group(1)
        if draw(st.integers(0, 9)) == 0:
            odd = draw(st.sampled_from(["0", "2147483647", "2147483648", "x", "%00", "-1"]))
            return odd
        if param == "token" and name == "invitation":
            return world.ids["invitation"]
        return quote(world.ids.get(param, "1"), safe="")

    path = re.sub(r"\{(\w+)(?::\w+)?\}", fill, template)
    own = [key for key, _ in world.forms[name]]
    names = st.one_of(
        *([st.sampled_from(own)] * 3 if own else []),  # the fields of the route's own form
        st.sampled_from(FIELDS),  # any form's fields
        st.text(TEXT, max_size=12),  # unknown fields
    )
    if draw(st.integers(0, 4)) == 0:  # hostile from the first field to the last
        pairs = draw(st.lists(st.tuples(names, values(world.picks)), max_size=10))
    else:  # the form as a person would fill it in, then a few fields made hostile
        pairs = list(world.forms[name])
        for _ in range(draw(st.integers(1, 4))):
            how = draw(st.sampled_from(["set", "set", "set", "add", "repeat", "drop"]))
            if how in ("set", "repeat", "drop") and not pairs:
                how = "add"
            if how == "add":
                pairs.append((draw(names), draw(values(world.picks))))
                continue
            i = draw(st.integers(0, len(pairs) - 1))
            if how == "set":
                pairs[i] = (pairs[i][0], draw(values(world.picks)))
            elif how == "repeat":
                pairs.append((pairs[i][0], draw(values(world.picks))))
            else:
                del pairs[i]
    if name in JSON_ROUTES and draw(st.integers(0, 3)) > 0:
        return {"path": path, "json": draw(json_body(world.picks))}
    multipart = draw(st.integers(0, 4)) == 0
    upload = None
    if multipart and draw(st.booleans()):
        upload = (draw(st.sampled_from(["image", "photo", "file"])), draw(st.binary(max_size=64)))
    return {"path": path, "pairs": pairs, "multipart": multipart, "upload": upload}


def _send(client: TestClient, token: str, req: dict[str, Any]):  # type: ignore[no-untyped-def]
    headers = {"X-CSRF-Token": token}
    if "json" in req:
        headers["Content-Type"] = "application/json"
        return client.post(req["path"], content=req["json"], headers=headers)
    pairs = [("csrf_token", token), *req["pairs"]]
    if not req["multipart"]:
        body = urlencode(pairs).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return client.post(req["path"], content=body, headers=headers)
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    files = {}
    if req["upload"]:
        files[req["upload"][0]] = ("upload.png", req["upload"][1], "image/png")
    else:
        files["_"] = ("", b"", "application/octet-stream")  # multipart even without a file
    return client.post(req["path"], data=data, files=files, headers=headers)


@pytest.mark.parametrize(("name", "template"), POST_ROUTES, ids=[n for n, _ in POST_ROUTES])
def test_no_post_route_answers_5xx_or_half_writes(name, template, world, db):  # type: ignore[no-untyped-def]
    role = _role(template)
    client = world.clients[role]
    _scrape_form(world, name, template)
    if os.environ.get("FUZZ_DEBUG"):
        print("FORM", name, world.forms[name])

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(req=request_for(template, name, world))
    def check(req: dict[str, Any]) -> None:
        if name == "sign_out" or role == "anonymous":
            world.tokens[role] = csrf_from(client, "/sign-in")  # signing out ends the session
        if os.environ.get("FUZZ_DEBUG"):
            print(name, req)
        before = _row_counts(db)
        response = _send(client, world.tokens[role], req)
        TALLY.inputs += 1
        TALLY.statuses[response.status_code] += 1
        assert response.status_code < 500, (name, req, response.text[-800:])
        if response.status_code >= 400:
            after = _row_counts(db)
            changed = {
                t: (before[t], after[t])
                for t in before
                if before[t] != after[t] and t not in COUNTS_REFUSALS
            }
            assert not changed, (name, response.status_code, changed, req)

    TALLY.routes.add(name)
    check()
