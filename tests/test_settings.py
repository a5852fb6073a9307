import re
from dataclasses import fields
from pathlib import Path

import pytest

from booking.settings import ENV_NAMES, Settings, SettingsError, load

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "x" * 40


def test_defaults_run_with_nothing_configured():
    s = load({}, env_file=None)
    assert s.is_sqlite and s.uses_stripe_standin and s.captures_email
    assert s.timezone == "Europe/London"


def test_env_file_is_read_and_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text("BASE_URL=http://example.test\nHOLD_MINUTES=45\n")
    s = load({"HOLD_MINUTES": "60"}, env_file=env)
    assert s.base_url == "http://example.test"
    assert s.hold_minutes == 60


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"HOLD_MINUTES": "soon"}, "HOLD_MINUTES"),
        ({"HOLD_MINUTES": "5"}, "HOLD_MINUTES"),
        ({"SMTP_PORT": "x"}, "SMTP_PORT"),
        ({"BASE_URL": "ftp://nope"}, "BASE_URL"),
        ({"TIMEZONE": "Mars/Olympus"}, "TIMEZONE"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"SMTP_TLS": "maybe"}, "SMTP_TLS"),
        ({"STRIPE_SECRET_KEY": "pk_test_123"}, "STRIPE_SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": "sk_test_123"}, "STRIPE_WEBHOOK_SECRET"),
        ({"RUN_JOBS": "perhaps"}, "RUN_JOBS"),
        ({"FORWARDED_ALLOW_IPS": "proxy.internal"}, "FORWARDED_ALLOW_IPS"),
        ({"FORWARDED_ALLOW_IPS": "10.0.0.5, 10.0.0.300"}, "FORWARDED_ALLOW_IPS"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(environ, names):
    with pytest.raises(SettingsError) as info:
        load(environ, env_file=None)
    message = str(info.value)
    assert names in message and "\n" not in message


PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": GOOD_SECRET,
    "BASE_URL": "https://tickets.example.org",
    "STRIPE_SECRET_KEY": "sk_test_abc",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "SMTP_HOST": "smtp.example.org",
}


def test_production_starts_with_real_settings():
    assert load(PRODUCTION, env_file=None).production


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"STRIPE_SECRET_KEY": ""}, "STRIPE_SECRET_KEY"),
        ({"SMTP_HOST": ""}, "SMTP_HOST"),
        ({"BASE_URL": "http://tickets.example.org"}, "BASE_URL"),
        ({"UNSAFE_DISABLE_LOCKING": "true"}, "UNSAFE_DISABLE_LOCKING"),
    ],
)
def test_production_refuses_anything_simulated(change, name):
    with pytest.raises(SettingsError, match=name):
        load({**PRODUCTION, **change}, env_file=None)


def test_env_example_lists_every_setting():
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", text, flags=re.M))
    expected = {ENV_NAMES[f.name] for f in fields(Settings) if f.name != "extra"}
    assert expected <= listed, f"missing from .env.example: {expected - listed}"


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [env for env in ENV_NAMES.values() if env not in readme and env != "EXTRA"]
    assert not missing, f"README does not mention {missing}"


def test_forwarded_allow_ips_takes_addresses_networks_star_or_nothing():
    for value in ("127.0.0.1", "10.0.0.5, 10.0.0.0/24", "::1", "*", ""):
        assert load({"FORWARDED_ALLOW_IPS": value}, env_file=None).forwarded_allow_ips == value
    assert load({}, env_file=None).forwarded_allow_ips == "127.0.0.1"
