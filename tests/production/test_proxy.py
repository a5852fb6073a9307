"""The production shape: two app processes (`booking serve --workers 2`) and one
`booking worker` on one database, behind Debian's nginx terminating TLS on loopback.

Addresses on loopback stand for the network: the buyer and door staff connect to nginx from
127.0.0.3, nginx reaches the app from 127.0.0.2 (the one trusted proxy, FORWARDED_ALLOW_IPS),
and a client that skips the proxy connects to the app from 127.0.0.1."""

from __future__ import annotations

import io
import os
import re
import shutil
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlmodel import select

from booking.models import LoginSession, Order, OrderStatus, RateBucket
from tests.conftest import PASSWORD, TEST_SECRET, SMTPServer, free_port
from tests.factories import make_event, make_ticket_type
from tests.production.conftest import Processes, clean_env, wait_for_health, wait_for_port

CLIENT = "127.0.0.3"  # the buyer's and door staff's address, as nginx sees it
PROXY = "127.0.0.2"  # where nginx connects to the app from
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/ensure-nginx.sh)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed"),
]

NGINX_CONF = """\
# What the README's Deployment section shows, with loopback addresses and temp paths.
daemon off;
worker_processes 1;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream booking {{
        server 127.0.0.1:{app_port};
        keepalive 8;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
        client_max_body_size 12m;
        location / {{
            proxy_pass http://booking;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_bind {proxy};
        }}
    }}
}}
"""


@dataclass
class Site:
    url: str  # the public https address, through nginx
    app_url: str  # the app processes' own port, skipping the proxy
    cert: Path
    smtp: SMTPServer  # where the worker sends email


def _certificate(tmp: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp / "key.pem"),
            "-out",
            str(tmp / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, database_url: str, migrated) -> Iterator[Site]:
    """The whole stack, once for this module's tests (each test still gets a clean database)."""
    tmp_path = tmp_path_factory.mktemp("production")
    smtp = SMTPServer(free_port())
    smtp.start()
    processes = Processes()
    try:
        yield _start(tmp_path, database_url, smtp, processes)
    finally:
        processes.stop()
        smtp.stop()


def _start(tmp_path: Path, database_url: str, smtp: SMTPServer, processes: Processes) -> Site:
    tmp = tmp_path / "nginx"
    tmp.mkdir()
    _certificate(tmp)
    port, app_port, standin_port = free_port(), free_port(), free_port()
    user = "user root root;" if os.geteuid() == 0 else ""  # workers may read the temp dir
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(tmp=tmp, user=user, port=port, app_port=app_port, proxy=PROXY)
    )
    url = f"https://127.0.0.1:{port}"
    env = clean_env(
        ENVIRONMENT="test",
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        BASE_URL=url,
        RUN_JOBS="false",
        FORWARDED_ALLOW_IPS=PROXY,
        STRIPE_STANDIN_PORT=str(standin_port),
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_TLS="none",
        MEDIA_DIR=str(tmp_path / "media"),
        # The stand-in delivers its webhooks to BASE_URL, through nginx: trust its certificate.
        SSL_CERT_FILE=str(tmp / "cert.pem"),
    )
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}.log").open("wb")
        return processes.start(args, cwd=tmp_path, env=env, stdout=out, stderr=out)

    booking = [sys.executable, "-m", "booking"]
    app = start("serve", [*booking, "serve", "--port", str(app_port), "--workers", "2"])
    start("worker", [*booking, "worker"])
    proxy = start("nginx", [NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)])
    # Generous: on a loaded machine each app process takes seconds to import and start.
    wait_for_port("127.0.0.1", port, proxy, timeout=30)
    wait_for_health(f"http://127.0.0.1:{app_port}", app, timeout=120)
    serve_log = logs / "serve.log"
    wait_for_log(serve_log, "Application startup complete.", count=2, timeout=120)
    return Site(url, f"http://127.0.0.1:{app_port}", tmp / "cert.pem", smtp)


def wait_for_log(path: Path, line: str, *, count: int, timeout: float) -> None:
    """Until `line` is in the log `count` times (here: both app processes have started)."""
    deadline = time.monotonic() + timeout
    while path.read_text(errors="replace").count(line) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path.name}: fewer than {count} of {line!r} after {timeout}s")
        time.sleep(0.2)


def through_proxy(site: Site) -> httpx.Client:
    """A client of the public site, connecting from CLIENT's address."""
    context = ssl.create_default_context(cafile=str(site.cert))
    transport = httpx.HTTPTransport(verify=context, local_address=CLIENT)
    return httpx.Client(base_url=site.url, transport=transport, timeout=15)


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def secure_cookies_only(response: httpx.Response) -> int:
    cookies = response.headers.get_list("set-cookie")
    for cookie in cookies:
        assert re.search(r";\s*secure", cookie, re.I), cookie
    return len(cookies)


