"""Cookies, CSRF and response headers.

The session lives in a signed cookie (no server memory), so any app process can serve any
request. Every unsafe request carries a CSRF token tied to that session, in the form field
`csrf_token` or the `X-CSRF-Token` header; webhooks, which prove themselves by signature,
are the only exemption.

A few forms sit on pages that any cache may keep (the buy form on the event page), so they
cannot carry a session's token: they carry an "open form" token instead, a signature of the
form's address and the hour it was made (`open_form_token`), valid for OPEN_FORM_HOURS, and
a post without the session's token is taken only if the browser says it came from this
site (`Sec-Fetch-Site`, `Origin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking import images

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# A form with the largest image we take, and room for its text fields.
MAX_FORM_BYTES = images.MAX_BYTES + 1024 * 1024
# The most of an over-large upload that is read (and trimmed) to answer beside the field.
MAX_UPLOAD_BYTES = 4 * MAX_FORM_BYTES
KEPT_TEXT = 1024 * 1024  # of any one text field in an over-large upload (forms cap far lower)
MAX_PARTS = 200


class _Trimmed:
    """An over-large multipart body rebuilt as it streams in: text fields whole, each file
    cut to one byte over the image limit. The page then says "too large" beside the field
    and keeps what was typed, instead of a bare "Request too large"."""

    def __init__(self, boundary: bytes) -> None:
        self.boundary = boundary
        self.out = bytearray()
        self.parts = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.field = b""
        self.value = b""
        self.is_file = False
        self.kept = 0
        self.broken = False
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._field,
                "on_header_value": self._value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    def feed(self, chunk: bytes) -> None:
        if self.broken:
            return
        try:
            self.parser.write(chunk)
        except Exception:  # noqa: BLE001 (any malformed body: the form parser reports it)
            self.broken = True

    def body(self) -> bytes:
        return bytes(self.out) + b"--" + self.boundary + b"--\r\n"

    def _begin(self) -> None:
        self.headers, self.field, self.value, self.kept = [], b"", b"", 0
        self.parts += 1

    def _field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header_end(self) -> None:
        self.headers.append((self.field, self.value))
        self.field, self.value = b"", b""

    def _headers_done(self) -> None:
        disposition = next((v for k, v in self.headers if k.lower() == b"content-disposition"), b"")
        self.is_file = b"filename=" in disposition
        if self.parts > MAX_PARTS:
            return
        self.out += b"--" + self.boundary + b"\r\n"
        for key, value in self.headers:
            self.out += key + b": " + value + b"\r\n"
        self.out += b"\r\n"

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.parts > MAX_PARTS:
            return
        limit = images.MAX_BYTES + 1 if self.is_file else KEPT_TEXT
        piece = data[start:end][: max(0, limit - self.kept)]
        self.kept += len(piece)
        self.out += piece

    def _end(self) -> None:
        if self.parts <= MAX_PARTS:
            self.out += b"\r\n"


OPEN_FORM_HOURS = 6
CROSS_SITE = (
    "This form was sent from another site, so it was refused and nothing was booked. "
    "Open the event page on this site and try again."
)
EXPIRED = "This form has expired. Go back, reload the page and try again."


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


class LazyToken:
    """`{{ csrf_token }}` for templates: the session (and its cookie) is only made when a
    page really renders a form, so a page without one sets no cookie."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def __str__(self) -> str:
        return csrf_token(self.request)

    def __html__(self) -> str:
        return str(self)

    def __bool__(self) -> bool:
        return True


