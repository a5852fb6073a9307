"""Guessing in parallel gets no more tries than guessing in turn: bursts of sign-ins and of
access codes against two app processes on one database."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import httpx
import pytest
from sqlmodel import select

from booking.domain import access_codes, login
from booking.domain.code_guesses import WRONG_PER_ADDRESS
from booking.models import LoginSession, RateBucket
from tests.conftest import PASSWORD
from tests.factories import make_event, make_ticket_type

pytestmark = pytest.mark.slow
WRONG = "wrong password here"


def _token(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


async def _sign_in_burst(urls: list[str], forms: list[dict[str, str]]) -> list[int]:
    """Every form posted at once, spread over the processes, one session per attempt."""

    ready = asyncio.Event()
    waiting = len(forms)

    async def attempt(i: int, form: dict[str, str]) -> int:
        nonlocal waiting
        async with httpx.AsyncClient(base_url=urls[i % len(urls)], timeout=120) as client:
            token = _token(await client.get("/sign-in"))
            waiting -= 1
            if not waiting:
                ready.set()
            await ready.wait()  # all posts leave together
            r = await client.post("/sign-in", data={"csrf_token": token, **form})
            return r.status_code

    return list(await asyncio.gather(*(attempt(i, f) for i, f in enumerate(forms))))


def test_30_wrong_passwords_at_once_get_5_checks_and_the_right_one_no_way_in(
    app_processes, organiser, session
):
    group = app_processes(2)
    forms = [{"email": organiser.email, "password": WRONG} for _ in range(30)]
    forms.insert(17, {"email": organiser.email, "password": PASSWORD})
    statuses = asyncio.run(_sign_in_burst(group.urls, forms))
    outcomes = Counter(statuses)
    # At most the limit of wrong passwords got as far as a check. The right one may have got
    # in ahead of the block; its slot was then given back (only failures stay counted), and
    # a wrong one still arriving may have taken it.
    assert outcomes[400] <= login.FAILURES_PER_PAIR, outcomes
    assert outcomes[303] <= 1 and outcomes[303] == (statuses[17] == 303), outcomes
    assert outcomes[429] >= len(forms) - login.FAILURES_PER_PAIR - outcomes[303], outcomes
    assert set(outcomes) <= {303, 400, 429}, outcomes
    signed_in = len(session.exec(select(LoginSession)).all())
    assert signed_in == outcomes[303]
    # Blocked now, from this address, even for the right password.
    after = asyncio.run(
        _sign_in_burst(group.urls[:1], [{"email": organiser.email, "password": PASSWORD}])
    )
    assert after == [429]


def test_40_wrong_sign_ins_at_once_from_one_address_get_20_checks(app_processes, session):
    group = app_processes(2)
    forms = [{"email": f"someone{n}@example.com", "password": WRONG} for n in range(40)]
    outcomes = Counter(asyncio.run(_sign_in_burst(group.urls, forms)))
    assert outcomes == Counter(
        {400: login.FAILURES_PER_ADDRESS, 429: 40 - login.FAILURES_PER_ADDRESS}
    ), outcomes
    bucket = session.get(RateBucket, "login:address:127.0.0.1")
    assert bucket is not None and bucket.count == login.FAILURES_PER_ADDRESS


async def _code_burst(urls: list[str], slug: str, codes: list[str]) -> list[int]:
    limits = httpx.Limits(max_connections=len(codes))
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        return [
            r.status_code
            for r in await asyncio.gather(
                *(
                    client.get(f"{urls[i % len(urls)]}/events/{slug}", params={"code": code})
                    for i, code in enumerate(codes)
                )
            )
        ]


def test_60_wrong_access_codes_at_once_get_20_answers(app_processes, db, session):
    event = make_event(session, capacity=50)
    hidden = make_ticket_type(session, event, name="Backstage pass", price=700, visible=False)
    with db.write_session() as s:
        access_codes.create(s, event_id=event.id, code="MEMBERS", unlocks_ticket_type_id=hidden.id)
    group = app_processes(2)
    codes = [f"GUESS{n:03d}" for n in range(60)]
    outcomes = Counter(asyncio.run(_code_burst(group.urls, event.slug, codes)))
    assert outcomes == Counter({400: WRONG_PER_ADDRESS, 429: 60 - WRONG_PER_ADDRESS}), outcomes
