"""What the organisers' pages share: the signed-in user, form values, one-off notices,
path numbers, uploads and the activity list in words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from booking import images
from booking.models import AuditEntry, User
from booking.templating import LocalTime
from booking.web.auth import current_user
from booking.web.services import render, services

FLASH = "admin_flash"
MAX_FIELD = 50_000  # characters kept of any one text field (longer input is refused anyway)


async def actor(request: Request) -> User:
    """The signed-in organiser (the /admin guard has let them in)."""
    user = await current_user(request)
    assert user is not None
    return user


def path_id(request: Request, name: str) -> int:
    """A numeric path parameter, or 404 for one too large for the database."""
    value = request.path_params[name]
    if not isinstance(value, int) or value > 2**31 - 1:
        raise HTTPException(404)
    return value


def values_of(form: FormData) -> dict[str, str]:
    """Text fields as a plain dict (first value of each), each cut to MAX_FIELD characters."""
    return {
        key: value[: MAX_FIELD + 1]
        for key, value in form.multi_items()
        if isinstance(value, str) and key != "csrf_token"
    }


async def upload(form: FormData, name: str) -> bytes | None:
    """The bytes of an uploaded file field (at most one byte over the limit), or None."""
    item = form.get(name)
    if not isinstance(item, UploadFile) or not item.filename:
        return None
    return await item.read(images.MAX_BYTES + 1)


def flash(request: Request, message: str) -> None:
    """A notice for the next page this organiser sees (kept in the signed session)."""
    request.session[FLASH] = message[:300]


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> Response:
    """render() for the back office: takes the pending notice out of the session."""
    message = request.session.pop(FLASH, None)
    return render(request, template, {"flash": message, **(context or {})}, status_code=status)


def redirect(request: Request, name: str, **params: Any) -> Response:
    """303 See Other to a named route (after a successful POST)."""
    return RedirectResponse(request.url_for(name, **params).path, 303)


def describe(request: Request, entry: AuditEntry) -> str:
    """An audit entry in words: "Standard. Price: £10.00 → £12.00, Capacity: 50 → 80"."""
    clock = LocalTime(services(request).settings.tz)
    data = dict(entry.data or {})
    name = data.pop("name", None)
    parts = []
    for key, value in data.items():
        label = key.replace("_", " ").capitalize()
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            before, after = _show(clock, key, value["before"]), _show(clock, key, value["after"])
            parts.append(f"{label}: {before} → {after}")
        else:
            parts.append(f"{label}: {_show(clock, key, value)}")
    text = ", ".join(parts)
    return f"{name}. {text}" if name and text else str(name or text)


def _show(clock: LocalTime, key: str, value: object) -> str:
    if value is None or value == "":
        return "none"
    if key in ("price", "to_refund", "amount_refunded") and isinstance(value, int):
        return f"£{value // 100:,}.{value % 100:02d}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and key.endswith(("_at", "_start", "_end")):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"{clock.short_date(when)} {clock.time(when)}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
