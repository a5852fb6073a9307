"""The whole order life, by machine: random sequences of everything that can happen to
orders (tests/model/machine.py), with every invariant checked after every step, on the
database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL).

Budget: ORDER_LIFE_EXAMPLES and ORDER_LIFE_STEPS (small by default, large under
`make soak`); ORDER_LIFE_SEED replays a run. The seed is printed, so a failure names it.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator

import pytest
import stripe._http_client
from hypothesis import HealthCheck, Phase, seed
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import get_state_machine_test, rule
from starlette.testclient import TestClient

from booking.app import create_app
from booking.domain import orders
from booking.payments import Payments
from tests.model import checks, machine
from tests.model.world import World

EXAMPLES = int(os.environ.get("ORDER_LIFE_EXAMPLES", "30"))
STEPS = int(os.environ.get("ORDER_LIFE_STEPS", "25"))


@pytest.fixture
def world(db, settings, standin, clock, monkeypatch) -> Iterator[World]:  # type: ignore[no-untyped-def]
    # The library retries a failed Stripe call once, at once rather than after its back-off.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "_sleep_time_seconds", lambda s, n: 0.0)
    app = create_app(settings, db=db, clock=clock)
    app.state.services.extras["payments"] = Payments(
        secret_key="sk_test_standin",  # noqa: S106
        webhook_secret=settings.webhook_secret,
        api_base=f"http://127.0.0.1:{settings.stripe_standin_port}",
        timeout=0.5,  # a "timeout" fault hangs for 2 s
        max_network_retries=1,
    )
    with TestClient(app, follow_redirects=False) as client:
        yield World(db, client, app.state.services, standin, clock)


def run(world: World, *, examples: int, steps: int, seed_value: int) -> None:
    test = get_state_machine_test(
        lambda: machine.OrderLife(world),
        settings=hsettings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    seed(seed_value)(test)()


def test_every_order_keeps_its_promises(world: World) -> None:
    seed_value = int(os.environ.get("ORDER_LIFE_SEED") or secrets.randbelow(2**32))
    print(
        f"\norder-life seed {seed_value} "
        f"(replay: make soak SEED={seed_value} EXAMPLES={EXAMPLES} STEPS={STEPS})"
    )
    machine.FIGURES.clear()
    started = time.monotonic()
    try:
        run(world, examples=EXAMPLES, steps=STEPS, seed_value=seed_value)
    finally:
        figures = machine.FIGURES
        print(
            f"order-life on {'SQLite' if world.db.is_sqlite else 'PostgreSQL'}: "
            f"{figures['examples']} examples, {figures['steps']} steps, "
            f"{figures['invariant checks']} invariant checks, "
            f"{figures['settled checks']} settled checks, {figures['queue checks']} queue "
            f"checks in {time.monotonic() - started:.1f} s "
            f"(seed {seed_value})"
        )
        for name, count in sorted(figures.items()):
            if name.startswith("rule "):
                print(f"  {count:6d}  {name[5:]}")
    assert figures["steps"] >= EXAMPLES  # the machine really ran


def test_the_diagram_is_read_from_the_readme() -> None:
    assert set(checks.STARTS) == {"pending", "paid"}  # paid: the guest list's complimentary orders
    assert ("pending", "paid") in checks.ALLOWED and ("expired", "paid") in checks.ALLOWED
    assert ("cancelled", "paid") not in checks.ALLOWED
    assert ("paid", "pending") not in checks.ALLOWED


class SellingOnly(machine.OrderLife):
    """The machine for the twin: only the rules that hold seats, pay late and settle a
    payment, each buyer holding two or three Standard seats of the first event (so that
    two holds can overlap a room of five). The others (the door, organisers, refunds,
    Stripe failing, the sweeper) cannot oversell a room, and would only dilute the search
    or make it hang on timing."""

    @rule(standard=st.integers(2, 3), then=st.sampled_from(["stays", "pays and comes back"]))
    def hold(self, standard: int, then: str) -> None:  # type: ignore[override]
        super().hold(event=0, standard=standard, members=0, code=False, then=then)


def _off(self: machine.OrderLife, **kw: object) -> None:  # a plain method: not a rule
    raise AssertionError("a rule the twin leaves out was run")


for _name in (
    "sweeper_runs",
    "worker_ticks",
    "pay",
    "buyer_goes_back",
    "time_passes",
    "delayed_payment_settles",
    "webhook_arrives_out_of_order",
    "webhook_arrives_again",
    "webhook_never_arrives",
    "refunds_job_runs",
    "cancellation_job_runs",
    "organiser_refunds_a_ticket",
    "organiser_cancels_an_order",
    "refunded_in_stripe_dashboard",
    "event_cancelled",
    "cancellation_run_again",
    "capacity_changes",
    "access_code_switched_off",
    "buyer_cancels",
    "buyer_renames_a_ticket",
    "ticket_scanned",
    "admission_undone",
    "scanned_offline",
    "phone_syncs",
    "stripe_fails",
    "everything_settles",
    "joins_waiting_list",
    "leaves_waiting_list",
    "offer_job_runs",
    "organiser_offers_now",
    "organiser_pauses_offers",
    "offer_taken_up",
    "books_free_seats",
    "holder_releases",
    "organiser_sets_cancellations",
):
    setattr(SellingOnly, _name, _off)

# The twin's budget: derandomized, so the same examples every run. The oversell is found
# within the first few; the margin keeps it found if the machine's rules change.
TWIN_EXAMPLES = 60
TWIN_STEPS = 20


def test_with_one_rule_broken_the_machine_finds_the_oversell(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The twin: a payment that arrives after its hold lapsed is confirmed without asking
    whether its seats are still free. The machine must find the oversold room, every run:
    its search is derandomized and touches nothing that depends on timing."""
    monkeypatch.setattr(orders, "_seats_free_for", lambda session, order, now: True)
    machine.FIGURES.clear()
    test = get_state_machine_test(
        lambda: SellingOnly(world),
        settings=hsettings(
            max_examples=TWIN_EXAMPLES,
            stateful_step_count=TWIN_STEPS,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            # No shrinking: finding it is the point, and a shrink takes minutes.
            phases=[Phase.explicit, Phase.generate],
        ),
    )
    started = time.monotonic()
    try:
        with pytest.raises(AssertionError, match=r"taken >"):
            test()
    finally:
        figures = machine.FIGURES
        print(
            f"\norder-life twin on {'SQLite' if world.db.is_sqlite else 'PostgreSQL'}: "
            f"{figures['examples']} examples, {figures['steps']} steps "
            f"in {time.monotonic() - started:.1f} s"
        )
        for name, count in sorted(figures.items()):
            if name.startswith("rule "):
                print(f"  {count:6d}  {name[5:]}")