def _sign(key: bytes, action: str, hour: int) -> str:
    mac = hmac.new(key, f"{action}\n{hour}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def open_form_token(key: bytes, action: str, *, now: float | None = None) -> str:
    """A token for a form that posts to the path `action`, needing no cookie."""
    hour = int((time.time() if now is None else now) // 3600)
    return f"{hour}.{_sign(key, action, hour)}"


def open_form_token_valid(key: bytes, action: str, token: str, *, now: float | None = None) -> bool:
    hour_text, _, mac = token.partition(".")
    if not hour_text.isascii() or not hour_text.isdigit() or len(hour_text) > 12:
        return False
    hour = int(hour_text)
    age = int((time.time() if now is None else now) // 3600) - hour
    return 0 <= age < OPEN_FORM_HOURS and hmac.compare_digest(_sign(key, action, hour), mac)


def cross_site(headers: Headers, scope: Scope, origins: Iterable[str]) -> bool:
    """Whether the browser says this request was sent by another site's page."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
    return origin.rstrip("/") not in {own, *origins}


def _form_token(body: bytes, content_type: str) -> str | None:
    ctype, options = parse_options_header(content_type)
    if ctype == b"application/x-www-form-urlencoded":
        values = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(CSRF_FIELD)
        return values[0] if values else None
    if ctype == b"multipart/form-data":
        boundary = options.get(b"boundary", b"")
        marker = f'name="{CSRF_FIELD}"'.encode()
        for part in body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            if marker in head:
                return value.rstrip(b"\r\n").decode("latin-1")
    return None


class CSRFMiddleware:
    """Refuses unsafe requests without the session's token (403), before any handler runs.

    Posts to a path `open_forms` matches may carry an open-form token signed with `form_key`
    instead, when they come from this site (`origins` lists its origins besides the one
    the request names)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        exempt: Iterable[str] = (),
        open_forms: re.Pattern[str] | None = None,
        form_key: bytes = b"",
        origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.exempt = tuple(exempt)
        self.open_forms = open_forms
        self.form_key = form_key
        self.origins = frozenset(o.rstrip("/") for o in origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        expected = scope.get("session", {}).get(CSRF_FIELD)
        given = headers.get(CSRF_HEADER)
        too_large = PlainTextResponse("Request too large", 413)
        ctype, options = parse_options_header(headers.get("content-type", ""))
        multipart = ctype == b"multipart/form-data" and bool(options.get(b"boundary"))
        # An upload over the limit is read through (trimmed, see _Trimmed) so that its page can
        # say so beside the field; anything else, or any body past the hard cap, is refused
        # before a byte of it is read.
        cap = MAX_UPLOAD_BYTES if multipart else MAX_FORM_BYTES
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            await too_large(scope, receive, send)
            return
        buffer = bytearray()
        received = 0
        more = True
        trimmed: _Trimmed | None = None
        while more:
            message = await receive()
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            received += len(chunk)
            if received > cap:
                await too_large(scope, receive, send)
                return
            if trimmed is not None:
                trimmed.feed(chunk)
                continue
            buffer += chunk
            if len(buffer) > MAX_FORM_BYTES:
                if not multipart:
                    await too_large(scope, receive, send)
                    return
                trimmed = _Trimmed(options[b"boundary"])
                trimmed.feed(bytes(buffer))
                buffer.clear()
        body = bytes(buffer)
        if trimmed is not None:
            body = trimmed.body()
            scope = {
                **scope,
                "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
                + [(b"content-length", str(len(body)).encode())],
            }
        if given is None:
            given = _form_token(body, headers.get("content-type", ""))
        refusal = self._refusal(scope, headers, expected, given)
        if refusal:
            await PlainTextResponse(refusal, 403)(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _refusal(
        self, scope: Scope, headers: Headers, expected: object, given: str | None
    ) -> str | None:
        """Why the request is refused, or None when it may go on."""
        if expected and given and hmac.compare_digest(str(expected), given):
            return None
        path = scope["path"]
        if self.open_forms is None or not self.open_forms.fullmatch(path):
            return EXPIRED
        if cross_site(headers, scope, self.origins):
            return CROSS_SITE
        if given and open_form_token_valid(self.form_key, path, given):
            return None
        return EXPIRED


def default_headers(*, hsts: bool, payment_origin: str) -> dict[bytes, bytes]:
    """The headers every response gets unless it sets its own (the 500 page included)."""
    # Forms post to this site, which redirects to Stripe's page: form-action covers both.
    csp = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"frame-ancestors 'none'; form-action 'self' {payment_origin}; base-uri 'none'"
    )
    headers = {
        b"x-content-type-options": b"nosniff",
        b"referrer-policy": b"strict-origin-when-cross-origin",
        b"x-frame-options": b"DENY",
        b"content-security-policy": csp.encode(),
    }
    if hsts:
        headers[b"strict-transport-security"] = b"max-age=31536000"
    return headers


def with_defaults(
    raw: list[tuple[bytes, bytes]], defaults: dict[bytes, bytes]
) -> list[tuple[bytes, bytes]]:
    """`raw` response headers with the defaults it lacks added.

    A page that sets its own policy sets its own framing rules (the ticket box); a response
    a shared cache may keep (`Cache-Control: public`) never carries a cookie, which the cache
    would otherwise hand to every reader.
    """
    present = {k.lower() for k, _ in raw}
    wanted = dict(defaults)
    if b"content-security-policy" in present:
        wanted.pop(b"x-frame-options", None)
    cache = b",".join(v.lower() for k, v in raw if k.lower() == b"cache-control")
    if b"public" in cache:
        raw = [(k, v) for k, v in raw if k.lower() != b"set-cookie"]
        raw = [(k, _without_cookie(v) if k.lower() == b"vary" else v) for k, v in raw]
        raw = [(k, v) for k, v in raw if k.lower() != b"vary" or v]
    return raw + [(k, v) for k, v in wanted.items() if k not in present]


def _without_cookie(vary: bytes) -> bytes:
    """A shared copy is the same for everyone: it does not vary on the cookie."""
    names = [n.strip() for n in vary.split(b",")]
    return b", ".join(n for n in names if n and n.lower() != b"cookie")


class SecurityHeadersMiddleware:
    """Sets conservative headers on every response; pages that may be framed say so themselves."""

    def __init__(self, app: ASGIApp, *, hsts: bool, payment_origin: str) -> None:
        self.app = app
        self.defaults = default_headers(hsts=hsts, payment_origin=payment_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_defaults(list(message.get("headers", [])), self.defaults)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target only if it is a path on this site (no scheme, host or `//`)."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target
