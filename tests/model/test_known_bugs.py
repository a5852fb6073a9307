"""Faults the order-life machine found, each as the short run of steps it shrank to, kept
as regression tests now that they are fixed."""

from __future__ import annotations

import pytest

from tests.model import machine
from tests.model.test_order_life import world  # noqa: F401 (the fixture)
from tests.model.world import World


@pytest.fixture
def life(world: World) -> machine.OrderLife:  # noqa: F811
    life = machine.OrderLife(world)
    life.promises_hold()
    return life


def test_a_cancel_after_a_partial_dashboard_refund_returns_the_rest(life) -> None:  # type: ignore[no-untyped-def]
    life.hold(event=0, standard=1, members=0, code=False, then="pays and comes back")
    life.promises_hold()
    life.refunded_in_stripe_dashboard(pick=0, share=300)  # its webhook not here yet
    life.buyer_cancels(pick=0)
    life.promises_hold()
    life.everything_settles()


def test_a_dashboard_refund_that_arrives_before_the_payment_is_kept(life) -> None:  # type: ignore[no-untyped-def]
    life.hold(event=0, standard=1, members=0, code=False, then="pays")  # no webhook yet
    life.promises_hold()
    life.refunded_in_stripe_dashboard(pick=0, share=None)
    life._collect()
    [refunded] = [e for e in life.inbox if e["type"] == "charge.refunded"]
    life.inbox.remove(refunded)
    life._deliver(refunded)  # before checkout.session.completed
    life.promises_hold()
    life.everything_settles()


def test_leaving_while_paying_for_an_offer_and_joining_again_gets_no_second_hold(life) -> None:  # type: ignore[no-untyped-def]
    life.joins_waiting_list(event=0, who=0, quantity=1, kind="any")  # offered at once
    life.promises_hold()
    life.offer_taken_up(pick=0, then="stays")  # on Stripe's page
    life.promises_hold()
    life.leaves_waiting_list(pick=0)
    life.promises_hold()
    life.joins_waiting_list(event=0, who=0, quantity=1, kind="any")
    life.promises_hold()
    life.everything_settles()


def test_an_old_offer_paid_late_leaves_its_entry_offered_the_new_one(life) -> None:  # type: ignore[no-untyped-def]
    life.joins_waiting_list(event=0, who=0, quantity=1, kind="any")
    life.offer_taken_up(pick=0, then="stays")
    life.app_clock_runs_ahead(minutes=31)
    life.app_clock_runs_ahead(minutes=31)  # the offer has lapsed; Stripe's page is open
    life.promises_hold()
    life.joins_waiting_list(event=0, who=1, quantity=1, kind="any")  # closes it: expired
    life.joins_waiting_list(event=0, who=0, quantity=1, kind="any")  # offered again
    life.promises_hold()
    life.pay_late(pick=0)
    life.webhook_arrives()
    life.promises_hold()
    life.webhook_arrives()
    life.promises_hold()
    life.everything_settles()
