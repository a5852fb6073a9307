"""Cookies, CSRF and response headers.

The session lives in a signed cookie (no server memory), so any app process can serve any
request. Every unsafe request carries a CSRF token tied to that session, in the form field
`csrf_token` or the `X-CSRF-Token` header; webhooks, which prove themselves by signature,
are the only exemption.
"""

from __future__ import annotations

import hmac
import secrets
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


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


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
    """Refuses unsafe requests without the session's token (403), before any handler runs."""

    def __init__(self, app: ASGIApp, *, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.exempt = tuple(exempt)

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
        if not expected or not given or not hmac.compare_digest(str(expected), given):
            response = PlainTextResponse(
                "This form has expired. Go back, reload the page and try again.", 403
            )
            await response(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


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
    return raw + [(k, v) for k, v in wanted.items() if k not in present]


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
