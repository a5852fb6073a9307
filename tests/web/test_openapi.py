"""The JSON API against its OpenAPI document: Schemathesis generates requests for every
operation (signed in as door staff, with the event's real slug most of the time), in process;
no answer is a 5xx, and every answer's status, content type and body match the document.

OPENAPI_EXAMPLES (default 25) sets the examples per operation; the figures are printed.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from booking.web.openapi import DOCUMENT
from tests.admin.conftest import signed_in
from tests.door.conftest import paid_tickets
from tests.factories import make_event, make_speaker, make_ticket_type
from tests.helpers import csrf_from

EXAMPLES = int(os.environ.get("OPENAPI_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = [(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item]
STATUSES: Counter[int] = Counter()
EDGE_TIMES = [
    *("0001-01-01T00:00:00-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"),
    *("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2036-07-03T19:00:00+23:59"),
]


def _parameters(path: str, method: str) -> list[dict[str, Any]]:
    return DOCUMENT["paths"][path][method.lower()].get("parameters", [])


@pytest.fixture(scope="module", autouse=True)
def figures(request):  # type: ignore[no-untyped-def]
    yield
    server_errors = sum(n for status, n in STATUSES.items() if status >= 500)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(
            f"\nSchemathesis: {len(OPERATIONS)} operations, {sum(STATUSES.values())} requests, "
            f"{server_errors} 5xx; statuses {dict(sorted(STATUSES.items()))}"
        )


def test_the_document_is_served_and_names_every_json_route(client, app):
    from starlette.routing import Mount, Route

    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json() == DOCUMENT

    def walk(routes, prefix=""):  # type: ignore[no-untyped-def]
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(route.routes, prefix + route.path)
            elif isinstance(route, Route):
                yield prefix + route.path

    api = {p.replace(":str", "") for p in walk(app.routes) if p.startswith("/api/")}
    assert api - {"/api/openapi.json"} == set(DOCUMENT["paths"]) - {"/healthz"}


@pytest.fixture
def door(app, db, session, settings, staff):  # type: ignore[no-untyped-def]
    """An event with paid tickets; a staff session's cookie and CSRF token."""
    event = make_event(session, slug="brexit-debate", title="London and Brexit")
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    make_speaker(session, event, name="Andrew Adonis")
    paid_tickets(session, event, standard, 3)
    with TestClient(app) as web:
        signed_in(web, staff, db, settings)
        token = csrf_from(web, "/sign-in")
        # The cookie the app last set (signed_in's own copy has no domain).
        cookie = [c.value for c in web.cookies.jar if c.name == "booking_session"][-1]
    return {"slug": event.slug, "cookie": cookie, "token": token}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(app, door, method, path):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operation = schema[path][method]
    fixed = {"slug": door["slug"]} if "{slug}" in path else None
    signed = {
        "cookies": {"booking_session": door["cookie"]},
        "headers": {"X-CSRF-Token": door["token"]},
    }
    cases = st.one_of(
        operation.as_strategy(path_parameters=fixed, **signed),
        operation.as_strategy(path_parameters=fixed, **signed),
        operation.as_strategy(**signed),
        operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=fixed, **signed),
    )
    times = [
        p["name"]
        for p in _parameters(path, method)
        if p["schema"] == {"type": "string", "format": "date-time"}
    ]
    for name in times:  # times at the calendar's ends, which a generator seldom picks
        cases |= st.sampled_from(EDGE_TIMES).flatmap(
            lambda when, name=name: operation.as_strategy(
                path_parameters=fixed, query={name: when}, **signed
            )
        )

    with asgi.get_client(app) as session:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def check(case: Any) -> None:
            response = case.call(session=session)
            STATUSES[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        check()
