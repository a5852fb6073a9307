"""Fingerprinted names for the files under static/: `css/site.css` is linked as
`css/site.<hash>.css`, so a changed file has a new address and every address can be cached
for a year."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from booking.settings import resource_dir

STATIC_DIR = resource_dir("static")
DIGEST_CHARS = 10
PINNED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")


@lru_cache(maxsize=512)
def digest(path: str) -> str | None:
    """The file's content digest, or None when there is no such file under static/."""
    relative = path.lstrip("/")
    target = (STATIC_DIR / relative).resolve()
    if STATIC_DIR.resolve() not in target.parents or not target.is_file():
        return None
    return hashlib.sha256(target.read_bytes()).hexdigest()[:DIGEST_CHARS]


def fingerprinted(path: str) -> str:
    """`/css/site.css` -> `/css/site.<digest>.css` (unchanged if there is no such file)."""
    found = digest(path)
    if found is None:
        return path
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        return path
    return f"{stem}.{found}.{ext}"


def resolve(path: str) -> tuple[str, bool]:
    """The file a requested path names, and whether the request named its current digest.

    An out-of-date digest (a page from before a release) gets today's file, not pinned."""
    match = PINNED.match(path)
    if match is None:
        return path, False
    plain = match["stem"] + match["ext"]
    if digest(plain) is None:
        return path, False
    return plain, digest(plain) == match["digest"]
