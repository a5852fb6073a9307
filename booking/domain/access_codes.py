"""Access and discount codes: unlock a hidden ticket type and/or take money off, with a use
limit and a validity window. Uses are derived like seats (paid tickets plus unexpired holds)
and checked with them by booking.domain.inventory.refusal under the event's lock, so a limit
holds however many buyers race for it."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from booking.domain import inventory
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.inventory import CodeUsedUp as CodeUsedUp  # raised by the sale's check
from booking.models import AccessCode, Event, Order, PromoLink, TicketType

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")


def normalise(code: str) -> str:
    return code.strip().upper().replace(" ", "")


def find(session: Session, *, event_id: int, code: str, now: datetime) -> AccessCode:
    """The active code for this event. Raises InvalidInput with a message for the `code` field."""
    clean = normalise(code)
    row = session.exec(
        select(AccessCode).where(AccessCode.event_id == event_id, AccessCode.code == clean)
    ).first()
    if row is None:
        raise InvalidInput(
            {"code": f"There is no code {clean[:40]} for this event. Check it and try again"}
        )
    if not row.active:
        raise InvalidInput({"code": f"The code {clean} is no longer valid for this event"})
    if row.valid_from and now < row.valid_from:
        raise InvalidInput({"code": f"The code {clean} cannot be used yet"})
    if row.valid_until and now >= row.valid_until:
        raise InvalidInput({"code": f"The code {clean} has expired"})
    return row


def uses(session: Session, *, access_code_id: int, now: datetime) -> int:
    """Tickets bought or held with this code (counted as seats are, see inventory)."""
    return inventory.code_uses(session, access_code_id=access_code_id, now=now)


def price(base: int, code: AccessCode | None) -> int:
    """A ticket's price with the code's discount taken off (never below zero)."""
    if code is None:
        return base
    discounted = base - code.discount_amount
    if code.discount_percent:
        discounted -= round(base * code.discount_percent / 100)
    return max(0, discounted)


def create(
    session: Session,
    *,
    event_id: int,
    code: str,
    label: str = "",
    unlocks_ticket_type_id: int | None = None,
    discount_amount: int = 0,
    discount_percent: int = 0,
    max_uses: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> AccessCode:
    """Raises InvalidInput for a malformed code or discount or a ticket type not of this
    event, NotFound for an unknown event, Conflict if the code exists."""
    clean = normalise(code)
    with session.begin():
        if session.get(Event, event_id) is None:
            raise NotFound("No such event")
        errors = _check(
            session,
            event_id=event_id,
            unlocks_ticket_type_id=unlocks_ticket_type_id,
            discount_amount=discount_amount,
            discount_percent=discount_percent,
            max_uses=max_uses,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        if not CODE_RE.match(clean):
            errors["code"] = "Code must be 3 to 40 letters, numbers or dashes"
        if "nothing" in errors:
            errors.setdefault("code", errors.pop("nothing"))
        if errors:
            raise InvalidInput(errors)
        exists = session.exec(
            select(AccessCode).where(AccessCode.event_id == event_id, AccessCode.code == clean)
        ).first()
        if exists:
            raise Conflict(f"This event already has a code {clean}")
        row = AccessCode(
            event_id=event_id,
            code=clean,
            label=label[:200],
            unlocks_ticket_type_id=unlocks_ticket_type_id,
            discount_amount=discount_amount,
            discount_percent=discount_percent,
            max_uses=max_uses,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        session.add(row)
        session.flush()
    return row


def _check(
    session: Session,
    *,
    event_id: int,
    unlocks_ticket_type_id: int | None,
    discount_amount: int,
    discount_percent: int,
    max_uses: int | None,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> dict[str, str]:
    """Messages, by field, for what a code would do (key "nothing": it would do nothing)."""
    errors = {}
    if not 0 <= discount_percent <= 100:
        errors["discount_percent"] = "Percentage off must be between 0 and 100"
    if discount_amount < 0:
        errors["discount_amount"] = "Amount off must be 0 or more"
    if discount_amount and discount_percent:
        errors["discount_percent"] = (
            "Enter an amount off or a percentage off, not both: a code takes one of them off"
        )
    if max_uses is not None and max_uses < 1:
        errors["max_uses"] = "Use limit must be 1 or more, or left empty for no limit"
    if valid_from and valid_until and valid_until <= valid_from:
        errors["valid_until"] = "The end of the validity window must be after its start"
    if unlocks_ticket_type_id is not None:
        unlocks = session.get(TicketType, unlocks_ticket_type_id)
        if unlocks is None or unlocks.event_id != event_id or unlocks.visible:
            errors["unlocks"] = "Choose one of this event's hidden ticket types"
    if not unlocks_ticket_type_id and not discount_amount and not discount_percent:
        errors["nothing"] = "A code must unlock a ticket type or take money off"
    return errors


def get(session: Session, *, event_id: int, code_id: int) -> AccessCode:
    """One of the event's codes. Raises NotFound."""
    row = session.get(AccessCode, code_id)
    if row is None or row.event_id != event_id:
        raise NotFound("No code at this address")
    return row