def address_buckets(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
    rows = session.exec(select(RateBucket).where(RateBucket.key.startswith("login:address:")))
    return {row.key.removeprefix("login:address:"): row.count for row in rows}


def wait_for(check, *, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout}s")
        time.sleep(0.2)
    return result


def test_buy_get_the_email_and_scan_it_at_the_door_through_the_proxy(
    site: Site, db, session, staff
):
    smtp = site.smtp
    event = make_event(session, slug="brexit-debate", title="London and Brexit", capacity=None)
    standard = make_ticket_type(session, event, name="Standard", price=1000)
    secure = 0
    with through_proxy(site) as http:
        page = http.get(f"/events/{event.slug}")
        assert page.status_code == 200
        assert "max-age" in page.headers["strict-transport-security"]  # BASE_URL is https
        secure += secure_cookies_only(page)
        form = {"csrf_token": csrf(page), "name": "Ada Lovelace", "email": "ada@example.com"}
        checkout = http.post(
            f"/events/{event.slug}/checkout",
            data={**form, f"qty-{standard.id}": "1"},
            headers={"Origin": site.url, "Referer": f"{site.url}/events/{event.slug}"},
        )
        assert checkout.status_code == 303, checkout.text
        secure += secure_cookies_only(checkout)

        # The Stripe stand-in's hosted page, as the browser sees it; it sends the buyer back
        # to BASE_URL (https, through nginx) and its webhook goes there too.
        pay_url = checkout.headers["location"]
        pay = httpx.post(
            pay_url,
            data={"email": "ada@example.com", "card_number": "4242 4242 4242 4242"},
            timeout=15,
        )
        assert pay.status_code == 303, pay.text
        back = pay.headers["location"]
        assert back.startswith(f"{site.url}/"), back
        success = http.get(back.removeprefix(site.url))
        assert success.status_code == 303
        order_path = success.headers["location"]
        assert http.get(order_path).status_code == 200

        token = order_path.rsplit("/", 1)[-1]
        order = session.exec(select(Order).where(Order.token == token)).one()
        assert order.status == OrderStatus.PAID

        # The worker sends the tickets by SMTP; every link in them is https on the public site.
        message = wait_for(
            lambda: next((m for m in smtp.messages if "ada@example.com" in m["To"]), None),
            timeout=30,
            what="ticket email",
        )
        body = "".join(
            part.get_content() for part in message.walk() if part.get_content_maintype() == "text"
        )
        assert f"{site.url}/orders/{token}" in body
        assert "http://127.0.0.1" not in body and "http%3A%2F%2F127.0.0.1" not in body
        [qr] = [
            part
            for part in message.walk()
            if part.get_content_type() == "image/png"
            and zxingcpp.read_barcodes(Image.open(io.BytesIO(part.get_content())))
        ][:1]
        [scanned] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_content())))

        # Door staff sign in through the proxy (one mistyped password first) and scan it.
        sign_in = http.get("/sign-in")
        wrong = http.post(
            "/sign-in",
            data={"csrf_token": csrf(sign_in), "email": staff.email, "password": "nope"},
        )
        assert wrong.status_code == 400
        signed_in = http.post(
            "/sign-in",
            data={"csrf_token": csrf(wrong), "email": staff.email, "password": PASSWORD},
        )
        assert signed_in.status_code == 303, signed_in.text
        secure += secure_cookies_only(signed_in)
        door = http.get(f"/door/{event.slug}")
        door_token = re.search(r'name="csrf-token" content="([^"]+)"', door.text)
        assert door.status_code == 200 and door_token
        scan = {"code": scanned.text, "nonce": uuid.uuid4().hex, "device": "phone-1"}
        headers = {"X-CSRF-Token": door_token.group(1)}
        admitted = http.post(f"/api/events/{event.slug}/checkins", json=scan, headers=headers)
        assert admitted.status_code == 200, admitted.text
        assert admitted.json()["result"] == "admitted"
        again = {**scan, "nonce": uuid.uuid4().hex, "device": "phone-2"}
        second = http.post(f"/api/events/{event.slug}/checkins", json=again, headers=headers)
        assert second.json()["result"] == "already_checked_in"

    assert secure >= 1  # at least the sign-in set a cookie, and every cookie was Secure
    # The app saw the client's address, not nginx's, in its rate limits and sign-in records.
    assert address_buckets(session) == {CLIENT: 1}
    [login] = session.exec(select(LoginSession).where(LoginSession.user_id == staff.id)).all()
    assert login.address == CLIENT


def test_forwarded_addresses_count_only_from_the_trusted_proxy(site: Site, db, session, staff):
    def fail_sign_in(http: httpx.Client, **headers: str) -> None:
        page = http.get("/sign-in")
        form = {"csrf_token": csrf(page), "email": staff.email, "password": "nope"}
        # The cookie is Secure (BASE_URL is https), so a client on plain http must be given it.
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        sent = http.post("/sign-in", data=form, headers={"Cookie": cookie, **headers})
        assert sent.status_code == 400, sent.text

    # Through nginx, a forged X-Forwarded-For is only the left part of the list nginx sends:
    # the app takes the address nginx saw.
    with through_proxy(site) as http:
        fail_sign_in(http, **{"X-Forwarded-For": "198.51.100.7"})
    # Straight to the app port, from an address that is not the trusted proxy: ignored.
    with httpx.Client(base_url=site.app_url, timeout=15) as direct:
        fail_sign_in(direct, **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
        assert secure_cookies_only(direct.get("/sign-in")) == 1  # Secure even on plain http
    assert address_buckets(session) == {CLIENT: 1, "127.0.0.1": 1}
