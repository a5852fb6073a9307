"""Organisers' changes to an event's ticket types: add, edit, reorder, hide and show.

A capacity is checked against the tickets already sold or held under `db.lock`, in the same
transaction as the update; price and capacity changes are audited with before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from booking.db import lock
from booking.domain import audit, inputs
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.event_admin import capacity_message
from booking.domain.inventory import availability, companion_type
from booking.models import AccessPlace, Event, EventStatus, TicketType, User

MAX_PER_ORDER = 100
MAX_CAPACITY = 100_000
AUDITED = (
    "name",
    "price",
    "capacity",
    "sales_start",
    "sales_end",
    "max_per_order",
    "visible",
    "access_place",
    "companion_free",
)
PLACES = {
    AccessPlace.SEAT: "A seat",
    AccessPlace.WHEELCHAIR: "A wheelchair space",
    AccessPlace.COMPANION: "A companion seat (only ever with a wheelchair space)",
}
COMPANION_NAME = "Companion seat"


@dataclass
class TicketTypeFields:
    name: str = ""
    description: str = ""
    price: int = 0
    capacity: int | None = None
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    max_per_order: int = 10
    visible: bool = True
    access_place: str = AccessPlace.SEAT
    companion_free: bool = False


def read_form(raw: Mapping[str, str], *, zone: ZoneInfo) -> tuple[TicketTypeFields, dict[str, str]]:
    """The ticket type form's values and any messages, by field name."""
    errors = inputs.Errors()
    f = TicketTypeFields()
    f.name = (
        errors.take(
            "name",
            lambda: inputs.text(raw.get("name"), name="Name", limit=200, missing="Enter a name"),
        )
        or ""
    )
    f.description = (
        errors.take(
            "description",
            lambda: inputs.text(raw.get("description"), name="Description", limit=1000),
        )
        or ""
    )
    price = errors.take(
        "price",
        lambda: inputs.pence(raw.get("price"), name="Price", missing="Enter a price, or 0 if free"),
    )
    f.price = price or 0
    f.capacity = errors.take(
        "capacity",
        lambda: inputs.optional_whole_number(
            raw.get("capacity"), name="Capacity", minimum=0, maximum=MAX_CAPACITY
        ),
    )
    f.sales_start = errors.take(
        "sales_start_date",
        lambda: inputs.local_datetime(
            raw.get("sales_start_date"),
            raw.get("sales_start_time"),
            label="sales start",
            zone=zone,
            required=False,
        ),
    )
    f.sales_end = errors.take(
        "sales_end_date",
        lambda: inputs.local_datetime(
            raw.get("sales_end_date"),
            raw.get("sales_end_time"),
            label="sales end",
            zone=zone,
            required=False,
        ),
    )
    if f.sales_start and f.sales_end and f.sales_end <= f.sales_start:
        errors["sales_end_date"] = "Sales must end after they start"
    most = errors.take(
        "max_per_order",
        lambda: inputs.whole_number(
            raw.get("max_per_order"),
            name="Most tickets in one order",
            minimum=1,
            maximum=MAX_PER_ORDER,
            missing="Enter the most tickets one order can have",
        ),
    )
    f.max_per_order = most or 10
    f.visible = raw.get("visible") == "yes"
    place = raw.get("access_place") or ""
    if place not in PLACES:
        errors["access_place"] = "Select what kind of place this ticket type sells"
    else:
        f.access_place = AccessPlace(place)
    f.companion_free = (
        f.access_place == AccessPlace.WHEELCHAIR and raw.get("companion_free") == "yes"
    )
    return f, dict(errors)


def form_values(tt: TicketType, zone: ZoneInfo) -> dict[str, str]:
    values = {
        "name": tt.name,
        "description": tt.description,
        "price": inputs.pounds(tt.price),
        "capacity": "" if tt.capacity is None else str(tt.capacity),
        "max_per_order": str(tt.max_per_order),
        "visible": "yes" if tt.visible else "",
        "access_place": tt.access_place,
        "companion_free": "yes" if tt.companion_free else "",
    }
    for name in ("sales_start", "sales_end"):
        day, clock = inputs.local_parts(getattr(tt, name), zone)
        values[f"{name}_date"], values[f"{name}_time"] = day, clock
    return values


def for_event(session: Session, *, event_id: int) -> list[TicketType]:
    return list(
        session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position), col(TicketType.id))
        ).all()
    )


def get(session: Session, *, event_id: int, ticket_type_id: int) -> TicketType:
    tt = session.get(TicketType, ticket_type_id)
    if tt is None or tt.event_id != event_id:
        raise NotFound("No ticket type at this address")
    return tt


def add(
    session: Session, *, event_id: int, fields: TicketTypeFields, actor: User, now: datetime
) -> TicketType:
    """A new ticket type at the end of the list. Raises NotFound, or Conflict if cancelled."""
    with session.begin():
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound("No event at this address")
        if event.status == EventStatus.CANCELLED:
            raise Conflict("This event has been cancelled, so it sells no tickets")
        _check_one_companion_type(session, event_id=event_id, fields=fields, editing=None)
        tt = _create(session, event, fields, actor=actor, now=now)
        _ensure_companion_type(session, event, fields, actor=actor, now=now)
    return tt


