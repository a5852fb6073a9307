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
    seed = int(os.environ.get("FAULTS_SEED") or random.SystemRandom().randrange(1 << 32))
    found = Figures(seed=seed, budget=budget())
    yield found
    for name, value in found.items():
        record_property(name, value)
    _REPORTS.append((request.node.nodeid, dict(found)))


@pytest.fixture
def rng(figures: Figures) -> random.Random:
    print(f"\nFAULTS_SEED={figures['seed']}")  # shown with the failure if the test fails
    return random.Random(figures["seed"])


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

    def start(self, name: str, *, wait: bool = True) -> None:
        env = {**self.env, "BASE_URL": self.urls[0]}
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
        url = self.urls[int(name.split("-")[1])]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited with {self.procs[name].returncode}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
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
