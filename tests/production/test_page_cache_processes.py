"""Two `booking serve` processes on one database, each keeping its own copy of the public
pages: an organiser's edit through one shows at once through the other."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, TEST_SECRET, free_port
from tests.factories import make_event, make_speaker, make_ticket_type
from tests.production.conftest import Processes, clean_env, wait_for_health

pytestmark = pytest.mark.slow


def _token(http: httpx.Client, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', http.get(path).text)
    assert match, path
    return match.group(1)


def _serve(tmp_path: Path, database_url: str, processes: Processes) -> list[str]:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    procs = []
    for n, port in enumerate(ports):
        env = clean_env(
            ENVIRONMENT="test",
            DATABASE_URL=database_url,
            SECRET_KEY=TEST_SECRET,
            BASE_URL=urls[0],
            RUN_JOBS="false",
            STRIPE_STANDIN_PORT=str(free_port()),  # each serve starts its own stand-in
            MEDIA_DIR=str(tmp_path / "media"),
        )
        log = (tmp_path / f"serve-{n}.log").open("wb")
        args = [sys.executable, "-m", "booking", "serve", "--port", str(port)]
        procs.append(processes.start(args, cwd=tmp_path, env=env, stdout=log, stderr=log))
    for url, proc in zip(urls, procs, strict=True):
        wait_for_health(url, proc, timeout=120)
    return urls


def test_an_edit_through_one_process_shows_at_once_through_the_other(
    tmp_path, database_url, session, organiser, processes
):
    event = make_event(session, title="London and Brexit")
    make_ticket_type(session, event)
    speaker = make_speaker(session, event, name="Daniel Moylan")
    one, other = _serve(tmp_path, database_url, processes)
    page = f"/events/{event.slug}"
    readers = [httpx.Client(base_url=url) for url in (one, other)]
    before = {}
    for reader in readers:
        for _ in range(3):  # the second and third come from the process's own copy
            response = reader.get(page)
            assert response.status_code == 200 and "Daniel Moylan" in response.text
            assert "set-cookie" not in response.headers
        before[reader] = response.headers["etag"]

    with httpx.Client(base_url=one) as admin:
        admin.post(
            "/sign-in",
            data={
                "csrf_token": _token(admin, "/sign-in"),
                "email": organiser.email,
                "password": PASSWORD,
            },
        )
        token = _token(admin, f"/admin/events/{event.id}/speakers")
        hidden = admin.post(
            f"/admin/events/{event.id}/speakers/{speaker.id}/visibility",
            data={"csrf_token": token, "visibility": "hidden"},
        )
        assert hidden.status_code == 303

    for reader in reversed(readers):
        response = reader.get(page, headers={"If-None-Match": before[reader]})
        assert response.status_code == 200, reader.base_url
        assert "Daniel Moylan" not in response.text
        api = reader.get(f"/api/events/{event.slug}").json()
        assert api["speakers"] == []
        reader.close()
