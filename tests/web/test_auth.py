"""Sign-in, sessions, throttling and the role guard on every organiser and door route."""

import re

import pytest
from starlette.routing import Mount, Route

from tests.conftest import sign_in
from tests.helpers import csrf_from


def test_sign_in_rotates_the_session_and_sign_out_ends_it(client, organiser):
    before_token = csrf_from(client, "/sign-in")
    before_cookie = client.cookies.get("booking_session")
    response = sign_in(client, organiser)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    assert client.cookies.get("booking_session") != before_cookie
    assert csrf_from(client, "/admin/") != before_token  # a new CSRF token at sign-in
    assert client.get("/admin/").status_code == 200
    stolen = client.cookies.get("booking_session")
    client.post("/sign-out", data={"csrf_token": csrf_from(client, "/admin/")})
    assert client.get("/admin/").status_code == 303
    # The old cookie is dead everywhere: the session row is gone.
    client.cookies.set("booking_session", stolen)
    assert client.get("/admin/").status_code == 303


def test_session_cookie_flags(client, organiser):
    response = sign_in(client, organiser)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_signed_out_users_go_to_sign_in_and_come_back(client, organiser):
    response = client.get("/admin/orders?page=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fadmin%2Forders%3Fpage%3D2"
    token = csrf_from(client, response.headers["location"])
    back = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "email": organiser.email,
            "password": "correct horse battery staple",
            "next": "/admin/orders?page=2",
        },
    )
    assert back.headers["location"] == "/admin/orders?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_next_never_leaves_the_site(client, organiser, target):
    token = csrf_from(client, "/sign-in")
    response = client.post(
        "/sign-in",
        data={
            "csrf_token": token,
            "email": organiser.email,
            "password": "correct horse battery staple",
            "next": target,
        },
    )
    assert response.headers["location"] == "/admin"


def test_wrong_password_is_refused_with_a_clear_message(client, organiser):
    response = sign_in(client, organiser, password="wrong password here")
    assert response.status_code == 400
    assert "Enter the email address and password for your account" in response.text
    assert 'value="organiser@example.com"' in response.text


def test_failed_attempts_are_limited_per_account(client, organiser):
    for _ in range(5):
        assert sign_in(client, organiser, password="wrong password here").status_code == 400
    response = sign_in(client, organiser)  # even the right password, for a while
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text


def test_staff_land_on_the_door_and_cannot_open_the_back_office(client, staff):
    response = sign_in(client, staff)
    assert response.headers["location"] == "/door"
    assert client.get("/door/").status_code == 200
    assert client.get("/admin/").status_code == 403


def _guarded_paths(app, prefix):  # type: ignore[no-untyped-def]
    for route in app.routes:
        if isinstance(route, Mount) and route.path == prefix:
            for sub in route.routes:
                if isinstance(sub, Route):
                    path = re.sub(r"\{(\w+)(:\w+)?\}", "1", sub.path)
                    yield prefix + path, sorted(sub.methods or {"GET"})


def test_every_organiser_route_refuses_staff_and_signed_out_users(app, client, staff):
    paths = list(_guarded_paths(app, "/admin"))
    assert len(paths) >= 4
    token = csrf_from(client, "/sign-in")
    for path, methods in paths:
        for method in methods:
            if method == "HEAD":
                continue
            response = client.request(method, path, data={"csrf_token": token})
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/sign-in?next=")
    sign_in(client, staff)
    token = csrf_from(client, "/door/")
    for path, methods in paths:
        for method in methods:
            if method == "HEAD":
                continue
            response = client.request(method, path, data={"csrf_token": token})
            assert response.status_code == 403, (method, path)


def test_door_api_refuses_signed_out_users_with_json(client):
    response = client.get("/api/events/anything/checkins")
    assert response.status_code == 401
    assert response.json()["error"] == "forbidden"
