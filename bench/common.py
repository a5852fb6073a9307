"""Shared pieces of the benchmarks: child processes, ports, databases, a small HTTP/1.1
client for loopback load, and statistics.

Every server is started on 127.0.0.1 in its own process group and is stopped (SIGTERM,
then SIGKILL) when the benchmark ends, however it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
T = TypeVar("T")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# booking's settings, stripped from the environment children inherit so that a developer's
# shell (or .env) cannot change what is measured.
BOOKING_ENV_NAMES = (
    "ENVIRONMENT",
    "DATABASE_URL",
    "SECRET_KEY",
    "BASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_STANDIN_PORT",
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_TLS",
    "MAIL_FROM",
    "TIMEZONE",
    "HOLD_MINUTES",
    "MEDIA_DIR",
    "THREAD_LIMIT",
    "RUN_JOBS",
    "UNSAFE_DISABLE_LOCKING",
)


class BenchError(Exception):
    """Something the benchmark needs did not happen (a server did not start, ...)."""


def require_loopback(host: str) -> None:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"refusing to send load to {host}: only loopback addresses are allowed")


def raise_on_signals() -> None:
    """Turn SIGINT (even where a shell started us ignoring it), SIGTERM and SIGHUP into
    KeyboardInterrupt, so that the cleanup code runs."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- child processes --------------------------------------------------------------------------
@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Processes:
    """Children started in their own process groups, stopped in reverse order."""

    logdir: Path
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        stdout: int | IO[bytes] | None = None,
    ) -> Child:
        log = self.logdir / f"{name}.log"
        with open(log, "ab") as sink:
            proc = subprocess.Popen(
                list(args),
                stdout=stdout if stdout is not None else sink,
                stderr=sink,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def stop(self, child: Child, timeout: float = 10.0) -> None:
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, sig)  # the group this script created for the child
            try:
                child.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            self.stop(child)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 if it has gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    rest = stat.rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLOCK_TICKS


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def busy_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (all cores)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.extend(int(p) for p in (task / "children").read_text().split())
    return found


# -- servers ----------------------------------------------------------------------------------
APP_TARGETS = {
    "booking": "booking.asgi:make_app",
    "booking-cold": "cold_app:make_app",
    "bare": "bare_app:make_app",
}
STARTED = "Application startup complete"


@dataclass
class Server:
    """One app served by several worker processes on one port."""

    name: str
    port: int
    children: list[Child]
    mode: str
    workers: int

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def worker_pids(self) -> list[int]:
        if self.mode == "reuseport":
            return [c.pid for c in self.children]
        return [
            pid
            for pid in child_pids(self.children[0].pid)
            if b"resource_tracker" not in _cmdline(pid)  # multiprocessing's helper
        ]

    def cpu(self) -> dict[int, float]:
        return {pid: cpu_seconds(pid) for pid in self.worker_pids()}


def start_server(
    procs: Processes,
    *,
    name: str,
    app: str,
    port: int,
    env: dict[str, str],
    cwd: Path,
    mode: str = "reuseport",
    workers: int = 2,
    ready_path: str = "/",
    timeout: float = 60.0,
) -> Server:
    """Start `workers` processes serving `app` ("booking" or "bare") on HOST:port.

    mode "reuseport": one process per worker, each with its own SO_REUSEPORT listening socket
    on the same port (the kernel spreads connections evenly). mode "workers": stock
    `uvicorn --workers N`, whose workers share one listening socket.
    """
    if mode == "reuseport":
        children = [
            procs.start(
                f"{name}-{i}",
                [PYTHON, str(BENCH_DIR / "serve.py"), "--app", app, "--port", str(port)],
                env=env,
                cwd=cwd,
            )
            for i in range(workers)
        ]
    elif mode == "workers":
        args = [PYTHON, "-m", "uvicorn", APP_TARGETS[app], "--factory"]
        args += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
        args += ["--no-access-log", "--log-level", "info", "--app-dir", str(BENCH_DIR)]
        children = [procs.start(name, args, env=env, cwd=cwd)]
    else:
        raise ValueError(f"unknown server mode {mode!r}")
    server = Server(name, port, children, mode, workers)
    deadline = time.monotonic() + timeout
    while True:
        started = sum(c.log.read_text(errors="replace").count(STARTED) for c in children)
        if started >= workers:
            break
        for child in children:
            if child.proc.poll() is not None:
                raise BenchError(f"{child.name} exited on start:\n{child.tail()}")
        if time.monotonic() > deadline:
            logs = "\n".join(c.tail() for c in children)
            raise BenchError(f"{name} did not start within {timeout:.0f} s:\n{logs}")
        time.sleep(0.1)
    wait_http(port, ready_path, deadline=deadline)
    return server


