"""Fault injection: processes killed with SIGKILL, Stripe failing, SMTP down.

Each test keeps its figures (operations, faults injected, invariant checks) in a `figures`
fixture: they go to the test's report (`record_property`, so JUnit XML has them) and are
printed in the closing summary of the run. `FAULTS_BUDGET` (default 1) multiplies the number
of operations for a longer run; `FAULTS_SEED` replays one (every run prints its seed).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.concurrency.conftest import ROOT, _free_port
from tests.conftest import TEST_SECRET

_REPORTS: list[tuple[str, dict[str, object]]] = []


def budget() -> int:
    """How many times the CI figures to run (FAULTS_BUDGET, a positive whole number)."""
    return max(1, int(os.environ.get("FAULTS_BUDGET", "1")))


class Figures(dict[str, object]):
    """What a fault test did, shown in its report and in the run's closing summary."""

    def add(self, name: str, by: int = 1) -> None:
        self[name] = int(self.get(name, 0)) + by  # type: ignore[call-overload]


@pytest.fixture
def figures(request, record_property) -> Iterator[Figures]:  # type: ignore[no-untyped-def]
    found = Figures(budget=budget())
    yield found
    for name, value in found.items():
        record_property(name, value)
    _REPORTS.append((request.node.nodeid, dict(found)))


@pytest.fixture
def rng(figures: Figures) -> random.Random:
    """Random choices from a seed: FAULTS_SEED, or a fresh one (printed, and in figures)."""
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(1 << 32))
    figures["seed"] = seed
    print(f"\nFAULTS_SEED={seed}")  # shown with the failure if the test fails
    return random.Random(seed)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not _REPORTS:
        return
    terminalreporter.section("fault injection figures")
    for nodeid, found in _REPORTS:
        shown = ", ".join(f"{k}={v}" for k, v in found.items())
        terminalreporter.write_line(f"{nodeid}: {shown}")


class Cluster:
    """Two app processes (uvicorn) and a `booking worker` on one database; any of them can
    be killed with SIGKILL and started again on the same port."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.ports = [_free_port(), _free_port()]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.ports]
        self.names = ["web-0", "web-1", "worker"]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starting: set[str] = set()

    def _command(self, name: str) -> list[str]:
        if name == "worker":
            return [sys.executable, "-m", "booking", "worker"]
        port = self.ports[int(name.split("-")[1])]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "booking.asgi:make_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "critical",
            "--no-access-log",
        ]

    def serving(self) -> list[str]:
        """The app processes that answer now, as a proxy's health check would see them (waits
        for one when every one is starting)."""
        webs = self.names[:2]
        for name in webs:
            if name in self.starting and self._answers(name, 0.2):
                self.starting.discard(name)
        up = [self.urls[i] for i, name in enumerate(webs) if name not in self.starting]
        if not up:
            first = sorted(self.starting)[0]
            self.wait_ready(first)
            self.starting.discard(first)
            up = [self.urls[webs.index(first)]]
        return up

    def _answers(self, name: str, timeout: float) -> bool:
        try:
            url = self.urls[int(name.split("-")[1])]
            return httpx.get(url + "/healthz", timeout=timeout).status_code == 200
        except httpx.TransportError:
            return False

    def start(self, name: str, *, wait: bool = True) -> None:
        env = {**self.env, "BASE_URL": self.urls[0]}
        if name != "worker":
            self.starting.add(name)
        self.procs[name] = subprocess.Popen(
            self._command(name),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if name == "worker" else None,
        )
        if wait and name != "worker":
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.procs[name].poll()
            if code == -signal.SIGKILL:  # killed while starting: as if the request was lost
                raise httpx.ConnectError(f"{name} was killed while starting")
            if code is not None:
                raise RuntimeError(f"{name} exited with {code}")
            if self._answers(name, 1):
                self.starting.discard(name)
                return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not start")

    def start_all(self) -> None:
        for name in self.names:
            self.start(name, wait=False)
        for name in self.names[:2]:
            self.wait_ready(name)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self, name: str) -> bool:
        return name in self.procs and self.procs[name].poll() is None

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def cluster(settings, db, standin_server, smtp) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": TEST_SECRET,
        "ENVIRONMENT": "test",
        "RUN_JOBS": "false",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_STANDIN_PORT": str(standin_server.port),
        "UNSAFE_DISABLE_LOCKING": "false",
        "MEDIA_DIR": settings.media_dir,
        "THREAD_LIMIT": "4",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "tickets@example.org",
    }
    group = Cluster(env)
    try:
        yield group
    finally:
        group.stop()
