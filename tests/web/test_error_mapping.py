"""A BookingError that no handler words itself answers with its own status, in one place
(booking.app.booking_error): the app's error page for HTML, {"error", "message"} for the API,
and the security headers on both."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from booking.domain import catalogue
from booking.domain.errors import (
    BookingError,
    Conflict,
    EventCancelled,
    InvalidInput,
    NotFound,
    SalesClosed,
    SoldOut,
)
from booking.domain.inventory import CodeUsedUp
from booking.domain.order_changes import NotChangeable
from booking.ratelimit import RateLimited
from tests.conftest import sign_in
from tests.helpers import csrf_from

SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
)

ERRORS = [
    (NotFound("No event at this address"), 404),
    (InvalidInput({"slug": "Enter a web address"}), 422),
    (Conflict("This cannot be done now"), 409),
    (NotChangeable("Names can only be changed on a paid order"), 409),
    (SoldOut("Sold out"), 409),
    (SalesClosed("Sales have closed"), 409),
    (EventCancelled("This event has been cancelled"), 409),
    (CodeUsedUp("This code has been used up"), 409),
    (RateLimited("Too many tries: wait a minute"), 429),
    (BookingError("That cannot be done"), 400),
]


@pytest.fixture
def refusing(monkeypatch):  # type: ignore[no-untyped-def]
    """Make the event lookup behind /events/{slug} and /api/events/{slug} raise `error`."""

    def set_error(error: BookingError) -> None:
        def refuse(session, **kwargs):  # type: ignore[no-untyped-def]
            raise error

        monkeypatch.setattr(catalogue, "event_page", refuse)

    return set_error


def _has_security_headers(response, normal) -> None:  # type: ignore[no-untyped-def]
    for name in SECURITY_HEADERS:
        assert response.headers.get(name) == normal.headers[name], name


@pytest.mark.parametrize(("error", "status"), ERRORS, ids=lambda v: type(v).__name__)
def test_an_html_page_answers_with_the_errors_status_and_page(client, refusing, error, status):
    normal = client.get("/")
    refusing(error)
    response = client.get("/events/anything")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    if status == 404:
        assert "Page not found" in response.text
    else:
        assert f"<h1>{error.message}</h1>" in response.text
    _has_security_headers(response, normal)


@pytest.mark.parametrize(("error", "status"), ERRORS, ids=lambda v: type(v).__name__)
def test_an_api_route_answers_with_the_errors_status_and_code(client, refusing, error, status):
    normal = client.get("/")
    refusing(error)
    response = client.get("/api/events/anything")
    assert response.status_code == status
    assert response.json() == {"error": error.code, "message": error.message}
    _has_security_headers(response, normal)


def test_the_statuses_are_the_errors_own():
    assert [type(e).status for e, _ in ERRORS] == [status for _, status in ERRORS]


def test_an_unknown_event_answers_404_on_the_public_page_and_the_api(client):
    page = client.get("/events/no-such-event")
    assert page.status_code == 404 and "Page not found" in page.text
    api = client.get("/api/events/no-such-event")
    assert api.status_code == 404
    assert api.json() == {"error": "not_found", "message": "No event at this address"}


@pytest.mark.parametrize(
    "path",
    [
        "/admin/events/999999/dashboard",
        "/admin/events/999999/speakers",
        "/admin/events/999999/guests",
        "/admin/events/999999/messages",
        "/admin/venues/999999",
    ],
)
def test_back_office_pages_of_something_missing_are_404_with_headers(client, organiser, path):
    sign_in(client, organiser)
    normal = client.get("/admin/")
    response = client.get(path)
    assert response.status_code == 404, path
    assert "Page not found" in response.text
    _has_security_headers(response, normal)


def test_a_missing_thing_posted_to_is_404_not_a_server_error(app, organiser):
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        sign_in(c, organiser)
        token = csrf_from(c, "/admin/")
        response = c.post("/admin/events/999999/speakers/more", data={"csrf_token": token})
    assert response.status_code == 404
