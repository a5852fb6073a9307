"""An on-sale rush: many buyers at once for one event with a fixed number of seats.

Starts the Stripe stand-in and booking (two worker processes by default) on 127.0.0.1 with
a temporary database holding one event with a 300-seat room. Then N buyers, C at a time,
each open a connection, GET the event page (no cookie: the form carries its token), POST
the checkout form for one ticket and follow the redirect to the payment page. Prints
checkouts per second, latency of the checkout POST, how many seats were held (read back
from the database; must equal the capacity), sold-out answers and any other errors (must
be none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from common import (
    HOST,
    PYTHON,
    BenchError,
    HTTPConnection,
    Processes,
    Response,
    app_env,
    bench_database,
    busy_seconds,
    cpu_seconds,
    cpu_used,
    database_cpu,
    default_thread_limit,
    describe_database,
    free_port,
    percentile,
    run_async,
    run_main,
    start_server,
    table,
    wait_http,
)

RUSH_SLUG = "on-sale-rush"
# The checkout form's token (a sold-out page has only the waiting list's form).
CHECKOUT_FORM_RE = re.compile(
    rb'action="[^"]*/checkout"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)
WARMUP_SLUG = "warm-up"


@dataclass(frozen=True)
class Setup:
    event_id: int
    ticket_type_id: int
    warmup_ticket_type_id: int


@dataclass
class Tally:
    started: float = 0.0
    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    hold_ms: list[float] = field(default_factory=list)
    sold_out_ms: list[float] = field(default_factory=list)
    hold_times: list[float] = field(default_factory=list)  # seconds since start, per hold
    sold_out: int = 0
    page_sold_out: int = 0  # the GET already showed "Sold out" (no form)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    finished: int = 0
    last_token: str = ""  # the form token of the newest page that had a form

    def error(self, kind: str, example: str = "") -> None:
        self.errors[kind] += 1
        self.examples.setdefault(kind, example[:300])


def create_events(database_url: str, capacity: int) -> Setup:
    """Migrate, then write the rush event (a `capacity`-seat room, one ticket type) and a
    roomy warm-up event with booking's models."""
    from datetime import timedelta

    from booking.db import Database
    from booking.models import Event, EventStatus, TicketType, Venue, utcnow

    db = Database(database_url)
    try:
        db.migrate()
        now = utcnow()
        with db.write() as session:
            venue = Venue(name="Conway Hall", address="25 Red Lion Square", postcode="WC1R 4RL")
            session.add(venue)
            session.flush()
            ids = []
            for slug, room in ((RUSH_SLUG, capacity), (WARMUP_SLUG, 1_000_000)):
                starts = now + timedelta(days=30)
                event = Event(
                    slug=slug,
                    title=f"London after Brexit ({slug})",
                    strapline="Two speakers debate London's future",
                    description="A chaired debate, then **questions from the floor**.",
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=90),
                    venue_id=venue.id,
                    status=EventStatus.PUBLISHED,
                    capacity=room,
                    created_at=now,
                )
                session.add(event)
                session.flush()
                tt = TicketType(
                    event_id=event.id, name="Standard", price=1000, max_per_order=6, position=0
                )
                session.add(tt)
                session.flush()
                ids.append((event.id, tt.id))
        (event_id, tt_id), (_, warm_tt_id) = ids
        assert event_id is not None and tt_id is not None and warm_tt_id is not None
        return Setup(event_id, tt_id, warm_tt_id)
    finally:
        db.dispose()


def seats_taken(database_url: str, event_id: int) -> dict[str, int]:
    from sqlalchemy import text

    from booking.db import Database

    db = Database(database_url)
    try:
        with db.engine.connect() as conn:

            def one(sql: str) -> int:
                return int(conn.execute(text(sql), {"id": event_id}).scalar_one())

            return {
                "seats": one(
                    "SELECT count(*) FROM ticket WHERE event_id = :id "
                    "AND status IN ('held', 'valid')"
                ),
                "orders": one("SELECT count(*) FROM orders WHERE event_id = :id"),
                "with_session": one(
                    "SELECT count(*) FROM orders WHERE event_id = :id "
                    "AND stripe_session_id IS NOT NULL"
                ),
            }
    finally:
        db.dispose()


