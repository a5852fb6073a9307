"""Event page throughput: booking's event page, API document, embed and `/`, warm and
cold, against a bare Starlette page.

Starts booking twice (two worker processes each by default) on a temporary database loaded
with the demo data: once as it runs (warm: each process keeps its rendered public pages)
and once keeping none (cold: every request read and rendered, see cold_app.py), and a bare
Starlette app serving a page of the same size from the same rows (see bare_app.py), all on
127.0.0.1. Then, one target after another, interleaved, runs the load generator
(loadgen.py, separate processes) with N keep-alive connections for T seconds after a
warm-up, and prints requests/s, p50 and p99 latency, the servers' CPU per request and how
it was spread over the workers, the bytes of each answer compressed and not, and
booking/bare ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    HOST,
    PYTHON,
    BenchError,
    HTTPConnection,
    Processes,
    Server,
    app_env,
    bench_database,
    busy_seconds,
    cpu_seconds,
    cpu_used,
    database_cpu,
    default_thread_limit,
    describe_database,
    free_port,
    median,
    percentile,
    run_async,
    run_main,
    start_server,
    table,
)

EVENT_SLUG = "london-and-brexit"
TARGETS = (
    "event",
    "event-cold",
    "api",
    "api-cold",
    "embed",
    "embed-cold",
    "home",
    "home-cold",
    "bare",
)
DEFAULT_TARGETS = [t for t in TARGETS if not t.startswith("home")]
BROWSER_ENCODINGS = "gzip, deflate, br"
WARM_TARGET = 2.0  # warm event page, times the bare page's requests/s
COLD_TARGET = 0.5
WIRE_TARGET = 5 * 1024  # bytes of the event page, compressed


@dataclass
class Result:
    target: str
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_200: int
    page_bytes: int
    server_cpu_ms: float  # per request, all workers
    db_cpu_ms: float  # per request, PostgreSQL backends (0 on SQLite)
    worker_share: list[float]  # fraction of server CPU per worker
    generator_cpu: float  # generator CPU seconds per second of the window (1.0 = one core)
    other_cpu: float  # CPU used by everything else on the machine, in cores
    connections_opened: int
    sizes: dict[str, int]  # bytes of one answer by Accept-Encoding: br, gzip, identity


def load_demo(database_url: str) -> None:
    from booking import demo
    from booking.db import Database
    from booking.models import utcnow
    from booking.settings import Settings

    db = Database(database_url)
    try:
        db.migrate()
        with db.write_session() as session:
            demo.load(session, settings=Settings(database_url=database_url), now=utcnow())
    finally:
        db.dispose()


def fetch(port: int, path: str, encoding: str = "") -> tuple[int, int]:
    async def get() -> tuple[int, int]:
        conn = HTTPConnection(HOST, port, timeout=10)
        headers = {"Accept": "text/html"}
        if encoding:
            headers["Accept-Encoding"] = encoding
        try:
            response = await conn.request("GET", path, headers)
            return response.status, len(response.body)
        finally:
            await conn.close()

    return run_async(get())


def sizes(port: int, path: str) -> dict[str, int]:
    """The bytes on the wire of one answer, per Accept-Encoding."""
    return {coding: fetch(port, path, coding)[1] for coding in ("br", "gzip", "identity")}


def measure(
    procs: Processes,
    server: Server,
    target: str,
    path: str,
    args: argparse.Namespace,
    database_url: str,
) -> Result:
    """Run the generators against one path and collect what they and the servers did."""
    start_at = time.time() + args.warmup + 0.5
    end_at = start_at + args.duration
    shares = [args.connections // args.generators] * args.generators
    shares[0] += args.connections - sum(shares)
    generators = []
    for i, connections in enumerate(shares):
        cmd = [PYTHON, str(BENCH_DIR / "loadgen.py"), "--port", str(server.port)]
        cmd += ["--path", path, "--connections", str(connections)]
        cmd += ["--start-at", repr(start_at), "--end-at", repr(end_at)]
        cmd += ["--timeout", str(args.request_timeout)]
        cmd += ["--accept-encoding", args.accept_encoding]
        if args.cookies:
            cmd.append("--cookies")
        generators.append(
            procs.start(f"loadgen-{target}-{i}", cmd, cwd=BENCH_DIR, stdout=subprocess.PIPE)
        )
    try:
        time.sleep(max(0.0, start_at - time.time()))
        server_before = server.cpu()
        gen_before = sum(cpu_seconds(g.pid) for g in generators)
        busy_before = busy_seconds()
        db_before = database_cpu(database_url)
        time.sleep(max(0.0, end_at - time.time()))
        db_used = cpu_used(db_before, database_cpu(database_url))
        server_after = server.cpu()
        gen_after = sum(cpu_seconds(g.pid) for g in generators)
        busy_after = busy_seconds()
        reports: list[dict[str, Any]] = []
        for gen in generators:
            out, _ = gen.proc.communicate(timeout=args.request_timeout + 30)
            if gen.proc.returncode != 0:
                raise BenchError(f"{gen.name} failed:\n{gen.tail()}")
            reports.append(json.loads(out))
    finally:
        for gen in generators:
            procs.stop(gen)
    latencies = sorted(x for r in reports for x in r["latencies_us"])
    requests = len(latencies)
    ok = sum(r["statuses"].get("200", 0) for r in reports)
    body = sum(r["body_bytes"] for r in reports)
    used = {pid: server_after.get(pid, 0.0) - server_before.get(pid, 0.0) for pid in server_after}
    total_cpu = sum(used.values())
    return Result(
        target=target,
        path=path,
        rps=requests / args.duration,
        p50_ms=percentile(latencies, 50) / 1000,
        p99_ms=percentile(latencies, 99) / 1000,
        errors=sum(sum(r["errors"].values()) for r in reports),
        non_200=requests - ok,
        page_bytes=body // requests if requests else 0,
        server_cpu_ms=1000 * total_cpu / requests if requests else float("nan"),
        db_cpu_ms=1000 * db_used / requests if requests else float("nan"),
        worker_share=[used[p] / total_cpu if total_cpu else 0.0 for p in sorted(used)],
        generator_cpu=(gen_after - gen_before) / args.duration,
        other_cpu=max(
            0.0, busy_after - busy_before - total_cpu - db_used - (gen_after - gen_before)
        )
        / args.duration,
        connections_opened=sum(r["connections_opened"] for r in reports),
        sizes=sizes(server.port, path),
    )


def summarise(results: list[Result]) -> Result:
    """The median of each figure over rounds."""
    first = results[0]
    return Result(
        target=first.target,
        path=first.path,
        rps=median([r.rps for r in results]),
        p50_ms=median([r.p50_ms for r in results]),
        p99_ms=median([r.p99_ms for r in results]),
        errors=sum(r.errors for r in results),
        non_200=sum(r.non_200 for r in results),
        page_bytes=first.page_bytes,
        server_cpu_ms=median([r.server_cpu_ms for r in results]),
        db_cpu_ms=median([r.db_cpu_ms for r in results]),
        worker_share=[
            median(list(s)) for s in zip(*(r.worker_share for r in results), strict=False)
        ],
        generator_cpu=median([r.generator_cpu for r in results]),
        other_cpu=median([r.other_cpu for r in results]),
        connections_opened=sum(r.connections_opened for r in results),
        sizes=first.sizes,
    )


def report(results: dict[str, Result], args: argparse.Namespace, database: str) -> bool:
    rows = [
        [
            f"{r.target} {r.path}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            r.errors + r.non_200,
            f"{r.page_bytes:,}",
            f"{r.sizes['br']:,}/{r.sizes['gzip']:,}/{r.sizes['identity']:,}",
            f"{r.server_cpu_ms:.2f}",
            f"{r.db_cpu_ms:.2f}" if database != "SQLite" else "-",
            "/".join(f"{100 * s:.0f}" for s in r.worker_share),
            f"{100 * r.generator_cpu:.0f}%",
            f"{100 * r.other_cpu:.0f}%",
        ]
        for r in results.values()
    ]
    print()
    print(
        f"{database}, {args.workers} workers ({args.server_mode}), "
        f"{args.connections} connections, {args.duration:g} s after {args.warmup:g} s warm-up, "
        f"{args.generators} generator process(es), thread limit {args.thread_limit}, "
        f"{args.rounds} round(s){' (medians)' if args.rounds > 1 else ''}"
    )
    header = ["target", "req/s", "p50 ms", "p99 ms", "errors", "bytes", "br/gzip/plain"]
    header += ["server CPU ms/req", "db CPU ms/req", "CPU % per worker", "generator CPU"]
    header += ["other CPU"]
    print(table(rows, header))
    passed = True
    bare = results.get("bare")
    if bare and bare.rps:
        print()
        for name, r in results.items():
            if name != "bare":
                print(
                    f"ratio booking/bare ({name} {r.path}): {r.rps / bare.rps:.2f} in "
                    f"requests/s, {bare.server_cpu_ms / r.server_cpu_ms:.2f} in server CPU "
                    "per request"
                )
        for name, floor in (("event", WARM_TARGET), ("event-cold", COLD_TARGET)):
            if name in results:
                ratio = results[name].rps / bare.rps
                verdict = "met" if ratio >= floor else "MISSED"
                print(
                    f"target: {name} page >= {floor:g} x bare page throughput: "
                    f"{verdict} ({ratio:.2f})"
                )
                passed = passed and ratio >= floor
    event = results.get("event") or results.get("event-cold")
    if event:
        wire = min(event.sizes["br"], event.sizes["gzip"])
        verdict = "met" if wire < WIRE_TARGET else "MISSED"
        print(
            f"target: event page on the wire < {WIRE_TARGET:,} bytes compressed: "
            f"{verdict} ({wire:,})"
        )
        passed = passed and wire < WIRE_TARGET
    if any(r.errors or r.non_200 for r in results.values()):
        print("some requests failed or did not answer 200 (see the errors column)")
        passed = False
    if any(r.other_cpu > 0.2 for r in results.values()):
        print(
            "note: other processes on this machine used CPU during the run (other CPU column, "
            "100% = one core); absolute figures are low, compare the ratios"
        )
    busy = [r for r in results.values() if r.generator_cpu > 0.85]
    if busy:
        print(
            "note: a generator process was near a full core; "
            "try --generators 2 to check that the client is not the limit"
        )
    return passed


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="booking-bench-"))
    procs = Processes(workdir)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = stack.enter_context(bench_database(args.database_url, workdir))
        stack.callback(procs.stop_all)
        print(f"database: {describe_database(database_url)}; loading the demo data")
        load_demo(database_url)
        booking_port, bare_port = free_port(), free_port()
        booking_env = app_env(
            database_url=database_url,
            base_url=f"http://{HOST}:{booking_port}",
            workdir=workdir,
            thread_limit=args.thread_limit,
        )
        print(f"starting booking on {HOST}:{booking_port} ({args.workers} workers)")
        booking = start_server(
            procs,
            name="booking",
            app="booking",
            port=booking_port,
            env=booking_env,
            cwd=workdir,
            mode=args.server_mode,
            workers=args.workers,
        )
        cold_port = free_port()
        cold_env = app_env(
            database_url=database_url,
            base_url=f"http://{HOST}:{cold_port}",
            workdir=workdir,
            thread_limit=args.thread_limit,
        )
        print(f"starting booking without its page cache on {HOST}:{cold_port}")
        cold = start_server(
            procs,
            name="booking-cold",
            app="booking-cold",
            port=cold_port,
            env=cold_env,
            cwd=workdir,
            mode=args.server_mode,
            workers=args.workers,
        )
        status, size = fetch(booking_port, f"/events/{EVENT_SLUG}")
        if status != 200:
            raise BenchError(f"booking's event page answered {status}")
        bare_env = app_env(
            database_url=database_url,
            base_url=f"http://{HOST}:{bare_port}",
            workdir=workdir,
            thread_limit=args.thread_limit,
            extra={"BENCH_EVENT_SLUG": EVENT_SLUG, "BENCH_PAGE_BYTES": str(size)},
        )
        print(f"starting the bare app on {HOST}:{bare_port} ({args.workers} workers)")
        bare = start_server(
            procs,
            name="bare",
            app="bare",
            port=bare_port,
            env=bare_env,
            cwd=workdir,
            mode=args.server_mode,
            workers=args.workers,
            ready_path="/bare",
        )
        paths = {
            "home": "/",
            "event": f"/events/{EVENT_SLUG}",
            "api": f"/api/events/{EVENT_SLUG}",
            "embed": f"/events/{EVENT_SLUG}/embed",
        }
        plan = {"bare": (bare, "/bare")}
        for name, path in paths.items():
            plan[name] = (booking, path)
            plan[f"{name}-cold"] = (cold, path)
        rounds: dict[str, list[Result]] = {t: [] for t in args.targets}
        for n in range(args.rounds):
            for target in args.targets:
                server, path = plan[target]
                print(f"round {n + 1}/{args.rounds}: {target} {path} ...", flush=True)
                result = measure(procs, server, target, path, args, database_url)
                print(
                    f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                    f"p99 {result.p99_ms:.1f} ms",
                    flush=True,
                )
                rounds[target].append(result)
        passed = report(
            {t: summarise(rs) for t, rs in rounds.items()}, args, describe_database(database_url)
        )
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test: "
        "a bench_<random> database is created on it and dropped after (default: SQLite "
        "in a temporary folder)",
    )
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report medians")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per app")
    parser.add_argument(
        "--server-mode",
        choices=["reuseport", "workers"],
        default="reuseport",
        help="reuseport: one process per worker on a SO_REUSEPORT socket (default); "
        "workers: stock `uvicorn --workers N`",
    )
    parser.add_argument(
        "--generators", type=int, default=1, help="load generator processes (share -c)"
    )
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=DEFAULT_TARGETS)
    parser.add_argument(
        "--accept-encoding",
        default=BROWSER_ENCODINGS,
        help=f"the Accept-Encoding the generators send (default: {BROWSER_ENCODINGS!r}, as "
        "browsers do; '' for none)",
    )
    parser.add_argument(
        "--thread-limit",
        type=int,
        default=default_thread_limit(),
        help="THREAD_LIMIT for both apps (default: booking's default)",
    )
    parser.add_argument(
        "--cookies",
        action="store_true",
        help="each connection sends back the session cookie it was given (a returning "
        "reader); by default every request is a first visit",
    )
    parser.add_argument("--request-timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.connections < args.generators or args.duration <= 0 or args.rounds < 1:
        parser.error("need connections >= generators, a positive duration and rounds >= 1")
    if args.duration > 600:
        parser.error("--duration is capped at 600 seconds")
    run_main("event_page", run, args)


if __name__ == "__main__":
    main()
