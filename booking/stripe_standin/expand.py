"""``expand[]`` support: swap ids for the objects they name."""

import copy
from collections.abc import Callable
from typing import Any

from .errors import ApiError

Resolver = Callable[[str], dict[str, Any] | None]
Includer = Callable[[dict[str, Any], str], dict[str, Any] | None]


def expand(
    obj: dict[str, Any], paths: list[str], resolve: Resolver, include: Includer
) -> dict[str, Any]:
    """Return a deep copy of ``obj`` with each dotted path in ``paths`` expanded."""
    out = copy.deepcopy(obj)
    for path in paths:
        _apply(out, path.split("."), resolve, include, path)
    return out


def _apply(
    node: dict[str, Any], parts: list[str], resolve: Resolver, include: Includer, path: str
) -> None:
    head, rest = parts[0], parts[1:]
    if node.get("object") == "list" and head == "data":
        if rest:
            for item in node["data"]:
                _apply(item, rest, resolve, include, path)
        return
    if head not in node:
        included = include(node, head)
        if included is None:
            raise _cannot(path)
        node[head] = included
    else:
        value = node[head]
        if value is None:
            return
        if isinstance(value, str):
            target = resolve(value)
            if target is None:
                raise _cannot(path)
            node[head] = copy.deepcopy(target)
        elif not isinstance(value, dict):
            raise _cannot(path)
    if rest:
        _apply(node[head], rest, resolve, include, path)


def _cannot(path: str) -> ApiError:
    return ApiError(
        400,
        f"This property cannot be expanded ({path}).",
        code="parameter_invalid_string",
        param="expand",
    )
