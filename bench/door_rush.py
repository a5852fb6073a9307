"""The doors open: a few phones admit every ticket of an event as fast as they can.

Creates, with booking's models, an event with N paid tickets (default 600) and one door
staff account per device, starts booking (two worker processes by default) on 127.0.0.1
with a temporary database, signs each device in and lets the devices (default 3) admit
their share of the tickets one after another, as a phone does (scan, wait for the answer,
next), each also polling the counts every 3 s as the door screen does. Prints admissions
per second, the latency of the admission POST and of the counts poll, and checks that every
ticket was admitted exactly once (read back from the database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from common import (
    CSRF_RE,
    HOST,
    BenchError,
    HTTPConnection,
    Processes,
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
)

SLUG = "doors-open"
WARMUP_SLUG = "door-warm-up"
SESSION_COOKIE = "booking_session"
PASSWORD = "door rush password, long enough"  # noqa: S105 (throwaway accounts)
META_CSRF_RE = re.compile(rb'name="csrf-token" content="([^"]+)"')
POLL_SECONDS = 3.0


@dataclass
class Tally:
    admit_ms: list[float] = field(default_factory=list)
    poll_ms: list[float] = field(default_factory=list)
    results: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def error(self, kind: str, example: str = "") -> None:
        self.errors[kind] += 1
        self.examples.setdefault(kind, example[:300])


def create_event(database_url: str, secret_key: str, tickets: int, devices: int) -> list[str]:
    """Migrate; write the event (two ticket types), its paid tickets (two per order), a small
    warm-up event and one staff account per device. Returns the rush's ticket codes."""
    from datetime import timedelta

    from booking.db import Database
    from booking.domain import accounts
    from booking.domain import tickets as codes
    from booking.models import (
        Event,
        EventStatus,
        Order,
        OrderStatus,
        Role,
        Ticket,
        TicketStatus,
        TicketType,
        utcnow,
    )

    key = codes.derive_key(secret_key, "tickets")
    db = Database(database_url)
    made: list[str] = []
    try:
        db.migrate()
        now = utcnow()
        with db.write() as session:
            for slug, count in ((SLUG, tickets), (WARMUP_SLUG, 10 * devices)):
                starts = now + timedelta(hours=1)
                event = Event(
                    slug=slug,
                    title=f"London after Brexit ({slug})",
                    starts_at=starts,
                    ends_at=starts + timedelta(minutes=90),
                    status=EventStatus.PUBLISHED,
                    created_at=now,
                )
                session.add(event)
                session.flush()
                types = [
                    TicketType(event_id=event.id, name="Standard", price=1000, position=0),
                    TicketType(event_id=event.id, name="Concession", price=500, position=1),
                ]
                session.add_all(types)
                session.flush()
                for first in range(0, count, 2):
                    order = Order(
                        event_id=event.id,
                        reference=codes.new_order_reference(),
                        token=codes.new_token(),
                        status=OrderStatus.PAID,
                        buyer_name=f"Buyer {first // 2}",
                        buyer_email=f"buyer{first // 2}@example.com",
                        expires_at=now,
                        paid_at=now,
                    )
                    session.add(order)
                    session.flush()
                    for n in range(first, min(first + 2, count)):
                        code = codes.new_code(key)
                        kind = types[n % 5 == 4]  # one in five a concession
                        session.add(
                            Ticket(
                                order_id=order.id,
                                event_id=event.id,
                                ticket_type_id=kind.id,
                                code=code,
                                attendee_name=f"Guest {n}",
                                price=kind.price,
                                status=TicketStatus.VALID,
                            )
                        )
                        if slug == SLUG:
                            made.append(code)
                        else:
                            made.insert(0, code)  # warm-up codes first, split off below
        with db.write_session() as session:
            for n in range(devices):
                accounts.create_user(
                    session,
                    email=f"door{n}@example.com",
                    role=Role.STAFF,
                    password=PASSWORD,
                    name=f"Door {n}",
                )
        return made
    finally:
        db.dispose()


def admissions_in_db(database_url: str) -> dict[str, int]:
    from sqlalchemy import text

    from booking.db import Database

    db = Database(database_url)
    try:
        with db.engine.connect() as conn:

            def one(sql: str) -> int:
                return int(conn.execute(text(sql), {"slug": SLUG}).scalar_one())

            where = "event_id = (SELECT id FROM event WHERE slug = :slug) AND undone_at IS NULL"
            return {
                "admissions": one(f"SELECT count(*) FROM checkin WHERE {where}"),  # noqa: S608
                "tickets": one(f"SELECT count(DISTINCT ticket_id) FROM checkin WHERE {where}"),  # noqa: S608
            }
    finally:
        db.dispose()


