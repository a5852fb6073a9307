"""The `booking` command: serve, migrate, demo, create-user, worker."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from booking.settings import Settings, SettingsError, load

if TYPE_CHECKING:
    from booking.db import Database

DEMO_USERS = (
    ("organiser@example.com", "organiser", "demo-organiser-password"),
    ("door@example.com", "staff", "demo-door-password"),
)


def _settings() -> Settings:
    try:
        return load()
    except SettingsError as exc:
        print(f"booking: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _database(settings: Settings) -> Database:
    from booking.db import Database

    return Database(settings.database_url, locking=not settings.unsafe_disable_locking)


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    db = _database(settings)
    db.migrate()
    print(f"booking: database at revision {db.current_revision()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from booking import demo
    from booking.domain import accounts
    from booking.domain.errors import Conflict
    from booking.models import Role, utcnow

    settings = _settings()
    db = _database(settings)
    if not db.is_up_to_date():
        db.migrate()
    with db.write_session() as session:
        slug = demo.load(session, settings=settings, now=utcnow()).slug
        if not settings.production:
            for email, role, password in DEMO_USERS:
                try:
                    accounts.create_user(session, email=email, role=Role(role), password=password)
                except Conflict:
                    session.rollback()
    print(f"booking: demo data ready: {settings.base_url}/events/{slug}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    from booking.domain import accounts
    from booking.domain.errors import BookingError
    from booking.models import Role

    settings = _settings()
    db = _database(settings)
    password = args.password
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("Password (leave empty to generate one): ")
        if not password:
            password, generated = accounts.generate_password(), True
    try:
        with db.write_session() as session:
            user = accounts.create_user(
                session, email=args.email, role=Role(args.role), password=password
            )
    except BookingError as exc:
        messages = getattr(exc, "errors", {}) or {"": exc.message}
        for message in messages.values():
            print(f"booking: {message}", file=sys.stderr)
        return 1
    print(f"booking: created {user.role} {user.email}")
    if generated:
        print(f"booking: password: {password}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = _settings()
    db = _database(settings)
    try:
        up_to_date = db.is_up_to_date()
    except Exception as exc:  # noqa: BLE001 (any connection failure is reported the same way)
        print(f"booking: cannot reach the database: {exc}", file=sys.stderr)
        return 2
    if not up_to_date:
        print(
            "booking: the database is behind the code; run `booking migrate` first",
            file=sys.stderr,
        )
        return 2
    db.dispose()
    standin = None
    if settings.uses_stripe_standin:
        from booking.stripe_standin import serve_in_thread

        standin = serve_in_thread(
            "127.0.0.1",
            settings.stripe_standin_port,
            webhook_url=settings.base_url.rstrip("/") + "/stripe/webhook",
            webhook_secret=settings.webhook_secret,
        )
        print(f"booking: Stripe stand-in (test payments, no money moves) at {standin.url}")
    trusted = (
        settings.forwarded_allow_ips
        if args.forwarded_allow_ips is None
        else args.forwarded_allow_ips
    )
    print(f"booking: serving {settings.base_url}")
    try:
        uvicorn.run(
            "booking.asgi:make_app",
            factory=True,
            host=args.host,
            port=args.port,
            reload=args.reload,
            workers=args.workers,
            # The client's address and scheme come from X-Forwarded-For/-Proto only when the
            # connection is from one of these (the reverse proxy); anyone else's are ignored.
            proxy_headers=bool(trusted.strip()),
            forwarded_allow_ips=trusted,
            log_level="info",
        )
    finally:
        if standin is not None:
            standin.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from booking import lifecycle

    settings = _settings()
    return asyncio.run(lifecycle.run_worker(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="booking", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    serve.add_argument("--workers", type=int, default=None, help="worker processes")
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="addresses of the reverse proxy, trusted for X-Forwarded-For/-Proto "
        "(default: the FORWARDED_ALLOW_IPS setting)",
    )
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("demo", help="load the demo events (safe to run twice)").set_defaults(
        func=cmd_demo
    )
    user = sub.add_parser("create-user", help="create an organiser or door staff account")
    user.add_argument("email")
    user.add_argument("--role", choices=["organiser", "staff"], required=True)
    user.add_argument("--password", help="otherwise asked for, or generated")
    user.set_defaults(func=cmd_create_user)
    sub.add_parser(
        "worker", help="run background jobs (mail, expiry) apart from the web app"
    ).set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args))
