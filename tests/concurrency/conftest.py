"""Several real app processes (uvicorn) on one database, as behind a proxy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from booking.stripe_standin.app import bind
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


class AppProcesses:
    def __init__(self, procs: list[subprocess.Popen[bytes]], urls: list[str]) -> None:
        self.procs = procs
        self.urls = urls

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    return int(port)


@pytest.fixture
def app_processes(settings, db, standin_server) -> Iterator[Callable[..., AppProcesses]]:  # type: ignore[no-untyped-def]
    """Start N uvicorn processes of the app on the test database: `app_processes(2)`."""
    started: list[AppProcesses] = []

    def start(count: int = 2, *, locking: bool = True) -> AppProcesses:
        ports = [_free_port() for _ in range(count)]
        procs, urls = [], []
        for port in ports:
            env = {
                **os.environ,
                "DATABASE_URL": settings.database_url,
                "SECRET_KEY": TEST_SECRET,
                "BASE_URL": f"http://127.0.0.1:{ports[0]}",
                "ENVIRONMENT": "test",
                "RUN_JOBS": "false",
                "STRIPE_SECRET_KEY": "",
                "STRIPE_STANDIN_PORT": str(standin_server.port),
                "UNSAFE_DISABLE_LOCKING": "false" if locking else "true",
                "MEDIA_DIR": settings.media_dir,
                "THREAD_LIMIT": "4",
            }
            cmd = [
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
                "warning",
                "--no-access-log",
            ]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env))
            urls.append(f"http://127.0.0.1:{port}")
        group = AppProcesses(procs, urls)
        started.append(group)
        deadline = time.monotonic() + 60  # a loaded machine can take a while to import
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    group.stop()
                    raise RuntimeError(f"app process at {url} did not start")
                time.sleep(0.1)
        return group

    yield start
    for group in started:
        group.stop()