class Device:
    """One phone: a signed-in session (cookie and CSRF token) and a keep-alive connection."""

    def __init__(self, n: int, port: int, timeout: float) -> None:
        self.n = n
        self.name = f"bench-phone-{n}"
        self.conn = HTTPConnection(HOST, port, timeout=timeout)
        self.poller = HTTPConnection(HOST, port, timeout=timeout)
        self.cookie = ""
        self.csrf = ""

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}", **(extra or {})}

    def _keep_cookie(self, response) -> None:  # type: ignore[no-untyped-def]
        self.cookie = response.cookies().get(SESSION_COOKIE, self.cookie)

    async def sign_in(self, slug: str) -> None:
        page = await self.conn.request("GET", "/sign-in")
        self._keep_cookie(page)
        match = CSRF_RE.search(page.body)
        if page.status != 200 or not match:
            raise BenchError(f"sign-in page answered {page.status}")
        form = urlencode(
            {
                "csrf_token": match.group(1).decode(),
                "email": f"door{self.n}@example.com",
                "password": PASSWORD,
            }
        ).encode()
        signed = await self.conn.request(
            "POST",
            "/sign-in",
            self._headers({"Content-Type": "application/x-www-form-urlencoded"}),
            form,
        )
        self._keep_cookie(signed)
        if signed.status != 303:
            raise BenchError(f"sign-in answered {signed.status}: {signed.body[:200]!r}")
        door = await self.conn.request("GET", f"/door/{slug}", self._headers())
        self._keep_cookie(door)
        meta = META_CSRF_RE.search(door.body)
        if door.status != 200 or not meta:
            raise BenchError(f"the door page answered {door.status}")
        self.csrf = meta.group(1).decode()

    async def admit(self, slug: str, code: str, tally: Tally | None) -> None:
        body = json.dumps({"code": code, "nonce": uuid.uuid4().hex, "device": self.name})
        headers = self._headers({"Content-Type": "application/json", "X-CSRF-Token": self.csrf})
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            response = await self.conn.request(
                "POST", f"/api/events/{slug}/checkins", headers, body.encode()
            )
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if tally is not None:
                tally.error(type(exc).__name__, str(exc))
            return
        if tally is None:
            return
        tally.admit_ms.append(1000 * (loop.time() - t0))
        if response.status != 200:
            tally.error(f"admission answered {response.status}", response.body.decode())
            return
        tally.results[json.loads(response.body)["result"]] += 1

    async def poll(self, slug: str, tally: Tally, done: asyncio.Event) -> None:
        """What the door screen does every 3 s: counts and the changes since the last poll."""
        loop = asyncio.get_running_loop()
        since = ""
        while not done.is_set():
            path = f"/api/events/{slug}/checkins" + (f"?since={quote(since)}" if since else "")
            t0 = loop.time()
            try:
                response = await self.poller.request("GET", path, self._headers())
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.error(f"poll {type(exc).__name__}", str(exc))
            else:
                tally.poll_ms.append(1000 * (loop.time() - t0))
                if response.status == 200:
                    since = json.loads(response.body)["server_time"]
                else:
                    tally.error(f"poll answered {response.status}", response.body.decode())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), POLL_SECONDS)

    async def close(self) -> None:
        await self.conn.close()
        await self.poller.close()


async def rush(args: argparse.Namespace, port: int, codes: list[str], warm: list[str]) -> Tally:
    devices = [Device(n, port, args.request_timeout) for n in range(args.devices)]
    try:
        for device in devices:
            await device.sign_in(SLUG)
        for i, code in enumerate(warm):  # warm-up: another event, not measured
            await devices[i % len(devices)].admit(WARMUP_SLUG, code, None)
        tally = Tally()
        done = asyncio.Event()
        shares = [codes[n :: len(devices)] for n in range(len(devices))]

        async def work(device: Device, share: list[str]) -> None:
            for code in share:
                await device.admit(SLUG, code, tally)

        pollers = [asyncio.create_task(d.poll(SLUG, tally, done)) for d in devices]
        try:
            async with asyncio.timeout(args.time_limit):
                await asyncio.gather(*(work(d, s) for d, s in zip(devices, shares, strict=True)))
        except TimeoutError:
            tally.error(f"stopped at the {args.time_limit:.0f} s time limit")
        done.set()
        await asyncio.gather(*pollers)
        return tally
    finally:
        for device in devices:
            await device.close()


