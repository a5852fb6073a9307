"""A closed-loop HTTP/1.1 load generator for loopback servers, run as its own process.

N keep-alive connections each send GET PATH, wait for the whole response, and send the
next, from launch until --end-at (a Unix time). Only responses that complete between
--start-at and --end-at are counted, so the time before --start-at is a warm-up and several
generator processes given the same window add up. Prints one JSON object on stdout:
requests, status counts, errors, latencies (microseconds), response bytes and its own CPU
seconds.

    python bench/loadgen.py --port 8000 --path / --connections 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from common import HOST, HTTPConnection, require_loopback, run_async


@dataclass
class Tally:
    latencies_us: list[int] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    body_bytes: int = 0
    connections: int = 0


async def connection_loop(
    host: str,
    port: int,
    raw: bytes,
    *,
    start: float,
    end: float,
    timeout: float,
    keep_cookies: bool,
    path: str,
    headers: dict[str, str],
    tally: Tally,
) -> None:
    loop = asyncio.get_running_loop()
    conn = HTTPConnection(host, port, timeout=timeout)
    cookie_sent = False
    try:
        while loop.time() < end:
            t0 = loop.time()
            try:
                response = await conn.send(raw)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                t1 = loop.time()
                if start <= t1 <= end:
                    tally.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.01)
                continue
            t1 = loop.time()
            if keep_cookies and not cookie_sent:
                jar = response.cookies()
                if jar:
                    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
                    raw = conn.build("GET", path, {**headers, "Cookie": cookie}, None)
                    cookie_sent = True
            if start <= t1 <= end:
                tally.latencies_us.append(int((t1 - t0) * 1e6))
                tally.statuses[response.status] += 1
                tally.body_bytes += len(response.body)
    finally:
        tally.connections += conn.opened
        await conn.close()


async def generate(args: argparse.Namespace) -> Tally:
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.time()  # Unix time -> loop time
    start, end = args.start_at + offset, args.end_at + offset
    tally = Tally()
    probe = HTTPConnection(args.host, args.port, timeout=args.timeout)
    headers = {"Accept": "text/html"}
    if args.accept_encoding:
        headers["Accept-Encoding"] = args.accept_encoding
    raw = probe.build("GET", args.path, headers, None)
    tasks = [
        asyncio.create_task(
            connection_loop(
                args.host,
                args.port,
                raw,
                start=start,
                end=end,
                timeout=args.timeout,
                keep_cookies=args.cookies,
                path=args.path,
                headers=headers,
                tally=tally,
            )
        )
        for _ in range(args.connections)
    ]
    # Requests still in flight at the end do not count; give them a moment, then stop.
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, end - loop.time()) + args.timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            tally.errors[type(task.exception()).__name__] += 1
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--start-at", type=float, help="Unix time to start measuring")
    parser.add_argument("--end-at", type=float, help="Unix time to stop")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--cookies", action="store_true", help="send back each connection's first cookies"
    )
    parser.add_argument(
        "--accept-encoding", default="", help="the Accept-Encoding header to send (none if empty)"
    )
    args = parser.parse_args()
    require_loopback(args.host)
    if args.start_at is None:
        args.start_at = time.time() + args.warmup
    if args.end_at is None:
        args.end_at = args.start_at + args.duration
    if not 0 < args.end_at - time.time() < 3600:
        parser.error("the run must end within an hour")
    tally = run_async(generate(args))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump(
        {
            "window": args.end_at - args.start_at,
            "requests": len(tally.latencies_us),
            "statuses": {str(k): v for k, v in tally.statuses.items()},
            "errors": dict(tally.errors),
            "latencies_us": tally.latencies_us,
            "body_bytes": tally.body_bytes,
            "connections_opened": tally.connections,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