async def buy(
    i: int,
    *,
    port: int,
    slug: str,
    ticket_type_id: int,
    standin_url: str,
    timeout: float,
    tally: Tally,
) -> None:
    """One buyer, as a browser: GET the event page (no cookie), POST the checkout for one
    ticket with the form's token, then follow the redirect to the payment page."""
    loop = asyncio.get_running_loop()
    conn = HTTPConnection(HOST, port, timeout=timeout)
    origin = f"http://{HOST}:{port}"
    stage = "GET"
    try:
        t0 = loop.time()
        page = await conn.request("GET", f"/events/{slug}", {"Accept": "text/html"})
        tally.get_ms.append(1000 * (loop.time() - t0))
        if page.status != 200:
            tally.error(f"GET answered {page.status}", page.body.decode(errors="replace"))
            return
        if page.cookies():
            tally.error("GET set a cookie", ", ".join(page.cookies()))
            return
        match = CHECKOUT_FORM_RE.search(page.body)
        if match:
            token = match.group(1).decode()
            tally.last_token = token
        else:
            # The page already says "Sold out": post as a reader whose page was opened a
            # moment earlier would, with the form token an earlier page carried.
            tally.page_sold_out += 1
            token = tally.last_token
        if not token:
            tally.error("no form token on the page, and none seen before")
            return
        form = {
            "csrf_token": token,
            "name": f"Buyer {i}",
            "email": f"buyer{i}@example.com",
            f"qty-{ticket_type_id}": "1",
        }
        headers = {
            "Accept": "text/html",
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Sec-Fetch-Site": "same-origin",
        }
        stage = "POST"
        t1 = loop.time()
        answer = await conn.request(
            "POST", f"/events/{slug}/checkout", headers, urlencode(form).encode()
        )
        t2 = loop.time()
        if classify(answer, 1000 * (t2 - t1), t2 - tally.started, standin_url, tally):
            stage = "redirect"
            await follow(answer.header("location") or "", timeout, tally)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
        tally.error(f"{stage} {type(exc).__name__}", str(exc))
    finally:
        tally.finished += 1
        await conn.close()


async def follow(location: str, timeout: float, tally: Tally) -> None:
    """GET the payment page the checkout redirected to (the Stripe stand-in, a separate
    process standing for a remote service)."""
    url = urlsplit(location)
    conn = HTTPConnection(url.hostname or HOST, url.port or 80, timeout=timeout)
    try:
        target = url.path + (f"?{url.query}" if url.query else "")
        answer = await conn.request("GET", target, {"Accept": "text/html"})
        if answer.status != 200:
            tally.error(f"payment page answered {answer.status}", location)
    finally:
        await conn.close()


def classify(answer: Response, ms: float, at: float, standin_url: str, tally: Tally) -> bool:
    """Count the checkout's answer; True for a hold (a redirect to the payment page)."""
    tally.post_ms.append(ms)
    location = answer.header("location") or ""
    if answer.status == 303 and location.startswith(standin_url + "/"):
        tally.hold_ms.append(ms)
        tally.hold_times.append(at)
        return True
    if answer.status == 409:
        tally.sold_out += 1
        tally.sold_out_ms.append(ms)
    elif answer.status == 303:
        tally.error("POST redirected elsewhere", location)
    else:
        tally.error(f"POST answered {answer.status}", answer.body.decode(errors="replace"))
    return False


async def crowd(
    buyers: int,
    concurrency: int,
    *,
    deadline: float,
    port: int,
    slug: str,
    ticket_type_id: int,
    standin_url: str,
    timeout: float,
) -> Tally:
    """`buyers` buyers, `concurrency` at a time, stopped at `deadline` seconds."""
    loop = asyncio.get_running_loop()
    tally = Tally(started=loop.time())
    numbers = iter(range(buyers))

    async def worker() -> None:
        for i in numbers:
            await buy(
                i,
                port=port,
                slug=slug,
                ticket_type_id=ticket_type_id,
                standin_url=standin_url,
                timeout=timeout,
                tally=tally,
            )

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, buyers))]
    try:
        async with asyncio.timeout(deadline):
            await asyncio.gather(*workers)
    except TimeoutError:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        unfinished = buyers - tally.finished
        tally.errors["unfinished at the time limit"] += unfinished
    return tally


def ms(values: list[float], pct: float) -> str:
    return f"{percentile(sorted(values), pct):.0f}" if values else "-"


