"""Playwright driving Debian's Chromium against the app served on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from booking.app import create_app
from booking.stripe_standin.app import ServerHandle, bind, serve_app_in_thread
from tests.conftest import ARTIFACTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_server(settings, db, standin) -> Iterator[ServerHandle]:  # type: ignore[no-untyped-def]
    """The app on a real port, with the stand-in delivering webhooks to it."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    live_settings = settings.replace(base_url=f"http://127.0.0.1:{port}")
    standin.configure_webhook(f"http://127.0.0.1:{port}/stripe/webhook")
    server = serve_app_in_thread(create_app(live_settings, db=db), sock, name="booking")
    yield server
    standin.configure_webhook(None)
    server.stop()


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page) -> None:  # type: ignore[no-untyped-def]
    """Run axe-core in the page; fail on any violation, listing them."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert not violations, "\n".join(summary)
