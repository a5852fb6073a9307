"""Two real `booking worker` processes on one database and a real SMTP server: every order
gets exactly one reminder, while both run the job at once and after both are restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from booking.models import MailKind, MailOutbox, OutboxStatus
from tests.concurrency.conftest import ROOT
from tests.conftest import TEST_SECRET
from tests.reminders.conftest import book

pytestmark = pytest.mark.slow


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "booking", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(count)
        ]

    def stop(self, *, kill_first: bool = False) -> None:
        for n, proc in enumerate(self.procs):
            proc.send_signal(signal.SIGKILL if kill_first and n == 0 else signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs = []


@pytest.fixture
def workers(settings, db, smtp, standin_server) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": TEST_SECRET,
        "ENVIRONMENT": "test",
        "BASE_URL": "http://testserver",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_STANDIN_PORT": str(standin_server.port),
        "MEDIA_DIR": settings.media_dir,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_TLS": "none",
    }
    group = Workers(env)
    yield group
    group.stop()


def _wait(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _reminders(session: Session) -> list[MailOutbox]:
    found = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.REMINDER)).all()
    session.commit()
    return list(found)


def test_each_order_gets_one_reminder_across_two_workers_and_a_restart(
    db, session, settings, smtp, soon, clock, workers
):
    early = clock.now - timedelta(days=2)
    names = ["Ada", "Bob", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal"]
    orders = [book(db, settings, soon, name=f"{n} Smith", tickets=2, now=early) for n in names]

    def all_sent(count: int) -> Callable[[], bool]:
        def check() -> bool:
            rows = _reminders(session)
            return len(rows) == count and all(r.status == OutboxStatus.SENT for r in rows)

        return check

    workers.start(2)  # both run the reminder job as they start, then every sweep
    _wait(all_sent(len(orders)), "the first reminders")
    workers.stop(kill_first=True)

    late = book(db, settings, soon, name="Ivy Smith", tickets=1, now=early)
    workers.start(2)  # restarted: the job runs again in both, with one new order
    _wait(all_sent(len(orders) + 1), "the new order's reminder")
    time.sleep(4)  # another turn of the mail sender in each worker
    workers.stop()

    reminders = [m for m in smtp.messages if m["Subject"].startswith("Reminder:")]
    per_address = Counter(m["To"].addresses[0].addr_spec for m in reminders)
    expected = {f"{n.lower()}@example.com" for n in [*names, "Ivy"]}
    assert set(per_address) == expected
    assert set(per_address.values()) == {1}, per_address
    rows = _reminders(session)
    assert sorted(r.order_id for r in rows) == sorted(o.id for o in [*orders, late])  # type: ignore[type-var]
