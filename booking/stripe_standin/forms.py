"""Decode Stripe's form encoding: ``a[b][c]=v``, ``items[0][x]=v``, ``expand[]=v``."""

import re
from typing import Any
from urllib.parse import parse_qsl

from .errors import ApiError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_form(raw: str | bytes) -> dict[str, Any]:
    """Parse a urlencoded body or query string into nested dicts and lists."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return parse_pairs(parse_qsl(raw, keep_blank_values=True))


def parse_pairs(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise ApiError(400, f"Invalid parameter name: {key}", code="parameter_unknown")
        parts = [match.group(1), *_PART.findall(match.group(2))]
        node = root
        for part in parts[:-1]:
            part = _index(node, part)
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[_index(node, parts[-1])] = value
    form: dict[str, Any] = _listify(root)
    return form


def _index(node: dict[str, Any], part: str) -> str:
    """``[]`` appends: give it the next free numeric key."""
    if part != "":
        return part
    return str(sum(1 for k in node if k.isdigit()))


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {k: _listify(v) for k, v in value.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
