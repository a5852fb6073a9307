"""The system the order-life machine drives: the app (its real handlers, domain and job
functions, and `payments` adapter) on the test database, the Stripe stand-in, two clocks.

One `World` lives for the whole test; `reset()` gives each Hypothesis example a clean
database, a reset stand-in and a fresh cast: two published events, each with a room of
five, an open "Standard" type, a "Members" type capped at two and hidden behind an access
code with three uses; a free talk with a room of three and one free type; an organiser
and a door steward.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient

from booking import checkout
from booking.db import Database
from booking.domain import access_codes, tickets
from booking.domain.event_forms import EventFields
from booking.models import (
    AccessCode,
    Event,
    EventStatus,
    Order,
    OrderLine,
    Role,
    TicketType,
    User,
    Venue,
)
from booking.payments import LineItem
from booking.runtime import Services
from booking.settings import STANDIN_WEBHOOK_SECRET
from booking.stripe_standin import StandIn, sign
from tests.conftest import Clock

ROOM = 5
MEMBERS_CAP = 2
CODE = "MEMBERS"
CODE_USES = 3
FREE_ROOM = 3
OFFER_HOURS = 1  # a waiting-list offer lapses after an hour (two or three clock moves)
STANDARD_PRICE = 1000
MEMBERS_PRICE = 900
CODE_DISCOUNT = 200
# What the app listens to (README "Stripe"); the stand-in's other events are ignored.
WEBHOOK_TYPES = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
        "refund.created",
        "refund.updated",
    }
)
BASE = "http://testserver"


def event_fields(ev: Event) -> EventFields:
    """The event form as the event stands (what an organiser who changes one field sends)."""
    return EventFields(
        title=ev.title,
        slug=ev.slug,
        strapline=ev.strapline,
        description=ev.description,
        starts_at=ev.starts_at,
        ends_at=ev.ends_at,
        doors_at=ev.doors_at,
        venue_id=ev.venue_id,
        organisation_ids=[],
        capacity=ev.capacity,
        contact_email=ev.contact_email,
        buyer_cancel_allowed=ev.buyer_cancel_allowed,
        buyer_cancel_cutoff_hours=ev.buyer_cancel_cutoff_hours,
    )


@dataclass
class Cast:
    organiser: User
    staff: User
    events: list[int]  # the two paid events, then the free talk
    standard: dict[int, int]  # event id -> ticket type id (the free talk's free type)
    members: dict[int, int]  # the paid events only
    codes: dict[int, int]  # event id -> access code id

    @property
    def free_event(self) -> int:
        return self.events[2]


@dataclass
class World:
    db: Database
    client: TestClient
    svc: Services
    standin: StandIn
    clock: Clock
    cast: Cast | None = None
    lag: timedelta = timedelta(0)  # how far the app's clock is ahead of Stripe's
    stats: dict[str, int] = field(default_factory=dict)

    # -- each example ----------------------------------------------------------------
    def reset(self) -> Cast:
        # DELETE rather than the fixtures' TRUNCATE: on PostgreSQL it is 20 times faster for
        # the few rows an example leaves.
        with self.db.write_engine.begin() as conn:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
        self.standin.reset()
        self.clock.now = datetime.now(UTC).replace(microsecond=0)
        self.lag = timedelta(0)
        self.cast = self._cast()
        return self.cast

    def _cast(self) -> Cast:
        now = self.clock.now
        with self.db.write() as s:
            organiser = User(email="organiser@example.com", name="Olive", role=Role.ORGANISER)
            staff = User(email="door@example.com", name="Dora", role=Role.STAFF)
            venue = Venue(name="Conway Hall")
            s.add_all([organiser, staff, venue])
            s.flush()
            events, standard, members = [], {}, {}
            for n in range(2):
                starts = now + timedelta(days=30)
                event = Event(
                    slug=f"debate-{n}",
                    title=f"Debate {n}",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    venue_id=venue.id,
                    status=EventStatus.PUBLISHED,
                    capacity=ROOM,
                    buyer_cancel_allowed=True,
                    waitlist_offer_hours=OFFER_HOURS,
                    created_at=now,
                )
                s.add(event)
                s.flush()
                assert event.id is not None
                std = TicketType(event_id=event.id, name="Standard", price=STANDARD_PRICE)
                mem = TicketType(
                    event_id=event.id,
                    name="Members",
                    price=MEMBERS_PRICE,
                    capacity=MEMBERS_CAP,
                    visible=False,
                    position=1,
                )
                s.add_all([std, mem])
                s.flush()
                events.append(event.id)
                standard[event.id], members[event.id] = std.id, mem.id
            starts = now + timedelta(days=20)
            talk = Event(
                slug="free-talk",
                title="Free talk",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                venue_id=venue.id,
                status=EventStatus.PUBLISHED,
                capacity=FREE_ROOM,
                buyer_cancel_allowed=True,
                waitlist_offer_hours=OFFER_HOURS,
                created_at=now,
            )
            s.add(talk)
            s.flush()
            assert talk.id is not None
            free = TicketType(event_id=talk.id, name="Free", price=0)
            s.add(free)
            s.flush()
            events.append(talk.id)
            standard[talk.id] = free.id
        codes = {}
        for event_id in events[:2]:
            with self.db.write_session() as s:
                codes[event_id] = access_codes.create(
                    s,
                    event_id=event_id,
                    code=CODE,
                    unlocks_ticket_type_id=members[event_id],
                    discount_amount=CODE_DISCOUNT,
                    max_uses=CODE_USES,
                ).id
        return Cast(organiser, staff, events, standard, members, codes)  # type: ignore[arg-type]

    # -- calls -----------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run an async app function on the client's event loop (where `payments` lives)."""

        async def run() -> Any:
            return await fn(*args, **kwargs)

        return self.client.portal.call(run)

    def write(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        with self.db.write_session() as s:
            return fn(s, **kwargs)

    def read(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        with self.db.session() as s:
            return fn(s, **kwargs)

    def order(self, order_id: int) -> Order:
        with self.db.session() as s:
            found = s.get(Order, order_id)
            assert found is not None
            return found

    def start_checkout(self, order: Order, *, release_on_error: bool = True) -> str:
        """What the buy form does after the hold (and the offer page when an offer is taken
        up, keeping its seats held on an error): a Checkout Session from the order's lines."""
        with self.db.session() as s:
            lines = s.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        items = [LineItem(ln.name, ln.unit_price, ln.quantity, order.currency) for ln in lines]
        return str(
            self.call(
                checkout.start,
                self.svc,
                order=order,
                lines=items,
                event_title="Debate",
                success_url=f"{BASE}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{BASE}/checkout/cancel/{order.token}",
                release_on_error=release_on_error,
            )
        )

    def post_webhook(self, event: dict[str, Any]) -> int:
        body = json.dumps(event).encode()
        headers = {
            "Stripe-Signature": sign(body, STANDIN_WEBHOOK_SECRET, int(time.time())),
            "Content-Type": "application/json",
        }
        return self.client.post("/stripe/webhook", content=body, headers=headers).status_code

    def switch_code_off(self, event_id: int) -> None:
        # No back-office form switches a code off yet; this is the row such a form would write.
        with self.db.write() as s:
            s.execute(
                update(AccessCode).where(AccessCode.event_id == event_id).values(active=False)  # type: ignore[arg-type]
            )

    def ticket_type(self, type_id: int) -> TicketType:
        with self.db.session() as s:
            found = s.get(TicketType, type_id)
            assert found is not None
            return found

    def event(self, event_id: int) -> Event:
        with self.db.session() as s:
            found = s.get(Event, event_id)
            assert found is not None
            return found

    # -- time ------------------------------------------------------------------------
    def time_passes(self, minutes: int) -> None:
        """Both clocks move on (Stripe expires its lapsed sessions as it catches up)."""
        self.clock.advance(minutes=minutes)
        self.standin.advance_clock(minutes * 60 + self.lag.total_seconds())
        self.lag = timedelta(0)

    def app_runs_ahead(self, minutes: int) -> None:
        """Only the app's clock moves: Stripe's page is still open when the hold lapses."""
        self.clock.advance(minutes=minutes)
        self.lag += timedelta(minutes=minutes)

    @property
    def key(self) -> bytes:
        return tickets.derive_key(self.svc.settings.secret_key, "tickets")
