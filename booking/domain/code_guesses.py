"""Access codes typed by readers (`?code=` or the buy form), with wrong guesses limited.

Each address may get WRONG_PER_ADDRESS codes wrong per WINDOW; then every code it tries,
right or wrong, is refused until the window ends, so a list of guesses cannot be worked
through. A guess takes its slot before the code is looked up (booking.ratelimit.take) and
a right code gives it back, so a burst of parallel guesses gets no more through than the
limit, and readers sharing an address who type the right code are never counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from booking import ratelimit
from booking.domain import access_codes
from booking.models import AccessCode

WRONG_PER_ADDRESS = 20
WINDOW = timedelta(minutes=15)
TOO_MANY = "Too many codes tried that did not work. Wait 15 minutes and try again"


def check(session: Session, *, event_id: int, code: str, address: str, now: datetime) -> AccessCode:
    """The active code, as access_codes.find. Raises InvalidInput for a code that does not
    work, RateLimited when this address has had too many wrong."""
    key = f"code-guess:{address}"
    with session.begin():
        allowed = ratelimit.take(session, key=key, limit=WRONG_PER_ADDRESS, window=WINDOW, now=now)
    if not allowed:
        raise ratelimit.RateLimited(TOO_MANY, field="code")
    with session.begin():
        found = access_codes.find(session, event_id=event_id, code=code, now=now)
        ratelimit.give_back(session, key=key)
    return found
