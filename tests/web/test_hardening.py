"""Response headers and start-up refusals: the 500 page's headers, base-uri, no-store on
signed-in pages, no cookie on a publicly cached page, and the stand-in kept out of production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

from booking.web import public
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def test_the_500_page_carries_the_same_security_headers(app, monkeypatch):
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(public, "load_event_page", broken)
    with TestClient(app, raise_server_exceptions=False) as c:
        normal = c.get("/")
        failed = c.get("/events/anything")
    assert failed.status_code == 500 and "a bug" not in failed.text
    for name in (*SECURITY_HEADERS, "x-frame-options"):
        assert failed.headers.get(name) == normal.headers[name], name


def test_pages_forbid_a_base_element(client, event):
    for path in ("/", f"/events/{event.slug}", "/sign-in"):
        policy = client.get(path).headers["content-security-policy"]
        assert "base-uri 'none'" in [part.strip() for part in policy.split(";")]


def test_signed_in_pages_are_not_stored_by_any_cache(client, organiser, staff, app, event):
    sign_in(client, organiser)
    for path in ("/admin/", f"/admin/events/{event.id}", "/admin/orders"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store", path
    # A signed-in reader's public page is theirs alone too.
    assert client.get(f"/events/{event.slug}").headers["cache-control"] == "private, no-store"
    with TestClient(app, follow_redirects=False) as door:
        sign_in(door, staff)
        assert door.get("/door/").headers["cache-control"] == "no-store"


def test_the_publicly_cached_ticket_box_sets_no_cookie(app, event):
    with TestClient(app) as first_time:
        box = first_time.get(f"/events/{event.slug}/embed")
        assert box.status_code == 200 and box.headers["cache-control"].startswith("public, ")
        assert "set-cookie" not in box.headers
    with TestClient(app) as returning:
        assert "set-cookie" in returning.get("/sign-in").headers  # a form: a session
        box = returning.get(f"/events/{event.slug}/embed?promo=nothing")
        assert box.status_code == 200 and "set-cookie" not in box.headers
        # The reader's own session is untouched by the box.
        assert returning.get(f"/events/{event.slug}").status_code == 200


def test_the_stripe_standin_refuses_to_start_in_production(tmp_path):
    env = {**os.environ, "ENVIRONMENT": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "booking.stripe_standin", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ENVIRONMENT=production" in result.stderr and "Traceback" not in result.stderr
    # The same from a .env file, as booking itself reads it.
    (tmp_path / ".env").write_text("ENVIRONMENT=production\n")
    env.pop("ENVIRONMENT")
    result = subprocess.run(
        [sys.executable, "-m", "booking.stripe_standin", "--port", "0"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
