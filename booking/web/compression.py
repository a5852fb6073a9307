"""Compressed responses: Brotli or gzip (starlette-compress) for HTML, JSON, CSS, JS and
calendar files of MIN_SIZE bytes or more; never for the Stripe webhook.

Cached public pages arrive compressed already (booking.web.pagecache) with an ETag for each
encoding; any other response compressed here keeps its ETag as a weak one, since its bytes
are no longer the ones that ETag named.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_compress import CompressMiddleware

MIN_SIZE = 500
UNCOMPRESSED = ("/stripe/webhook",)


class Compression:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.compress = CompressMiddleware(self._inner, minimum_size=MIN_SIZE, zstd=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNCOMPRESSED):
            await self.app(scope, receive, send)
            return

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _settled(list(message.get("headers", [])), scope)
            await send(message)

        await self.compress(scope, receive, sender)

    async def _inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                scope["booking.encoded"] = any(k.lower() == b"content-encoding" for k, _ in headers)
            await send(message)

        await self.app(scope, receive, sender)


def _settled(headers: list[tuple[bytes, bytes]], scope: Scope) -> list[tuple[bytes, bytes]]:
    """One `Vary` without repeats, and a weak ETag on what was compressed here."""
    compressed = not scope.get("booking.encoded") and any(
        k.lower() == b"content-encoding" for k, _ in headers
    )
    out: list[tuple[bytes, bytes]] = []
    vary: list[bytes] = []
    for key, value in headers:
        name = key.lower()
        if name == b"vary":
            vary += [v.strip() for v in value.split(b",") if v.strip()]
            continue
        if name == b"etag" and compressed and not value.startswith(b"W/"):
            value = b"W/" + value
        out.append((key, value))
    if vary:
        unique = list(dict.fromkeys(v.title() for v in vary))
        out.append((b"vary", b", ".join(unique)))
    return out