def used(session: Session, *, access_code_id: int) -> bool:
    """True once any order (paid or not) or promo link names the code."""
    by_order = session.exec(
        select(Order.id).where(Order.access_code_id == access_code_id).limit(1)
    ).first()
    by_link = session.exec(
        select(PromoLink.id).where(PromoLink.access_code_id == access_code_id).limit(1)
    ).first()
    return by_order is not None or by_link is not None


def update(
    session: Session,
    *,
    event_id: int,
    code_id: int,
    label: str,
    unlocks_ticket_type_id: int | None,
    discount_amount: int,
    discount_percent: int,
    max_uses: int | None,
) -> dict[str, Any]:
    """Change what a code does (its letters stay: readers may have them). Returns what
    changed. Raises NotFound or InvalidInput."""
    with session.begin():
        errors = _check(
            session,
            event_id=event_id,
            unlocks_ticket_type_id=unlocks_ticket_type_id,
            discount_amount=discount_amount,
            discount_percent=discount_percent,
            max_uses=max_uses,
            valid_from=None,
            valid_until=None,
        )
        if "nothing" in errors:
            errors.setdefault("discount_amount", errors.pop("nothing"))
        if errors:
            raise InvalidInput(errors)
        row = get(session, event_id=event_id, code_id=code_id)
        after: dict[str, Any] = {
            "label": label[:200],
            "unlocks_ticket_type_id": unlocks_ticket_type_id,
            "discount_amount": discount_amount,
            "discount_percent": discount_percent,
            "max_uses": max_uses,
        }
        before = {key: getattr(row, key) for key in after}
        for key, value in after.items():
            setattr(row, key, value)
        session.add(row)
    return {
        key: {"before": before[key], "after": value}
        for key, value in after.items()
        if before[key] != value
    }


def set_active(session: Session, *, event_id: int, code_id: int, active: bool) -> AccessCode:
    """Switch a code off (it stops working at once, even for readers who typed it) or on.
    Raises NotFound."""
    with session.begin():
        row = get(session, event_id=event_id, code_id=code_id)
        row.active = active
        session.add(row)
    return row


def delete(session: Session, *, event_id: int, code_id: int) -> AccessCode:
    """Delete a code nobody has used. Raises NotFound, or Conflict once it has been used
    (switch it off instead: its orders keep pointing at it)."""
    with session.begin():
        row = get(session, event_id=event_id, code_id=code_id)
        assert row.id is not None
        if used(session, access_code_id=row.id):
            raise Conflict(
                f"The code {row.code} has been used or is carried by a promo link, so it "
                "cannot be deleted. Switch it off instead"
            )
        session.delete(row)
    return row
