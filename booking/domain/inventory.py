"""What is left to sell, and the one answer to "can these seats be sold now?".

One predicate says what counts against capacity (`counts_against_capacity`): valid tickets,
and held ones whose hold has not run out. Seats, the room and an access code's uses are all
counted with it. One function decides whether seats can be sold (`refusal`, with its
capacity part `shortfall`): the hold under the event's lock, the event page's early refusal,
late payments and code limits all ask it, and reports show the same `Availability`.

People on the waiting list come before new buyers: the seats they wait for (`queued`) are
kept back from sale, so a seat that comes free goes to the list (booking.domain.waitlist),
which reads the capacity without its own queue (`availability(..., queue=False)`).

Access places: a wheelchair space is a ticket type with its own small capacity inside the
room's; when it comes with a free companion seat, the order takes one ticket of the event's
companion type per space too (`places`), and the same check covers the room, the wheelchair
spaces and the companion seats at once, so no space is ever sold without its companion's seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, CompoundSelect, and_, bindparam, func, literal, or_, union_all
from sqlmodel import Session, col, select

from booking.domain.errors import BookingError, SalesClosed, SoldOut
from booking.models import (
    AccessCode,
    AccessPlace,
    Event,
    EventStatus,
    Order,
    Ticket,
    TicketStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)

FEW_LEFT = 10


class CodeUsedUp(BookingError):
    code = "code_used_up"
    status = 409


class SaleState(StrEnum):
    ON_SALE = "on_sale"
    FEW_LEFT = "few_left"
    SOLD_OUT = "sold_out"
    NOT_YET = "not_yet_on_sale"
    ENDED = "sales_ended"
    UNAVAILABLE = "unavailable"  # the event is cancelled or over

    @property
    def buyable(self) -> bool:
        return self in (SaleState.ON_SALE, SaleState.FEW_LEFT)


def counts_against_capacity(now: datetime | BindParameter[Any]) -> Any:
    """The tickets that use up a seat (and a code's use): sold ones, and held ones whose
    hold has not run out. A condition on Ticket joined to its Order."""
    return or_(
        col(Ticket.status) == TicketStatus.VALID,
        and_(col(Ticket.status) == TicketStatus.HELD, col(Order.expires_at) > now),
    )


@dataclass(frozen=True)
class Availability:
    """Seats taken (sold or held) per ticket type and in the shared room, and, when a code
    is being used, that code and how many tickets it has been used for."""

    room_capacity: int | None
    taken: dict[int, int]
    code: AccessCode | None = None
    code_used: int = 0
    # Seats the waiting list waits for, by ticket type (None: any type), kept back from sale.
    queued: Mapping[int | None, int] = field(default_factory=dict)

    @property
    def room_taken(self) -> int:
        return sum(self.taken.values())

    @property
    def room_remaining(self) -> int | None:
        if self.room_capacity is None:
            return None
        return max(0, self.room_capacity - self.room_taken - sum(self.queued.values()))

    @property
    def waiting(self) -> int:
        """Seats people on the waiting list wait for."""
        return sum(self.queued.values())

    def remaining(self, ticket_type: TicketType) -> int | None:
        """Seats still for sale of this type; None when nothing caps it."""
        limits = []
        if ticket_type.capacity is not None:
            queued = self.queued.get(ticket_type.id, 0)
            if self.room_capacity is None:  # a wait for any type waits for this one too
                queued += self.queued.get(None, 0)
            limits.append(ticket_type.capacity - self.taken.get(ticket_type.id or 0, 0) - queued)
        if self.room_remaining is not None:
            limits.append(self.room_remaining)
        return max(0, min(limits)) if limits else None

    def buyable(self, ticket_type: TicketType, companion: TicketType | None) -> int | None:
        """How many of this type a buyer can still have: `remaining`, except that a
        wheelchair space that comes with a companion seat also needs a second room seat and
        one of the event's `companion` seats (none without a companion type)."""
        own = self.remaining(ticket_type)
        if not brings_companion(ticket_type):
            return own
        limits = [] if own is None else [own]
        if self.room_remaining is not None:
            limits.append(self.room_remaining // 2)
        if companion is None:
            limits.append(0)
        elif (seats := self.remaining(companion)) is not None:
            limits.append(seats)
        return max(0, min(limits)) if limits else None

    @property
    def code_left(self) -> int | None:
        """Tickets the code may still be used for; None without a code or a limit."""
        if self.code is None or self.code.max_uses is None:
            return None
        return max(0, self.code.max_uses - self.code_used)


# Built once (each sale and each page reads them): only the parameters change.
def _counted(*columns: Any) -> Any:
    """`columns` over an event's tickets that count against capacity, the event's id and
    the time bound later (`event_id`, `now`)."""
    return (
        select(*columns)
        .join(Order, col(Order.id) == Ticket.order_id)
        .where(
            col(Ticket.event_id) == bindparam("event_id"),
            counts_against_capacity(bindparam("now")),
        )
    )


_COUNTS = _counted(col(Ticket.ticket_type_id), col(Ticket.status), func.count()).group_by(
    col(Ticket.ticket_type_id), col(Ticket.status)
)

# What is taken per ticket type and what the waiting list waits for, in one round trip (a
# sale reads both under the event's lock, where every round trip keeps the next buyer waiting).
_TAKEN_AND_QUEUED: CompoundSelect[str, int | None, int] = union_all(
    _counted(literal("taken"), col(Ticket.ticket_type_id), func.count()).group_by(
        col(Ticket.ticket_type_id)
    ),
    select(literal("queued"), col(WaitlistEntry.ticket_type_id), func.sum(WaitlistEntry.quantity))
    .where(
        col(WaitlistEntry.event_id) == bindparam("event_id"),
        col(WaitlistEntry.status) == WaitlistStatus.WAITING,
    )
    .group_by(col(WaitlistEntry.ticket_type_id)),
)


def counts(session: Session, *, event_id: int, now: datetime) -> dict[tuple[int, str], int]:
    """Tickets counting against capacity per (ticket type, status): sold and held apart."""
    rows = session.exec(_COUNTS, params={"event_id": event_id, "now": now}).all()
    return {(type_id, str(status)): int(count) for type_id, status, count in rows}


def taken_by_type(session: Session, *, event_id: int, now: datetime) -> dict[int, int]:
    """Tickets that count against capacity, per ticket type."""
    taken: dict[int, int] = {}
    for (type_id, _), count in counts(session, event_id=event_id, now=now).items():
        taken[type_id] = taken.get(type_id, 0) + count
    return taken


def code_uses(session: Session, *, access_code_id: int, now: datetime) -> int:
    """Tickets bought or held with this code."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Ticket)
            .join(Order, col(Order.id) == Ticket.order_id)
            .where(col(Order.access_code_id) == access_code_id, counts_against_capacity(now))
        ).one()
    )


def availability(
    session: Session,
    *,
    event: Event,
    now: datetime,
    code: AccessCode | None = None,
    queue: bool = True,
) -> Availability:
    """What is taken now, and (unless `queue` is off) what the waiting list waits for. Read
    it under `db.lock` when a sale depends on it."""
    assert event.id is not None
    used = code_uses(session, access_code_id=code.id, now=now) if code and code.id else 0
    taken: dict[int, int] = {}
    waiting: dict[int | None, int] = {}
    for kind, type_id, amount in session.execute(
        _TAKEN_AND_QUEUED, {"event_id": event.id, "now": now}
    ).all():
        if kind == "taken":
            taken[type_id] = int(amount)
        else:
            waiting[type_id] = int(amount)
    return Availability(event.capacity, taken, code, used, waiting if queue else {})


def sale_state(
    ticket_type: TicketType, *, remaining: int | None, event: Event, now: datetime
) -> SaleState:
    """Whether this ticket type can be bought now, and if not why not."""
    if event.status != EventStatus.PUBLISHED or event.starts_at <= now:
        return SaleState.UNAVAILABLE
    if ticket_type.sales_start and now < ticket_type.sales_start:
        return SaleState.NOT_YET
    if ticket_type.sales_end and now >= ticket_type.sales_end:
        return SaleState.ENDED
    if remaining is not None and remaining <= 0:
        return SaleState.SOLD_OUT
    if remaining is not None and remaining <= FEW_LEFT:
        return SaleState.FEW_LEFT
    return SaleState.ON_SALE


def brings_companion(ticket_type: TicketType) -> bool:
    """Whether each ticket of this type comes with a free companion seat."""
    return ticket_type.access_place == AccessPlace.WHEELCHAIR and ticket_type.companion_free


def companion_type(types: Iterable[TicketType]) -> TicketType | None:
    """The event's companion seat type, if it has one."""
    return next((t for t in types if t.access_place == AccessPlace.COMPANION), None)


def places(types: Mapping[int, TicketType], quantities: Mapping[int, int]) -> dict[int, int]:
    """The tickets an order takes for what the buyer chose: the choice, plus one companion
    seat per wheelchair space that comes with one. Ask `shortfall` or `refusal` about these.
    Without a companion type the companions are counted against a type id of 0, which no
    type has, so `shortfall` refuses them."""
    taken = dict(quantities)
    companions = sum(q for t, q in quantities.items() if brings_companion(types[t]))
    if companions:
        companion = companion_type(types.values())
        key = companion.id if companion is not None and companion.id is not None else 0
        taken[key] = taken.get(key, 0) + companions
    return taken


def _wheelchair_field(types: Mapping[int, TicketType], quantities: Mapping[int, int]) -> str:
    return next(
        (f"qty-{t}" for t in quantities if t in types and brings_companion(types[t])), "quantity"
    )


def shortfall(
    avail: Availability, *, types: Mapping[int, TicketType], quantities: Mapping[int, int]
) -> BookingError | None:
    """Whether these quantities (the `places` an order takes) fit what is left (per type,
    in the room, and within the code's use limit): None when they do, else the SoldOut or
    CodeUsedUp saying why."""
    for type_id, qty in quantities.items():
        if type_id not in types:
            return SoldOut(
                "No companion seats are set up for wheelchair spaces",
                field=_wheelchair_field(types, quantities),
            )
        tt = types[type_id]
        remaining = avail.remaining(tt)
        if remaining is not None and qty > remaining:
            if tt.access_place == AccessPlace.WHEELCHAIR:
                if remaining == 0:
                    return SoldOut("No wheelchair spaces are left", field=f"qty-{type_id}")
                spaces = (
                    "1 wheelchair space is"
                    if remaining == 1
                    else f"{remaining} wheelchair spaces are"
                )
                return SoldOut(f"Only {spaces} left", field=f"qty-{type_id}")
            if tt.access_place == AccessPlace.COMPANION:
                return SoldOut(
                    "No companion seat is left to go with a wheelchair space",
                    field=_wheelchair_field(types, quantities),
                )
            if remaining == 0:
                return SoldOut(f"{tt.name} tickets have sold out", field=f"qty-{type_id}")
            return SoldOut(f"Only {remaining} {tt.name} tickets are left", field=f"qty-{type_id}")
    wanted = sum(quantities.values())
    left = avail.room_remaining
    if left is not None and wanted > left:
        if any(types[t].access_place == AccessPlace.COMPANION for t in quantities):
            seats = "1 seat is" if left == 1 else f"{left} seats are"
            return SoldOut(
                f"Only {seats} left, and each wheelchair space needs a second seat "
                "for its companion",
                field=_wheelchair_field(types, quantities),
            )
        return SoldOut(
            "This event has sold out" if left == 0 else f"Only {left} tickets are left",
            field="quantity",
        )
    code_left = avail.code_left
    if avail.code is not None and code_left is not None and wanted > code_left:
        name = avail.code.code
        if code_left <= 0:
            return CodeUsedUp(f"The code {name} has been used up", field="code")
        return CodeUsedUp(f"The code {name} can be used for {code_left} more tickets", field="code")
    return None


def refusal(
    avail: Availability,
    *,
    event: Event,
    types: Mapping[int, TicketType],
    quantities: Mapping[int, int],
    now: datetime,
) -> BookingError | None:
    """The one answer to "can these seats be sold now?": None when they can, else the error
    saying why (SalesClosed, SoldOut, CodeUsedUp). A sale must ask it under `db.lock`, with
    `avail`, `event`, `types` and the code all read after the lock. `quantities` are the
    `places` the order takes, companion seats included."""
    for type_id in quantities:
        if type_id not in types:
            break  # a companion seat with no companion type: shortfall says so
        tt = types[type_id]
        state = sale_state(tt, remaining=avail.remaining(tt), event=event, now=now)
        if state in (SaleState.NOT_YET, SaleState.ENDED, SaleState.UNAVAILABLE):
            return SalesClosed(f"{tt.name} tickets are not on sale now")
    return shortfall(avail, types=types, quantities=quantities)


def few_left_threshold(ticket_types: Iterable[TicketType], room_capacity: int | None) -> int:
    caps = [t.capacity for t in ticket_types if t.capacity] + (
        [room_capacity] if room_capacity else []
    )
    return max(5, (min(caps) // 10) if caps else 5)