def report(
    tally: Tally,
    wall: float,
    db: dict[str, int],
    cpu: dict[str, float],
    args: argparse.Namespace,
    database: str,
) -> bool:
    admitted = tally.results["admitted"]
    rate = len(tally.admit_ms) / wall if wall else 0.0
    print()
    print(f"database                  {database}, {args.workers} booking workers")
    print(f"wall time                 {wall:.2f} s")
    print(f"admissions                {admitted} of {args.tickets} ({rate:,.0f}/s)")
    print(f"answers                   {dict(tally.results)}")
    print(f"errors                    {sum(tally.errors.values())}")
    for kind, count in tally.errors.most_common():
        print(f"  {count} x {kind}: {tally.examples.get(kind, '')}")
    print()
    rows = []
    for name, values in (("admission POST", tally.admit_ms), ("counts poll GET", tally.poll_ms)):
        ordered = sorted(values)
        rows.append(
            [
                name,
                len(ordered),
                f"{percentile(ordered, 50):.1f}",
                f"{percentile(ordered, 99):.1f}",
                f"{ordered[-1]:.1f}" if ordered else "nan",
            ]
        )
    print(table(rows, ["latency", "count", "p50 ms", "p99 ms", "max ms"]))
    print()
    print(f"database: {db['admissions']} admissions of {db['tickets']} distinct tickets")
    print(
        f"CPU seconds during the rush ({wall:.1f} s on {os.cpu_count()} cores): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    )
    booking_cpu = sum(v for k, v in cpu.items() if k.startswith("booking worker"))
    if tally.admit_ms:
        print(
            f"booking CPU per admission: {1000 * booking_cpu / len(tally.admit_ms):.1f} ms "
            "(both workers, counts polls included)"
        )
    if cpu.get("other processes", 0.0) > 0.2 * wall:
        print("note: other processes on this machine used CPU during the rush")
    p99 = percentile(sorted(tally.admit_ms), 99) if tally.admit_ms else float("inf")
    checks = {
        f"every ticket admitted once ({args.tickets})": db["admissions"] == args.tickets
        and db["tickets"] == args.tickets,
        "every scan answered admitted, no errors": admitted == args.tickets and not tally.errors,
    }
    targets = {
        f"admissions/s >= 200 ({rate:,.0f})": rate >= 200,
        f"admission POST p99 < 50 ms ({p99:.0f} ms)": p99 < 50,
    }
    print()
    for name, ok in checks.items():
        print(f"check:  {name}: {'ok' if ok else 'FAILED'}")
    for name, ok in targets.items():
        print(f"target: {name}: {'met' if ok else 'MISSED'}")
    return all(checks.values()) and all(targets.values())


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="booking-door-rush-"))
    procs = Processes(workdir)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        database_url = stack.enter_context(bench_database(args.database_url, workdir))
        stack.callback(procs.stop_all)
        database = describe_database(database_url)
        port = free_port()
        env = app_env(
            database_url=database_url,
            base_url=f"http://{HOST}:{port}",
            workdir=workdir,
            thread_limit=args.thread_limit,
        )
        print(f"database: {database}; creating an event with {args.tickets} paid tickets")
        codes = create_event(database_url, env["SECRET_KEY"], args.tickets, args.devices)
        warm, codes = codes[: 10 * args.devices], codes[10 * args.devices :]
        print(f"starting booking on {HOST}:{port} ({args.workers} workers)")
        app = start_server(
            procs,
            name="booking",
            app="booking",
            port=port,
            env=env,
            cwd=workdir,
            mode=args.server_mode,
            workers=args.workers,
            ready_path="/healthz",
        )
        print(f"doors open: {args.devices} devices admitting {args.tickets} tickets", flush=True)
        app_before, self_before = app.cpu(), cpu_seconds(os.getpid())
        busy_before, db_before = busy_seconds(), database_cpu(database_url)
        t0 = time.monotonic()
        tally = run_async(rush(args, port, codes, warm))
        wall = time.monotonic() - t0
        app_after = app.cpu()
        cpu = {
            f"booking worker {n + 1}": app_after[pid] - app_before.get(pid, 0.0)
            for n, pid in enumerate(sorted(app_after))
        }
        cpu["devices (this process)"] = cpu_seconds(os.getpid()) - self_before
        if db_before:
            cpu["PostgreSQL"] = cpu_used(db_before, database_cpu(database_url))
        cpu["other processes"] = max(0.0, busy_seconds() - busy_before - sum(cpu.values()))
        procs.stop_all()
        passed = report(tally, wall, admissions_in_db(database_url), cpu, args, database)
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test: "
        "a bench_<random> database is created on it and dropped after (default: SQLite "
        "in a temporary folder)",
    )
    parser.add_argument("-n", "--tickets", type=int, default=600)
    parser.add_argument("-d", "--devices", type=int, default=3, help="phones at the door")
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
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="stop the rush after this many seconds"
    )
    args = parser.parse_args()
    if args.tickets < 1 or args.devices < 1 or args.tickets > 100_000 or args.devices > 50:
        parser.error("1 to 100000 tickets and 1 to 50 devices")
    run_main("door_rush", run, args)


if __name__ == "__main__":
    main()
