"""Engines, sessions and the one lock that guards capacity.

SQLite runs in WAL mode with a busy timeout and foreign keys on. Writes go through
`Database.write()`, which on SQLite opens the transaction with BEGIN IMMEDIATE so writers
queue up instead of failing on a stale snapshot; on PostgreSQL `lock()` takes a row lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Select, create_engine, event, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from booking import changes as changes  # registers the content-version session events

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_engine(url: str, *, begin: str, **kwargs: Any) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (SQLAlchemy's pysqlite recipe)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if begin:
            conn.exec_driver_sql(begin)
        conn.info["immediate"] = begin == "BEGIN IMMEDIATE"

    return engine


class Database:
    """The app's connection to its database: read sessions, write transactions, migrations."""

    def __init__(self, url: str, *, locking: bool = True, echo: bool = False) -> None:
        self.url = url
        self.locking = locking
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # Reads run without an explicit transaction, so each statement sees the latest
            # commit, as under PostgreSQL's READ COMMITTED, and no snapshot is held open.
            self.engine = _sqlite_engine(url, begin="", echo=echo)
            self.write_engine = _sqlite_engine(
                url, begin="BEGIN IMMEDIATE" if locking else "BEGIN", echo=echo
            )
        else:
            self.engine = create_engine(
                url, pool_size=10, max_overflow=20, pool_pre_ping=True, echo=echo
            )
            self.write_engine = self.engine
        if not locking:
            for engine in {self.engine, self.write_engine}:
                engine.update_execution_options(booking_locking=False)
        path = url.removeprefix("sqlite:///") if self.is_sqlite else ""
        on_disk = locking and path and path != ":memory:"  # no turns for the lock-off twins
        self.writer_file = f"{path}-writer" if on_disk else None

    def session(self) -> Session:
        """A session for reads. Write through `write()` or `write_session()`."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        with (
            self.writer_turn(),
            Session(self.write_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def writer_turn(self) -> AbstractContextManager[None]:
        """Wait for this writer's turn among every process on this SQLite file.

        SQLite's own lock is polled by a waiting writer, which sleeps up to 100 ms between
        tries, so under a rush a process's writers can wait long after the lock came free
        while another process's queue takes it again. Waiting on a kernel file lock instead
        hands the turn over the moment it is released. BEGIN IMMEDIATE still guards the
        data: a writer that skips the turn (a script, sqlite3) only waits longer.
        """
        if self.writer_file is None:
            return nullcontext()
        return _file_lock(self.writer_file)

    def write_session(self) -> Session:
        """A session whose transactions lock the database for writing on SQLite."""
        return Session(self.write_engine, expire_on_commit=False)

    def content_version(self) -> int:
        """The counter cached public pages are keyed on (booking.changes), read on every
        public page: straight from a pooled driver connection, as SQLAlchemy's result
        set-up costs several times the query itself."""
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute(changes.READ_SQL)
            found = cursor.fetchone()
            cursor.close()
        finally:
            conn.close()  # back to the pool
        return int(found[0]) if found else 0

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 (any failure means "not answering")
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()

    # Migrations ---------------------------------------------------------------------------
    def alembic_config(self) -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.write_engine
        return cfg

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def is_up_to_date(self) -> bool:
        return self.current_revision() == self.head_revision()

    def migrate(self) -> None:
        from alembic import command

        command.upgrade(self.alembic_config(), "head")


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def lock(session: Session, event_id: int) -> None:
    """Serialise every change to one event's capacity: call once, just before the check.

    PostgreSQL: a row lock on the event (SELECT … FOR UPDATE). SQLite: the write transaction
    already holds the database's write lock (BEGIN IMMEDIATE); refuse to run without it.
    """
    conn = session.connection()
    if not conn.get_execution_options().get("booking_locking", True):
        return  # test-only negative control
    if conn.dialect.name == "sqlite":
        if not conn.info.get("immediate"):
            raise RuntimeError("capacity changes on SQLite need Database.write()")
        return
    conn.execute(text("SELECT id FROM event WHERE id = :id FOR UPDATE"), {"id": event_id})


def lock_reading(session: Session, event_id: int, read: Select[Any]) -> Any:
    """`lock`, then the first row of `read` (a SELECT of the event's own row, taking the
    event's id as the `event_id` parameter). On PostgreSQL both are one statement, `read`
    FOR UPDATE: a sale holds the lock for one round trip less."""
    conn = session.connection()
    locking = conn.get_execution_options().get("booking_locking", True)
    if conn.dialect.name != "sqlite" and locking:
        read = read.with_for_update()
    else:
        lock(session, event_id)
    return session.execute(read, {"event_id": event_id}).first()


def null_pool_engine(url: str) -> Engine:
    """An engine without pooling, for one-off admin work (creating databases in tests)."""
    return create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