def report(
    tally: Tally,
    wall: float,
    db: dict[str, int],
    cpu: dict[str, float],
    args: argparse.Namespace,
    database: str,
) -> bool:
    holds = len(tally.hold_ms)
    posts = len(tally.post_ms)
    sellout = max(tally.hold_times) if tally.hold_times else float("nan")
    errors = sum(tally.errors.values())
    print()
    print(
        f"{database}, {args.workers} workers ({args.server_mode}), {args.buyers} buyers, "
        f"concurrency {args.concurrency}, capacity {args.capacity}, "
        f"thread limit {args.thread_limit}"
    )
    print(f"wall time                 {wall:.2f} s ({args.buyers / wall:,.0f} buyers/s)")
    print(f"checkout POSTs            {posts} ({posts / wall:,.0f}/s over the whole rush)")
    print(
        f"seats held (303)          {holds} in {sellout:.2f} s "
        f"({holds / sellout if holds else 0:,.0f} checkouts/s until sold out)"
    )
    print(
        f"sold out (409)            {tally.sold_out} (page already said sold out: "
        f"{tally.page_sold_out})"
    )
    print(f"other errors              {errors}")
    for kind, count in tally.errors.most_common():
        example = tally.examples.get(kind, "").replace("\n", " ")[:160]
        print(f"  {count} x {kind}{': ' + example if example else ''}")
    rows = [
        ["checkout POST, all", len(tally.post_ms), ms(tally.post_ms, 50), ms(tally.post_ms, 99)],
        ["checkout POST, held", holds, ms(tally.hold_ms, 50), ms(tally.hold_ms, 99)],
        [
            "checkout POST, sold out",
            len(tally.sold_out_ms),
            ms(tally.sold_out_ms, 50),
            ms(tally.sold_out_ms, 99),
        ],
        ["event page GET", len(tally.get_ms), ms(tally.get_ms, 50), ms(tally.get_ms, 99)],
    ]
    print()
    print(table(rows, ["latency", "count", "p50 ms", "p99 ms"]))
    print()
    print(
        f"database: {db['seats']} seats taken, {db['orders']} orders, "
        f"{db['with_session']} with a Checkout Session"
    )
    print(
        f"CPU seconds during the rush ({wall:.1f} s on {os.cpu_count()} cores): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    )
    if cpu.get("other processes", 0.0) > 0.2 * wall:
        print("note: other processes on this machine used CPU during the rush")
    checks = {
        f"seats taken = capacity ({args.capacity})": db["seats"] == args.capacity,
        "one order per 303 answer, each with a Checkout Session": db["orders"] == holds
        and db["with_session"] == holds,
        "every buyer answered 303 or 409, no other errors": errors == 0
        and holds + tally.sold_out == args.buyers,
    }
    post_p99 = percentile(sorted(tally.post_ms), 99) if tally.post_ms else float("inf")
    rate = holds / sellout if holds else 0.0
    targets = {
        f"checkouts/s until sold out >= 200 ({rate:,.0f})": rate >= 200,
        f"checkout POST p99 < 250 ms ({post_p99:.0f} ms)": post_p99 < 250,
    }
    print()
    for name, ok in checks.items():
        print(f"check:  {name}: {'ok' if ok else 'FAILED'}")
    for name, ok in targets.items():
        print(f"target: {name}: {'met' if ok else 'MISSED'}")
    return all(checks.values()) and all(targets.values())


async def warm_up(args: argparse.Namespace, port: int, setup: Setup, standin_url: str) -> None:
    tally = await crowd(
        args.warmup_buyers,
        min(16, args.concurrency),
        deadline=60,
        port=port,
        slug=WARMUP_SLUG,
        ticket_type_id=setup.warmup_ticket_type_id,
        standin_url=standin_url,
        timeout=args.request_timeout,
    )
    if tally.errors:
        kind, _ = tally.errors.most_common(1)[0]
        raise BenchError(f"warm-up checkouts failed: {kind}: {tally.examples.get(kind, '')}")
    conn = HTTPConnection(HOST, port, timeout=args.request_timeout)
    try:
        for _ in range(20):
            await conn.request("GET", f"/events/{RUSH_SLUG}", {"Accept": "text/html"})
    finally:
        await conn.close()


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="booking-rush-"))
    procs = Processes(workdir)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = stack.enter_context(bench_database(args.database_url, workdir))
        stack.callback(procs.stop_all)
        database = describe_database(database_url)
        print(f"database: {database}; creating an event with a {args.capacity}-seat room")
        setup = create_events(database_url, args.capacity)

        standin_port, app_port = free_port(), free_port()
        standin_url = f"http://{HOST}:{standin_port}"
        print(f"starting the Stripe stand-in on {HOST}:{standin_port}")
        standin = procs.start(
            "standin",
            [PYTHON, "-m", "booking.stripe_standin", "--host", HOST, "--port", str(standin_port)],
            cwd=workdir,
        )
        try:
            wait_http(standin_port, "/", deadline=time.monotonic() + 30)
        except BenchError as exc:
            raise BenchError(f"{exc}\n{standin.tail()}") from None

        env = app_env(
            database_url=database_url,
            base_url=f"http://{HOST}:{app_port}",
            workdir=workdir,
            thread_limit=args.thread_limit,
            standin_port=standin_port,
        )
        print(f"starting booking on {HOST}:{app_port} ({args.workers} workers)")
        app = start_server(
            procs,
            name="booking",
            app="booking",
            port=app_port,
            env=env,
            cwd=workdir,
            mode=args.server_mode,
            workers=args.workers,
            ready_path=f"/events/{RUSH_SLUG}",
        )
        print(f"warming up: {args.warmup_buyers} checkouts on another event")
        run_async(warm_up(args, app_port, setup, standin_url))

        print(f"rush: {args.buyers} buyers, {args.concurrency} at a time", flush=True)
        app_before, standin_before, self_before = app.cpu(), cpu_seconds(standin.pid), cpu_self()
        busy_before = busy_seconds()
        db_before = database_cpu(database_url)
        t0 = time.monotonic()
        tally = run_async(
            crowd(
                args.buyers,
                args.concurrency,
                deadline=args.time_limit,
                port=app_port,
                slug=RUSH_SLUG,
                ticket_type_id=setup.ticket_type_id,
                standin_url=standin_url,
                timeout=args.request_timeout,
            )
        )
        wall = time.monotonic() - t0
        app_after = app.cpu()
        cpu = {
            f"booking worker {n + 1}": app_after[pid] - app_before.get(pid, 0.0)
            for n, pid in enumerate(sorted(app_after))
        }
        cpu["stand-in"] = cpu_seconds(standin.pid) - standin_before
        cpu["buyers (this process)"] = cpu_self() - self_before
        if db_before:
            cpu["PostgreSQL"] = cpu_used(db_before, database_cpu(database_url))
        cpu["other processes"] = max(0.0, busy_seconds() - busy_before - sum(cpu.values()))
        procs.stop_all()  # let the workers close their connections before reading back
        db = seats_taken(database_url, setup.event_id)
        passed = report(tally, wall, db, cpu, args, database)
    return 0 if passed else 1


