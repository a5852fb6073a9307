"""What a request may carry, checked once at the way in rather than in every handler.

- `{name:id}` in a route path matches only a number the database's integer column can hold
  (1 to 2,147,483,647 and 0), so a larger or odd id is a plain 404 before any handler runs.
- `RefuseNul` answers 400 to a NUL character in the query string or a form field (file
  contents excepted), and 404 to one in the path: PostgreSQL cannot store one in text, and no
  person types one.
- `read_json` parses a JSON body with a size and nesting cap, refusing NaN and Infinity,
  NUL characters and half a surrogate pair (which no database can store).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_plus

from python_multipart.multipart import parse_options_header
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking.web.security import MAX_FORM_BYTES

MAX_ID = 2**31 - 1  # PostgreSQL's integer, which every table's id is
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
JSON_PATHS = ("/api/", "/stripe/", "/healthz")  # answered in JSON, refusals too
FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
NUL_MESSAGE = "The request cannot contain a NUL character (U+0000). Remove it and try again."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_id(value: object) -> bool:
    """Whether `value` is an int (not a bool) that fits a database id column."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


def _id_pattern(limit: int) -> str:
    """A regular expression for the decimal numbers 0..`limit`, without leading zeros."""
    digits = str(limit)
    options = ["0", f"[1-9][0-9]{{0,{len(digits) - 2}}}"]
    for i, digit in enumerate(digits):
        rest = len(digits) - i - 1
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    options.append(digits)
    return "|".join(options)


class DatabaseId(Convertor[int]):
    """A path segment that is a row id: digits, and no larger than the id column holds."""

    regex = f"(?:{_id_pattern(MAX_ID)})"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not is_id(value):
            raise ValueError(f"{value!r} is not a database id")
        return str(value)


register_url_convertor("id", DatabaseId())


# NUL characters -------------------------------------------------------------------------------


class RefuseNul:
    """400 for a NUL character in the path, the query string or any form text field.

    Form bodies are parsed here with the same parser the handlers use, so what is checked is
    exactly what they would read; the body is then handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:  # no page has such an address
            await _refuse(scope, receive, send, status=404)
            return
        if "\x00" in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
            await _refuse(scope, receive, send)
            return
        ctype, _ = parse_options_header(Headers(scope=scope).get("content-type", ""))
        if ctype not in FORM_TYPES:
            await self.app(scope, receive, send)
            return
        buffer = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            buffer += message.get("body", b"")
            more = message.get("more_body", False)
            if len(buffer) > MAX_FORM_BYTES:  # as the CSRF check, for the paths it exempts
                await PlainTextResponse("Request too large", 413)(scope, receive, send)
                return
        body = bytes(buffer)
        if await _form_has_nul(scope, _replay(body, receive)):
            await _refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_has_nul(scope: Scope, receive: Receive) -> bool:
    request = Request(scope, receive)
    try:
        form = await request.form()
    except HTTPException:
        return False  # a malformed form: the handler's own parse answers 400 with the reason
    try:
        return any(
            "\x00" in key
            or (isinstance(value, str) and "\x00" in value)
            or (isinstance(value, UploadFile) and "\x00" in (value.filename or ""))
            for key, value in form.multi_items()
        )
    finally:
        await form.close()


async def _refuse(scope: Scope, receive: Receive, send: Send, *, status: int = 400) -> None:
    from booking.web.services import render

    request = Request(scope, receive)
    response: Response
    if scope["path"].startswith(JSON_PATHS):
        code = "invalid" if status == 400 else "Not Found"
        response = JSONResponse({"error": code, "message": NUL_MESSAGE}, status)
    elif status == 404:
        response = render(request, "errors/404.html", {"status": 404}, status_code=404)
    else:
        context = {"status": status, "detail": NUL_MESSAGE}
        response = render(request, "errors/error.html", context, status_code=status)
    await response(scope, receive, send)


# JSON bodies ---------------------------------------------------------------------------------


class Refused(ValueError):
    """A request body that is not what the API accepts; the message says why."""


def _no_constant(name: str) -> Any:
    raise Refused(f"JSON numbers must be finite, not {name}")


async def read_json(request: Request) -> Any:
    """The request's JSON body, or Refused: too large, not JSON, nested more than
    MAX_JSON_DEPTH deep, or holding text no database can store."""
    body = await request.body()
    if len(body) > MAX_JSON_BYTES:
        raise Refused(f"Send at most {MAX_JSON_BYTES // 1024} kB of JSON")
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise Refused(_too_deep()) from None
    except Refused:
        raise
    except ValueError:  # not JSON, not UTF-8, or a number with too many digits
        raise Refused("Send a JSON object") from None
    _check(value)
    return value


def _too_deep() -> str:
    return f"JSON can be nested at most {MAX_JSON_DEPTH} deep"


def _check(value: Any) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise Refused(_too_deep())
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise Refused("JSON text cannot contain NUL or unpaired surrogate characters")
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
