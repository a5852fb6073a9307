"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when DATABASE_URL says so),
settings, the app, a test client, a controllable clock, and a query counter."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel
from starlette.testclient import TestClient

import booking.models  # noqa: F401
from booking.app import create_app
from booking.db import Database, null_pool_engine
from booking.settings import STANDIN_WEBHOOK_SECRET, Settings
from booking.stripe_standin import ServerHandle, StandIn, serve_in_thread

TEST_SECRET = "test-secret-key-long-enough-for-production-0123456789"
ARTIFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[None]:
    """Argon2 with small costs in tests (the same algorithm; real costs in the CLI tests,
    which run the app as a process). Hashes record their costs, so both verify."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    from booking.domain import accounts

    real = accounts._hasher
    accounts._hasher = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    accounts._dummy_hash.cache_clear()
    yield
    accounts._hasher = real
    accounts._dummy_hash.cache_clear()


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, which async tests cannot share."""
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: "tests/browser/" in str(item.fspath))


def _postgres_base() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = _postgres_base()
    if base is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('db')}/booking.db"
        return
    name = f"booking_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = null_pool_engine(base)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    db.migrate()
    wipe(db)
    yield db
    db.dispose()


def wipe(db: Database) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with db.write_engine.begin() as conn:
        if db.is_sqlite:
            for name in tables:
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
        else:
            quoted = ", ".join(f'"{name}"' for name in tables)
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")


@pytest.fixture
def db(migrated: Database) -> Iterator[Database]:
    yield migrated
    wipe(migrated)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """For factories and assertions. Every query re-reads its rows (populate_existing), so
    an assertion sees what the app committed meanwhile, not this session's cached copy."""
    with db.session() as s:

        @sa_event.listens_for(s, "do_orm_execute")
        def _fresh(state):  # type: ignore[no-untyped-def]
            if state.is_select:
                state.update_execution_options(populate_existing=True)

        yield s


class Clock:
    """A clock tests can move: `clock.now = ...` or `clock.advance(minutes=31)`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    from booking.models import utcnow

    return Clock(utcnow())


@pytest.fixture(scope="session")
def standin_server() -> Iterator[ServerHandle]:
    handle = serve_in_thread(
        "127.0.0.1", 0, webhook_url=None, webhook_secret=STANDIN_WEBHOOK_SECRET
    )
    yield handle
    handle.stop()


@pytest.fixture
def standin(standin_server: ServerHandle) -> Iterator[StandIn]:
    """The Stripe stand-in, reset for each test, delivering no webhooks unless told to."""
    state = standin_server.standin
    state.reset()
    state.configure_webhook(None)
    state.set_webhook_mode("normal")
    yield state
    state.configure_webhook(None)
    state.wait_for_deliveries(timeout=5)
    state.reset()


@pytest.fixture
def settings(database_url: str, standin_server: ServerHandle) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        base_url="http://testserver",
        run_jobs=False,
        media_dir=str(ARTIFACTS.parent / "test-media"),
        stripe_standin_port=standin_server.port,
    )


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock):  # type: ignore[no-untyped-def]
    return create_app(settings, db=db, clock=clock)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False) as c:
        yield c


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def reset(self) -> None:
        self.statements.clear()


@pytest.fixture
def count_queries(db: Database) -> Iterator[QueryCounter]:
    counter = QueryCounter()

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            counter.statements.append(statement)

    engines = {db.engine, db.write_engine}
    for engine in engines:
        sa_event.listen(engine, "before_cursor_execute", before)
    yield counter
    for engine in engines:
        sa_event.remove(engine, "before_cursor_execute", before)


# A real SMTP server on loopback (aiosmtpd), for the mail tests. ----------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SMTPServer:
    """aiosmtpd on 127.0.0.1:`port`, keeping every message it accepts.

    `start()` and `stop()` may be called at any time (a server that is down, then up);
    `refuse_rcpt` maps addresses to a reply such as "550 5.1.1 No such user", and
    `data_reply` makes every DATA answer with a reply such as "451 4.3.0 Try later".
    """

    def __init__(self, port: int, *, delay: float = 0.0) -> None:
        import threading

        self.port = port
        self.delay = delay
        self.messages: list = []
        self.envelopes: list = []
        self.refuse_rcpt: dict[str, str] = {}
        self.data_reply: str | None = None
        self.auth: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        import asyncio
        import email
        import email.policy

        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "authenticated": bool(session.authenticated),
                }
            )
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and self.auth is not None
            and (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        kwargs = {}
        if self.auth is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_require_tls": False,
            }
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings_for(self, settings: Settings) -> Settings:
        """`settings` pointing at this server (plain SMTP on loopback)."""
        return settings.replace(smtp_host="127.0.0.1", smtp_port=self.port, smtp_tls="none")


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A running SMTP server on a free loopback port."""
    server = SMTPServer(free_port())
    server.start()
    yield server
    server.stop()


# Accounts ------------------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@pytest.fixture
def organiser(db: Database):  # type: ignore[no-untyped-def]
    from booking.domain import accounts
    from booking.models import Role

    with db.write_session() as s:
        return accounts.create_user(
            s,
            email="organiser@example.com",
            role=Role.ORGANISER,
            password=PASSWORD,
            name="Olive Organiser",
        )


@pytest.fixture
def staff(db: Database):  # type: ignore[no-untyped-def]
    from booking.domain import accounts
    from booking.models import Role

    with db.write_session() as s:
        return accounts.create_user(
            s, email="door@example.com", role=Role.STAFF, password=PASSWORD, name="Dora Door"
        )


def sign_in(client: TestClient, user, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    """Sign `user` in on this client; returns the response to the sign-in POST."""
    from tests.helpers import csrf_from

    token = csrf_from(client, "/sign-in")
    return client.post(
        "/sign-in", data={"csrf_token": token, "email": user.email, "password": password}
    )
