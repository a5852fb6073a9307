"""Helpers for the production-shape tests: real processes on loopback, started and stopped
by the test."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest


def wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Until something accepts on host:port; fails early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.1)


def wait_for_health(url: str, proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer /healthz after {timeout}s")
        time.sleep(0.1)


class Processes:
    """Started processes, stopped in reverse order (SIGTERM, then SIGKILL after 10 s)."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kw) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
        proc = subprocess.Popen(args, **kw)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def processes() -> Iterator[Processes]:
    group = Processes()
    yield group
    group.stop()


def clean_env(**values: str) -> dict[str, str]:
    """The environment without the suite's own settings, plus `values`."""
    from booking.settings import ENV_NAMES

    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES.values()}
    env.update(values)
    return env