def wait_http(port: int, path: str, *, deadline: float) -> None:
    async def probe() -> int:
        conn = HTTPConnection(HOST, port, timeout=5)
        try:
            return (await conn.request("GET", path)).status
        finally:
            await conn.close()

    last: object = None
    while time.monotonic() < deadline:
        try:
            last = asyncio.run(probe())
            if last == 200:
                return
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            last = exc
        time.sleep(0.1)
    raise BenchError(f"http://{HOST}:{port}{path} did not answer 200 (last: {last!r})")


def app_env(
    *,
    database_url: str,
    base_url: str,
    workdir: Path,
    thread_limit: int,
    standin_port: int | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in BOOKING_ENV_NAMES}
    env.update(
        ENVIRONMENT="development",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        BASE_URL=base_url,
        STRIPE_SECRET_KEY="",
        STRIPE_WEBHOOK_SECRET="",
        RUN_JOBS="false",
        MEDIA_DIR=str(workdir / "media"),
        THREAD_LIMIT=str(thread_limit),
        PYTHONUNBUFFERED="1",
    )
    if standin_port is not None:
        env["STRIPE_STANDIN_PORT"] = str(standin_port)
    env.update(extra or {})
    return env


def default_thread_limit() -> int:
    from booking.settings import Settings

    return Settings().thread_limit


# -- databases --------------------------------------------------------------------------------
@contextlib.contextmanager
def bench_database(server_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database URL: SQLite in `workdir`, or a new bench_<random> database on the
    PostgreSQL server of `server_url`, dropped on exit."""
    if not server_url:
        yield f"sqlite:///{workdir}/booking.db"
        return
    if not server_url.startswith("postgresql"):
        raise SystemExit("--database-url must be a postgresql+psycopg:// URL")
    from sqlalchemy.engine import make_url

    from booking.db import null_pool_engine

    base = make_url(server_url)
    if base.host not in (None, "localhost") and not ipaddress.ip_address(base.host).is_loopback:
        raise SystemExit("--database-url must point at a server on this machine (127.0.0.1)")
    name = f"bench_{secrets.token_hex(4)}"
    admin = null_pool_engine(server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to the database of `url`
    (empty for SQLite, which runs inside the app's processes)."""
    if url.startswith("sqlite"):
        return {}
    from sqlalchemy.engine import make_url

    marker = f" {make_url(url).database} ".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            cmdline = _cmdline(int(entry.name))
            if cmdline.startswith(b"postgres:") and marker in cmdline:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def describe_database(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


# -- a small HTTP/1.1 client ------------------------------------------------------------------
@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        for k, v in self.headers:
            if k == key:
                return v.decode("latin-1")
        return None

    def cookies(self) -> dict[str, str]:
        found = {}
        for k, v in self.headers:
            if k == b"set-cookie":
                pair = v.decode("latin-1").split(";", 1)[0]
                name, _, value = pair.partition("=")
                found[name.strip()] = value.strip()
        return found


class HTTPConnection:
    """One keep-alive HTTP/1.1 connection, just enough for loopback load: no TLS, no
    pipelining; Content-Length and chunked bodies."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        require_loopback(host)
        self.host = host
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def _connect(self) -> None:
        async with asyncio.timeout(self.timeout):
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1

    def build(
        self, method: str, path: str, headers: dict[str, str] | None, body: bytes | None
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines.append("User-Agent: booking-bench")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (body or b"")

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        return await self.send(self.build(method, path, headers, body), head=method == "HEAD")

    async def send(self, raw: bytes, *, head: bool = False) -> Response:
        """Send a prepared request and read its response (reconnecting if needed)."""
        if self.writer is None or self.writer.is_closing():
            await self._connect()
        assert self.reader is not None and self.writer is not None
        try:
            async with asyncio.timeout(self.timeout):
                self.writer.write(raw)
                response, keep = await _read_response(self.reader, head=head)
        except BaseException:
            await self.close()
            raise
        if not keep:
            await self.close()
        return response

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader, *, head: bool) -> tuple[Response, bool]:
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
    status = int(parts[1])
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    keep = parts[0] == b"HTTP/1.1"
    for line in lines[1:]:
        key, _, value = line.partition(b":")
        key = key.strip().lower()
        value = value.strip()
        headers.append((key, value))
        if key == b"content-length":
            length = int(value)
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif key == b"connection":
            keep = value.lower() == b"keep-alive" or (keep and value.lower() != b"close")
    if head or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif chunked:
        pieces = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                break
            pieces.append(await reader.readexactly(size + 2))
        body = b"".join(p[:-2] for p in pieces)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body = await reader.read()
        keep = False
    return Response(status, headers, body), keep


CSRF_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (it is, with uvicorn[standard])."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


# -- statistics -------------------------------------------------------------------------------
def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (nan when empty)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out)


def run_main(name: str, run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> None:
    """Run a benchmark and exit: 0 when every check and target held, 1 when one did not,
    2 when a server failed, 130 when interrupted (servers are stopped in every case)."""
    raise_on_signals()
    try:
        code = run(args)
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted; servers stopped", file=sys.stderr)
        code = 130
    sys.exit(code)
