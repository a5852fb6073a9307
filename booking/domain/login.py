"""Throttling password checks at sign-in, so guessing is slow and an owner is not locked out.

Every attempt takes a slot before its password is checked, in one conditional update per
bucket (booking.ratelimit.take), so however many attempts arrive at once, in however many
processes, no more than the limit are checked; an attempt with the right password gives its
slots back, so only failures stay counted. The buckets (15-minute windows):

- account and address together: 5 failures. Guessing one account from one address stops
  there, even for the right password, while the owner elsewhere is not affected.
- address: 20 failures across all accounts, against one address trying many accounts.
- account, from anywhere: after 10 failures in an hour (guesses spread over many
  addresses), each address gets one attempt per window on that account instead of five.
  An address that has not been failing can still sign in with the right password: an
  attacker who knows an organiser's email cannot lock them out (ASVS 2.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from booking import ratelimit

WINDOW = timedelta(minutes=15)
FAILURES_PER_PAIR = 5
FAILURES_PER_ADDRESS = 20
ACCOUNT_ALARM = 10
ACCOUNT_WINDOW = timedelta(hours=1)
PAIR_LIMIT_UNDER_ATTACK = 1


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: the (normalised) email it names and the address it came from."""

    email: str
    address: str

    @property
    def pair_key(self) -> str:
        return f"login:pair:{self.address}:{self.email}"

    @property
    def address_key(self) -> str:
        return f"login:address:{self.address}"

    @property
    def account_key(self) -> str:
        return f"login:account:{self.email}"


class _Refused(Exception):
    pass


def admit(session: Session, *, attempt: Attempt, now: datetime) -> bool:
    """Take the slots for one password check and commit; False (nothing taken) when this
    address may not try this account now."""
    try:
        with session.begin():
            attacked = ratelimit.exceeded(
                session,
                key=attempt.account_key,
                limit=ACCOUNT_ALARM,
                window=ACCOUNT_WINDOW,
                now=now,
            )
            buckets = [
                (attempt.address_key, FAILURES_PER_ADDRESS),
                (attempt.pair_key, PAIR_LIMIT_UNDER_ATTACK if attacked else FAILURES_PER_PAIR),
            ]
            for key, limit in buckets:  # always in this order: no lock cycles
                if not ratelimit.take(session, key=key, limit=limit, window=WINDOW, now=now):
                    raise _Refused
    except _Refused:
        return False
    return True


def settle(session: Session, *, attempt: Attempt, succeeded: bool, now: datetime) -> None:
    """After the check: the right password gives its slots back; a wrong one stays counted
    and counts against the account from anywhere too."""
    with session.begin():
        if succeeded:
            ratelimit.give_back(session, key=attempt.pair_key)
            ratelimit.give_back(session, key=attempt.address_key)
        else:
            ratelimit.hit_in(
                session,
                key=attempt.account_key,
                limit=ACCOUNT_ALARM,
                window=ACCOUNT_WINDOW,
                now=now,
            )
