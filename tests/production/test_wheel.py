"""`pip install .` as a deployment would: a built wheel in a clean virtualenv, run from a
directory outside the repository, serves its pages, static files, vendored scripts and the
Stripe stand-in's checkout page (everything it needs is inside the package)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import TEST_SECRET, free_port
from tests.production.conftest import Processes, clean_env, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "booking",
    "templates",
    "static",
)

pytestmark = pytest.mark.slow


def run(args: list[str], *, timeout: float, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the built wheel; the dependencies come from the
    suite's environment through a .pth file (so nothing is downloaded but the build backend)."""
    if not (ROOT / "static" / "vendor").is_dir():
        pytest.fail("static/vendor/ is missing: run `npm ci` (make setup-test does)")
    tmp = tmp_path_factory.mktemp("wheel")
    source, dist, venv = tmp / "source", tmp / "dist", tmp / "venv"
    source.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=junk)
        else:
            shutil.copy2(path, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], timeout=300)
    [wheel] = dist.glob("booking-*.whl")
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60)
    python = venv / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        timeout=30,
    ).stdout.strip()
    paths = sysconfig.get_paths()
    deps = dict.fromkeys([paths["purelib"], paths["platlib"]])
    (Path(purelib) / "_suite_dependencies.pth").write_text("\n".join(deps) + "\n")
    run(
        [*pip, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        timeout=120,
    )
    return venv


def test_a_built_wheel_serves_every_kind_of_page(installed, tmp_path, processes: Processes):
    where = tmp_path / "site"  # outside the repository: nothing may be found beside it
    where.mkdir()
    port, standin_port = free_port(), free_port()
    env = clean_env(
        DATABASE_URL=f"sqlite:///{where}/booking.db",
        SECRET_KEY=TEST_SECRET,
        BASE_URL=f"http://127.0.0.1:{port}",
        STRIPE_STANDIN_PORT=str(standin_port),
        MEDIA_DIR=str(where / "media"),
    )
    env.pop("PYTHONPATH", None)
    booking = str(installed / "bin" / "booking")
    where_from = run(
        [str(installed / "bin" / "python"), "-c", "import booking; print(booking.__file__)"],
        cwd=where,
        env=env,
        timeout=60,
    ).stdout
    assert where_from.startswith(str(installed)), where_from

    assert (
        "database at revision" in run([booking, "migrate"], cwd=where, env=env, timeout=120).stdout
    )
    demo = run([booking, "demo"], cwd=where, env=env, timeout=120).stdout
    [event_url] = re.findall(r"https?://\S+/events/\S+", demo)
    server = processes.start(
        [booking, "serve", "--port", str(port)],
        cwd=where,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(where / "serve.log").open("wb"),
    )
    wait_for_health(f"http://127.0.0.1:{port}", server, timeout=120)

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        page = http.get(event_url)
        assert page.status_code == 200 and "<h1" in page.text
        stylesheets = re.findall(r'<link rel="stylesheet" href="(/static/[^"]+\.css)"', page.text)
        assert stylesheets
        for href in stylesheets:
            css = http.get(href)
            assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
            assert len(css.content) > 100
        vendored = http.get("/static/vendor/jsQR.js")
        assert vendored.status_code == 200 and len(vendored.content) > 10_000
        assert "javascript" in vendored.headers["content-type"]
        assert http.get("/static/vendor/no-such-file.js").status_code == 404

        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        quantity = re.search(r'name="(qty-\d+)"', page.text)
        assert token and quantity
        form = {
            "csrf_token": token.group(1),
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            quantity.group(1): "1",
        }
        checkout = http.post(f"{event_url}/checkout", data=form)
        assert checkout.status_code == 303, checkout.text
        pay_url = checkout.headers["location"]
        assert pay_url.startswith(f"http://127.0.0.1:{standin_port}/c/pay/")
        pay_page = httpx.get(pay_url, timeout=10)
        assert pay_page.status_code == 200
        assert 'name="card_number"' in pay_page.text and ">Pay</button>" in pay_page.text

        for path in ("/", "/sign-in", f"{urlsplit(event_url).path}.ics"):
            other = http.get(path)
            assert other.status_code == 200 and len(other.content) > 200, path
        missing = http.get("/events/no-such-event")
        assert missing.status_code == 404 and "<h1" in missing.text  # the error template