def cpu_self() -> float:
    return cpu_seconds(os.getpid())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test: "
        "a bench_<random> database is created on it and dropped after (default: SQLite "
        "in a temporary folder)",
    )
    parser.add_argument("-n", "--buyers", type=int, default=1000)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--capacity", type=int, default=300, help="seats in the room")
    parser.add_argument("--workers", type=int, default=2, help="booking worker processes")
    parser.add_argument(
        "--server-mode",
        choices=["reuseport", "workers"],
        default="reuseport",
        help="reuseport: one process per worker on a SO_REUSEPORT socket (default); "
        "workers: stock `uvicorn --workers N`",
    )
    parser.add_argument(
        "--thread-limit",
        type=int,
        default=default_thread_limit(),
        help="THREAD_LIMIT for booking (default: booking's default)",
    )
    parser.add_argument(
        "--warmup-buyers", type=int, default=40, help="checkouts on a warm-up event first"
    )
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="stop the rush after this many seconds"
    )
    args = parser.parse_args()
    if args.buyers < 1 or args.concurrency < 1 or args.capacity < 1:
        parser.error("--buyers, --concurrency and --capacity must be positive")
    if args.buyers > 100_000 or args.time_limit > 900:
        parser.error("at most 100000 buyers and 900 seconds")
    run_main("rush", run, args)


if __name__ == "__main__":
    main()