def _create(
    session: Session, event: Event, fields: TicketTypeFields, *, actor: User, now: datetime
) -> TicketType:
    assert event.id is not None
    last = session.exec(
        select(func.max(TicketType.position)).where(TicketType.event_id == event.id)
    ).one()
    tt = TicketType(
        event_id=event.id,
        currency=event.currency,
        position=(last + 1) if last is not None else 0,
        **vars(fields),
    )
    session.add(tt)
    session.flush()
    audit.record(
        session,
        "ticket_type.created",
        subject_type="ticket_type",
        subject_id=tt.id,
        actor=actor,
        now=now,
        event_id=event.id,
        data={"name": tt.name, "price": tt.price, "capacity": tt.capacity},
    )
    return tt


def _check_one_companion_type(
    session: Session, *, event_id: int, fields: TicketTypeFields, editing: int | None
) -> None:
    """An event has at most one companion seat type: every wheelchair space's companion
    takes a seat of it. Raises InvalidInput for a second one."""
    if fields.access_place != AccessPlace.COMPANION:
        return
    other = companion_type(for_event(session, event_id=event_id))
    if other is not None and other.id != editing:
        raise InvalidInput(
            {"access_place": f"This event already has a companion seat type: {other.name}"}
        )


def _ensure_companion_type(
    session: Session, event: Event, fields: TicketTypeFields, *, actor: User, now: datetime
) -> None:
    """A wheelchair space that comes with a free companion seat needs the event's companion
    type: add one (free, hidden, sharing the room) if there is none yet."""
    if not fields.companion_free or fields.access_place != AccessPlace.WHEELCHAIR:
        return
    assert event.id is not None
    if companion_type(for_event(session, event_id=event.id)) is not None:
        return
    companion = TicketTypeFields(
        name=COMPANION_NAME,
        description="A free seat for a wheelchair user's companion",
        max_per_order=MAX_PER_ORDER,
        visible=False,
        access_place=AccessPlace.COMPANION,
    )
    _create(session, event, companion, actor=actor, now=now)


def update(
    session: Session,
    *,
    event_id: int,
    ticket_type_id: int,
    fields: TicketTypeFields,
    actor: User,
    now: datetime,
) -> TicketType:
    """Save the edit form. The capacity may not go below the tickets sold or held.

    Raises NotFound or InvalidInput.
    """
    with session.begin():
        tt = get(session, event_id=event_id, ticket_type_id=ticket_type_id)
        _check_one_companion_type(session, event_id=event_id, fields=fields, editing=tt.id)
        before = _snapshot(tt)
        if fields.capacity is not None and fields.capacity != tt.capacity:
            event = session.get(Event, event_id)
            assert event is not None
            lock(session, event_id)
            taken = availability(session, event=event, now=now).taken.get(ticket_type_id, 0)
            if fields.capacity < taken:
                raise InvalidInput({"capacity": capacity_message(taken)})
        for key, value in vars(fields).items():
            setattr(tt, key, value)
        session.add(tt)
        changed = audit.changes(before, _snapshot(tt))
        event = session.get(Event, event_id)
        assert event is not None
        _ensure_companion_type(session, event, fields, actor=actor, now=now)
        if changed:
            audit.record(
                session,
                "ticket_type.updated",
                subject_type="ticket_type",
                subject_id=tt.id,
                actor=actor,
                now=now,
                event_id=event_id,
                data={"name": tt.name, **changed},
            )
    return tt


def _snapshot(tt: TicketType) -> dict[str, object]:
    data = {key: getattr(tt, key) for key in AUDITED}
    for key in ("sales_start", "sales_end"):
        value = data[key]
        data[key] = value.isoformat() if isinstance(value, datetime) else None
    return data


def move(
    session: Session,
    *,
    event_id: int,
    ticket_type_id: int,
    offset: int,
    actor: User,
    now: datetime,
) -> None:
    """Move a ticket type one place up (offset -1) or down (+1); at either end, nothing."""
    with session.begin():
        types = for_event(session, event_id=event_id)
        ids = [t.id for t in types]
        if ticket_type_id not in ids:
            raise NotFound("No ticket type at this address")
        at = ids.index(ticket_type_id)
        to = at + (1 if offset > 0 else -1)
        if not 0 <= to < len(types):
            return
        types[at], types[to] = types[to], types[at]
        for position, tt in enumerate(types):
            tt.position = position
            session.add(tt)
        audit.record(
            session,
            "ticket_type.moved",
            subject_type="ticket_type",
            subject_id=ticket_type_id,
            actor=actor,
            now=now,
            event_id=event_id,
            data={"name": types[to].name, "position": {"before": at + 1, "after": to + 1}},
        )


def set_visible(
    session: Session,
    *,
    event_id: int,
    ticket_type_id: int,
    visible: bool,
    actor: User,
    now: datetime,
) -> TicketType:
    """Show a ticket type on the public page, or hide it (e.g. for an access code)."""
    with session.begin():
        tt = get(session, event_id=event_id, ticket_type_id=ticket_type_id)
        if tt.visible != visible:
            tt.visible = visible
            session.add(tt)
            audit.record(
                session,
                "ticket_type.shown" if visible else "ticket_type.hidden",
                subject_type="ticket_type",
                subject_id=tt.id,
                actor=actor,
                now=now,
                event_id=event_id,
                data={"name": tt.name},
            )
    return tt
