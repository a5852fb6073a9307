"""Sign-in throttling per account and address, and wrong access codes per address; the
bursts across processes are in tests/concurrency/test_guess_bursts.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.testclient import TestClient

from booking.domain import access_codes, login
from booking.domain.code_guesses import WRONG_PER_ADDRESS
from tests.conftest import PASSWORD, sign_in
from tests.factories import make_event, make_ticket_type

WRONG = "wrong password here"


@contextmanager
def from_address(app, address: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, follow_redirects=False, client=(address, 40000)) as c:
        yield c


def test_a_blocked_address_does_not_lock_the_owner_out_elsewhere(app, organiser):
    with from_address(app, "203.0.113.9") as attacker:
        for _ in range(login.FAILURES_PER_PAIR):
            assert sign_in(attacker, organiser, password=WRONG).status_code == 400
        assert sign_in(attacker, organiser, password=WRONG).status_code == 429
        # From the failing address even the right password waits out the window.
        assert sign_in(attacker, organiser).status_code == 429
    with from_address(app, "198.51.100.7") as owner:
        response = sign_in(owner, organiser, password=PASSWORD)
        assert response.status_code == 303 and response.headers["location"] == "/admin"


def test_guesses_from_many_addresses_leave_each_one_try_and_the_owner_in(app, organiser):
    for n in range(login.ACCOUNT_ALARM):
        with from_address(app, f"203.0.113.{n + 1}") as bot:
            assert sign_in(bot, organiser, password=WRONG).status_code == 400
    # The account is under attack: an address that has failed on it gets no second try …
    with from_address(app, "203.0.113.1") as bot:
        assert sign_in(bot, organiser, password=WRONG).status_code == 429
    # … a new one gets one …
    with from_address(app, "203.0.113.200") as bot:
        assert sign_in(bot, organiser, password=WRONG).status_code == 400
        assert sign_in(bot, organiser, password=WRONG).status_code == 429
    # … and the owner, from an address that has not been failing, signs in.
    with from_address(app, "198.51.100.7") as owner:
        assert sign_in(owner, organiser).status_code == 303


def test_signing_in_right_does_not_use_up_attempts(app, organiser):
    with from_address(app, "198.51.100.7") as owner:
        for _ in range(login.FAILURES_PER_PAIR + 3):
            assert sign_in(owner, organiser).status_code == 303
        assert sign_in(owner, organiser, password=WRONG).status_code == 400


def test_one_address_trying_many_accounts_is_stopped(app, organiser):
    with from_address(app, "203.0.113.9") as attacker:
        from tests.helpers import csrf_from

        token = csrf_from(attacker, "/sign-in")
        codes = [
            attacker.post(
                "/sign-in",
                data={"csrf_token": token, "email": f"user{n}@example.com", "password": WRONG},
            ).status_code
            for n in range(login.FAILURES_PER_ADDRESS + 2)
        ]
        assert codes == [400] * login.FAILURES_PER_ADDRESS + [429, 429]
        assert sign_in(attacker, organiser).status_code == 429
    with from_address(app, "198.51.100.7") as owner:
        assert sign_in(owner, organiser).status_code == 303


def _coded_event(db, session):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=50)
    hidden = make_ticket_type(session, event, name="Backstage pass", price=700, visible=False)
    with db.write_session() as s:
        access_codes.create(s, event_id=event.id, code="MEMBERS", unlocks_ticket_type_id=hidden.id)
    return event


def test_wrong_access_codes_are_limited_per_address(app, db, session):
    event = _coded_event(db, session)
    with from_address(app, "203.0.113.9") as guesser:
        statuses = [
            guesser.get(f"/events/{event.slug}?code=GUESS{n:03d}").status_code
            for n in range(WRONG_PER_ADDRESS + 5)
        ]
        assert statuses == [400] * WRONG_PER_ADDRESS + [429] * 5
        blocked = guesser.get(f"/events/{event.slug}?code=MEMBERS")
        assert blocked.status_code == 429 and "Too many codes tried" in blocked.text
        assert "Backstage pass" not in blocked.text
    with from_address(app, "198.51.100.7") as reader:
        for _ in range(WRONG_PER_ADDRESS + 5):  # the right code is never counted
            page = reader.get(f"/events/{event.slug}?code=MEMBERS")
            assert page.status_code == 200 and "Backstage pass" in page.text
        assert reader.get(f"/events/{event.slug}?code=NOPE").status_code == 400
