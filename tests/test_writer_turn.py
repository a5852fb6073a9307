"""Writers on one SQLite file take turns on a kernel file lock, across processes."""

import subprocess
import sys
import threading
import time

from sqlalchemy import text

from booking.db import Database

HOLD = 0.4  # seconds the other writer keeps its turn


def test_a_writer_waits_for_another_process_to_finish_its_turn(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/booking.db")
    try:
        assert db.writer_file == f"{tmp_path}/booking.db-writer"
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time\n"
                "from booking.db import Database\n"
                "db = Database(sys.argv[1])\n"
                "with db.writer_turn():\n"
                "    print('in', flush=True)\n"
                f"    time.sleep({HOLD})\n",
                db.url,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "in"
        started = time.monotonic()
        with db.writer_turn():
            waited = time.monotonic() - started
        assert holder.wait(timeout=10) == 0
        assert waited >= HOLD / 2, f"did not wait for the other process ({waited:.3f} s)"
    finally:
        db.dispose()


def test_threads_of_one_process_take_turns_too(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/booking.db")
    db.migrate()
    inside: list[int] = []
    overlaps: list[int] = []

    def writer(n: int) -> None:
        for _ in range(5):
            with db.write() as session:
                inside.append(n)
                if len(inside) > 1:
                    overlaps.append(n)
                session.execute(text("SELECT 1"))
                time.sleep(0.005)
                inside.remove(n)

    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert overlaps == []
    finally:
        db.dispose()


def test_no_turn_file_for_memory_or_postgresql():
    assert Database("sqlite:///:memory:").writer_file is None
    assert Database("postgresql+psycopg://postgres@127.0.0.1:5432/test").writer_file is None
