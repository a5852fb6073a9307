"""The waiting list and releasing a seat, as rules of the order-life machine: people join
and leave an event's list, the offer job runs, organisers offer seats by hand and pause
the offers, offers are taken up and paid (or lapse as the clock moves), holders book the
free talk and release one ticket or all of theirs, and organisers allow or stop buyers'
cancellations (which decides whether a release is refunded now or only once resold).

A mixin of `OrderLife` (tests/model/machine.py), which it relies on for the world, the
cast, picking and counting steps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from sqlmodel import col, select

from booking import checkout
from booking.domain import event_admin, orders, resale, waitlist, waitlist_offers
from booking.domain.errors import BookingError, SoldOut
from booking.models import Order, OrderStatus, WaitlistEntry, WaitlistStatus
from booking.stripe_standin.errors import ApiError
from tests.model import checks
from tests.model.world import Cast, World, event_fields

PICK = st.integers(min_value=0, max_value=10_000)
# Few people, so that the same person leaves, joins again and is offered again.
PEOPLE = (
    ("Ann Jones", "ann@example.com"),
    ("Bo Li", "bo@example.com"),
    ("Cy Ng", "cy@example.com"),
)
OK_CARD = "4242424242424242"


class WaitingList:
    world: World
    cast: Cast

    if TYPE_CHECKING:  # OrderLife's

        @property
        def now(self) -> datetime: ...
        def has(self, what: str) -> bool: ...
        def _step(self, name: str) -> None: ...
        def _pick(self, items: list[Any], pick: int) -> Any: ...
        def _orders(self, *statuses: str, with_session: bool = False) -> list[Order]: ...
        def _taken(self) -> checks.Rows: ...
        def _send_refunds(self, order_id: int) -> None: ...

    def _entries(self, *statuses: str) -> list[WaitlistEntry]:
        with self.world.db.session() as s:
            query = select(WaitlistEntry).order_by(col(WaitlistEntry.id))
            if statuses:
                query = query.where(col(WaitlistEntry.status).in_(statuses))
            return list(s.exec(query).all())

    # -- the list --------------------------------------------------------------------
    @precondition(lambda self: self.has("events_open"))
    @rule(
        event=st.integers(0, 2),
        who=st.integers(0, len(PEOPLE) - 1),
        quantity=st.integers(1, 3),
        kind=st.sampled_from(["any", "standard", "members"]),
    )
    def joins_waiting_list(self, event: int, who: int, quantity: int, kind: str) -> None:
        """Someone joins an event's waiting list (for any seat, or one type); seats that are
        free are offered at once."""
        self._step("joins waiting list")
        event_id = self.cast.events[event]
        type_id = None
        if kind == "members" and event_id in self.cast.members:
            type_id = self.cast.members[event_id]
        elif kind != "any":
            type_id = self.cast.standard[event_id]
        name, email = PEOPLE[who]
        try:
            self.world.write(
                waitlist.join,
                event_id=event_id,
                request=waitlist.Request(name, email, quantity, type_id),
                now=self.now,
            )
        except BookingError:
            return
        self._served(event_id)

    def _served(self, event_id: int | None) -> None:
        checks.FIGURES["queue checks"] += checks.served(self._taken(), self.now, event_id)

    @precondition(lambda self: self.has("entries waiting") or self.has("entries offered"))
    @rule(pick=PICK)
    def leaves_waiting_list(self, pick: int) -> None:
        """Someone leaves by their link; an offer they are not paying for goes on."""
        self._step("leaves waiting list")
        entry = self._pick(self._entries(*waitlist.OPEN), pick)
        if entry is not None:
            self.world.write(waitlist.leave, token=entry.token, now=self.now)
            self._served(entry.event_id)

    @precondition(lambda self: self.has("entries waiting") or self.has("entries offered"))
    @rule()
    def offer_job_runs(self) -> None:
        """The worker's sweep: lapsed holds released, lapsed offers closed, free seats
        offered. Then nobody waits whose request fits what is free."""
        self._step("offer job")
        self.world.call(checkout.sweep_and_offer, self.world.svc)
        self._served(None)

    @precondition(lambda self: self.has("entries waiting"))
    @rule(pick=PICK)
    def organiser_offers_now(self, pick: int) -> None:
        """An organiser offers seats to someone waiting, ahead of their turn."""
        self._step("organiser offers now")
        entry = self._pick(self._entries(WaitlistStatus.WAITING), pick)
        if entry is None:
            return
        rows = self._taken()
        try:
            self.world.write(
                waitlist_offers.offer_now,
                entry_id=entry.id,
                actor=self.cast.organiser,
                now=self.now,
            )
        except SoldOut:
            assert not rows.request_fits(entry, self.now), f"entry {entry.id} fits, refused"
        except BookingError:
            return

    @precondition(lambda self: self.has("entries waiting") or self.has("entries offered"))
    @rule(event=st.integers(0, 2), paused=st.booleans(), hours=st.sampled_from(["1", "2"]))
    def organiser_pauses_offers(self, event: int, paused: bool, hours: str) -> None:
        self._step("organiser pauses offers" if paused else "organiser resumes offers")
        self.world.write(
            waitlist.configure,
            event_id=self.cast.events[event],
            paused=paused,
            hours_text=hours,
            actor=self.cast.organiser,
            now=self.now,
        )

    @precondition(lambda self: self.has("entries offered"))
    @rule(pick=PICK, then=st.sampled_from(["stays", "pays", "pays and comes back"]))
    def offer_taken_up(self, pick: int, then: str) -> None:
        """Its person takes the offer up: a free one is confirmed, a paid one goes to
        Stripe (its payment page made once), where they stay, pay, or pay and come back."""
        self._step(f"offer taken up, {then}")
        entry = self._pick(self._entries(WaitlistStatus.OFFERED), pick)
        if entry is None:
            return
        offer = self.world.order(entry.offer_order_id)
        try:
            order = self.world.write(waitlist_offers.take_up, token=offer.token, now=self.now)
        except BookingError:
            return
        if order.total == 0:
            self.world.write(
                orders.confirm_free,
                order_id=order.id,
                now=self.now,
                code_key=self.world.svc.ticket_key,
            )
            return
        if order.stripe_session_id is None:
            try:
                self.world.start_checkout(order, release_on_error=False)
            except checkout.CheckoutUnavailable:
                return
        if then == "stays":
            return
        cs_id = self.world.order(order.id).stripe_session_id
        try:
            self.world.standin.pay(cs_id, OK_CARD)
        except ApiError:
            return  # paid already, or Stripe's own clock expired the session
        if then == "pays and comes back":
            response = self.world.client.get(f"/checkout/success?session_id={cs_id}")
            assert response.status_code == 303, f"success page answered {response.status_code}"

    # -- the free talk ---------------------------------------------------------------
    @rule(quantity=st.integers(1, 3))
    def books_free_seats(self, quantity: int) -> None:
        """Someone books seats at the free talk: held and confirmed at once."""
        self._step("books free seats")
        event_id = self.cast.free_event
        wanted = {self.cast.standard[event_id]: quantity}
        order = self._reserve(event_id, wanted)
        if order is None:
            return
        self.world.write(
            orders.confirm_free,
            order_id=order.id,
            now=self.now,
            code_key=self.world.svc.ticket_key,
        )

    # -- releasing a seat ------------------------------------------------------------
    @precondition(lambda self: self.has("paid"))
    @rule(pick=PICK, number=st.one_of(st.none(), st.integers(1, 3)))
    def holder_releases(self, pick: int, number: int | None) -> None:
        """A holder releases one ticket (by its number on the order) or all of them; a
        refund owed now is sent as the order page sends it."""
        self._step("holder releases " + ("all" if number is None else "one"))
        order: Order | None = self._pick(self._orders(OrderStatus.PAID), pick)
        if order is None:
            return
        try:
            done = self.world.write(
                resale.release,
                token=order.token,
                numbers=None if number is None else {number},
                now=self.now,
            )
        except BookingError:
            return
        self._served(order.event_id)
        if done.terms.kind == resale.REFUND:
            self._send_refunds(order.id)

    @precondition(lambda self: self.has("orders"))
    @rule(event=st.integers(0, 2), allowed=st.booleans())
    def organiser_sets_cancellations(self, event: int, allowed: bool) -> None:
        """Buyers may cancel (a release is refunded now) or not (refunded once resold)."""
        self._step("organiser allows cancellations" if allowed else "organiser stops them")
        event_id = self.cast.events[event]
        fields = replace(event_fields(self.world.event(event_id)), buyer_cancel_allowed=allowed)
        try:
            self.world.write(
                event_admin.update,
                event_id=event_id,
                fields=fields,
                actor=self.cast.organiser,
                now=self.now,
            )
        except BookingError:
            return
