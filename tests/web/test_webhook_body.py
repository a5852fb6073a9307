"""POST /stripe/webhook reads its body with a hard cap, before any signature check, and a
form post that declares more than any form can hold is refused before it is read.

These call the ASGI app directly, counting what it pulls from the connection: the test
client would read the whole body itself before the app saw it.
"""

from __future__ import annotations

import asyncio
import json

from booking.web.security import MAX_FORM_BYTES
from booking.web.webhooks import MAX_BODY

CHUNK = 64 * 1024


def post_stream(  # type: ignore[no-untyped-def]
    app, *, chunks: int, content_length: int | None, path: str = "/stripe/webhook"
) -> tuple[int, bytes, int]:
    """POST `chunks` chunks of CHUNK bytes; returns (status, answer, chunks pulled)."""
    pulled = 0
    sent: list[dict] = []
    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict:
        nonlocal pulled
        if pulled >= chunks:
            await asyncio.sleep(3600)  # the client has nothing more to say
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": pulled < chunks}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, pulled


def test_a_declared_oversized_body_is_refused_before_reading_any_of_it(app):
    status, body, pulled = post_stream(app, chunks=400, content_length=400 * CHUNK)
    answer = json.loads(body)
    assert status == 413
    assert answer["error"] == "payload too large" and "KiB" in answer["reason"]
    assert pulled == 0


def test_an_undeclared_oversized_body_is_given_up_on_at_the_cap(app):
    # 25 MB sent without a length (chunked): the app stops just past its 512 KiB cap.
    status, body, pulled = post_stream(app, chunks=400, content_length=None)
    assert status == 413 and json.loads(body)["reason"]
    assert pulled * CHUNK <= MAX_BODY + CHUNK


def test_bodies_up_to_the_cap_reach_the_signature_check(client):
    headers = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"}
    at_cap = client.post("/stripe/webhook", content=b" " * MAX_BODY, headers=headers)
    assert at_cap.status_code == 400 and at_cap.json()["error"] == "invalid signature"
    over = client.post("/stripe/webhook", content=b" " * (MAX_BODY + 1), headers=headers)
    assert over.status_code == 413


def test_a_form_post_declaring_more_than_any_form_is_refused_unread(app):
    declared = MAX_FORM_BYTES + 1
    status, body, pulled = post_stream(app, chunks=400, content_length=declared, path="/sign-in")
    assert status == 413 and body == b"Request too large"
    assert pulled == 0
