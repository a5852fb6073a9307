"""Settings: read once from the environment and an optional `.env` file, then passed around.

`load()` names a missing or malformed setting in one line (`SettingsError`), and refuses
anything simulated (the Stripe stand-in, captured email, a placeholder secret) in production.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 (the value .env.example ships, refused in production)
STANDIN_WEBHOOK_SECRET = "whsec_standin_0123456789abcdef"  # noqa: S105
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
SECRET_FILE = Path("var/secret_key")


def resource_dir(name: str) -> Path:
    """`templates` or `static`: inside the installed package (a built wheel carries them as
    `booking/templates`, `booking/static`), else the repository's top-level folder."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PROJECT_ROOT / name


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str = "sqlite:///var/booking.db"
    secret_key: str = PLACEHOLDER_SECRET
    base_url: str = "http://127.0.0.1:8000"
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_standin_port: int = 12111
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_tls: str = "starttls"
    mail_from: str = "booking@localhost"
    timezone: str = "Europe/London"
    hold_minutes: int = 31
    media_dir: str = "var/media"
    thread_limit: int = 4
    run_jobs: bool = True
    # The publisher's brand until an organiser sets it in the back office (Site settings).
    site_name: str = "Debates and events"
    brand_colour: str = "#1d1d3b"
    link_colour: str = "#1d5fa8"
    privacy_url: str = ""
    terms_url: str = ""
    contact_url: str = ""
    legal_name: str = ""
    postal_address: str = ""
    # Addresses whose X-Forwarded-For/-Proto `booking serve` believes (the reverse proxy).
    forwarded_allow_ips: str = "127.0.0.1"
    # Test-only switch for the negative controls of the race tests; never set in production.
    unsafe_disable_locking: bool = False
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def uses_stripe_standin(self) -> bool:
        return not self.stripe_secret_key

    @property
    def captures_email(self) -> bool:
        return not self.smtp_host

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_secret(self) -> str:
        return self.stripe_webhook_secret or STANDIN_WEBHOOK_SECRET

    def replace(self, **changes: object) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


ENV_NAMES = {f.name: f.name.upper() for f in fields(Settings) if f.name != "extra"}


def _convert(name: str, raw: str, default: object) -> object:
    env = ENV_NAMES[name]
    raw = raw.strip()
    if isinstance(default, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise SettingsError(f"{env} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{env} must be a whole number, not {raw!r}") from None
    return raw


def _validate(s: Settings) -> None:
    if s.environment not in {"development", "test", "production"}:
        raise SettingsError("ENVIRONMENT must be development, test or production")
    if not s.database_url.startswith(("sqlite:///", "postgresql")):
        raise SettingsError("DATABASE_URL must start with sqlite:/// or postgresql+psycopg://")
    base = urlsplit(s.base_url)
    if base.scheme not in {"http", "https"} or not base.netloc:
        raise SettingsError(f"BASE_URL must be an http(s) URL, not {s.base_url!r}")
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TIMEZONE is not a known time zone: {s.timezone!r}") from None
    if s.smtp_tls not in {"starttls", "tls", "none"}:
        raise SettingsError("SMTP_TLS must be starttls, tls or none")
    if s.stripe_secret_key and not s.stripe_secret_key.startswith(("sk_test_", "sk_live_", "rk_")):
        raise SettingsError(
            "STRIPE_SECRET_KEY must be a Stripe secret key (sk_test_… or sk_live_…)"
        )
    if s.stripe_secret_key and not s.stripe_webhook_secret:
        raise SettingsError("STRIPE_WEBHOOK_SECRET is required when STRIPE_SECRET_KEY is set")
    if s.hold_minutes < 30 or s.hold_minutes > 24 * 60:
        raise SettingsError("HOLD_MINUTES must be between 30 and 1440 (Stripe's session limits)")
    for env, colour in (("BRAND_COLOUR", s.brand_colour), ("LINK_COLOUR", s.link_colour)):
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", colour):
            raise SettingsError(f"{env} must be a colour like #1d1d3b, not {colour!r}")
    for item in filter(None, (part.strip() for part in s.forwarded_allow_ips.split(","))):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise SettingsError(
                f"FORWARDED_ALLOW_IPS must list IP addresses or networks, not {item!r}"
            ) from None
    if s.thread_limit < 1:
        raise SettingsError("THREAD_LIMIT must be at least 1")
    if s.production:
        if s.secret_key == PLACEHOLDER_SECRET or len(s.secret_key) < 32:
            raise SettingsError("SECRET_KEY must be a random value of 32+ characters in production")
        if s.uses_stripe_standin:
            raise SettingsError("STRIPE_SECRET_KEY is required in production (no Stripe stand-in)")
        if s.captures_email:
            raise SettingsError("SMTP_HOST is required in production (email is not captured)")
        if s.unsafe_disable_locking:
            raise SettingsError("UNSAFE_DISABLE_LOCKING is a test switch, refused in production")
        if base.scheme != "https":
            raise SettingsError("BASE_URL must be https:// in production")


def local_secret(path: str | Path = SECRET_FILE) -> str:
    """The random secret kept in `path` (readable by its owner only), made on first use.

    Outside production an unset or placeholder SECRET_KEY is replaced by this, so a
    development server reachable from elsewhere never signs with a value anyone can read in
    .env.example. Two processes starting at once agree on one secret: the file appears whole
    (written aside, then linked into place) and only the first link wins.
    """
    target = Path(path)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        aside = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(aside, target)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    secret = target.read_text().strip()
    if len(secret) < 32:
        raise SettingsError(f"SECRET_KEY: {target} must hold 32+ random characters")
    return secret


def load(
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = ".env",
    *,
    secret_file: str | Path = SECRET_FILE,
) -> Settings:
    """Build Settings from `.env` (if present) overlaid by the environment.

    Outside production, an unset or placeholder SECRET_KEY becomes the random one kept in
    `secret_file` (see local_secret). Raises SettingsError naming the first bad setting.
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    defaults = Settings()
    kwargs: dict[str, object] = {}
    for name, env in ENV_NAMES.items():
        if env in values:
            kwargs[name] = _convert(name, values[env], getattr(defaults, name))
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    _validate(settings)
    if not settings.production and settings.secret_key in {"", PLACEHOLDER_SECRET}:
        settings = settings.replace(secret_key=local_secret(secret_file))
    return settings
