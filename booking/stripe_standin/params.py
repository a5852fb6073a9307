"""Typed reads of decoded form parameters, failing the way Stripe does."""

import re
from collections.abc import Iterable
from typing import Any

from .errors import ApiError, invalid, missing, unknown

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def reject_unknown(params: dict[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    allowed = set(allowed)
    for key in params:
        if key not in allowed:
            raise unknown(f"{prefix}[{key}]" if prefix else key)


def as_str(params: dict[str, Any], key: str, param: str, *, required: bool = False) -> str | None:
    value = params.get(key)
    if value is None:
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str):
        raise invalid(param, f"Invalid string: {_show(value)}")
    if required and value == "":
        raise missing(param)
    return value


def as_int(
    params: dict[str, Any], key: str, param: str, *, required: bool = False, minimum: int = 0
) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        if required:
            raise missing(param)
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(param, f"Invalid integer: {_show(value)}", "parameter_invalid_integer")
    number = int(value)
    if number < minimum:
        raise invalid(
            param,
            f"This value must be greater than or equal to {minimum}.",
            "parameter_invalid_integer",
        )
    return number


def as_bool(params: dict[str, Any], key: str, param: str) -> bool | None:
    value = params.get(key)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(param, f"Invalid boolean: {_show(value)}")
    return bool(value == "true")


def as_enum(params: dict[str, Any], key: str, param: str, choices: Iterable[str]) -> str | None:
    value = as_str(params, key, param)
    choices = list(choices)
    if value is not None and value not in choices:
        options = ", ".join(f"`{c}`" for c in choices)
        raise invalid(param, f"Invalid {param}: must be one of {options}")
    return value


def as_email(params: dict[str, Any], key: str, param: str) -> str | None:
    value = as_str(params, key, param)
    if value is not None and not _EMAIL.match(value):
        raise ApiError(400, f"Invalid email address: {value}", code="email_invalid", param=param)
    return value


def as_url(params: dict[str, Any], key: str, param: str, *, required: bool = False) -> str | None:
    value = as_str(params, key, param, required=required)
    if value is not None and not _URL.match(value):
        raise ApiError(400, "Not a valid URL", code="url_invalid", param=param)
    return value


def as_metadata(
    params: dict[str, Any], key: str = "metadata", param: str = "metadata"
) -> dict[str, Any]:
    """Stripe's metadata rules: 50 keys, keys up to 40 chars, values up to 500."""
    value = params.get(key)
    if value is None or value == "":
        return {}
    if isinstance(value, list):
        value = {str(i): v for i, v in enumerate(value)}
    if not isinstance(value, dict):
        raise invalid(param, "Invalid hash")
    if len(value) > 50:
        raise invalid(param, "Metadata can have up to 50 keys.", "parameter_invalid_string")
    out: dict[str, str] = {}
    for k, v in value.items():
        if len(k) > 40:
            raise invalid(f"{param}[{k}]", "Metadata keys can be up to 40 characters long.")
        if not isinstance(v, str):
            raise invalid(f"{param}[{k}]", f"Invalid string: {_show(v)}")
        if len(v) > 500:
            raise invalid(f"{param}[{k}]", "Metadata values can be up to 500 characters long.")
        out[k] = v
    return out


def as_expand(params: dict[str, Any]) -> list[str]:
    value = params.get("expand")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("expand", "Invalid array")
    return value


def as_list(params: dict[str, Any], key: str, param: str) -> list[Any] | None:
    value = params.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid(param, "Invalid array")
    return value


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    return str(value)
