"""Access and discount codes: unlock a hidden ticket type and/or take money off, with a use
limit and a validity window. Uses are derived like seats (paid tickets plus unexpired holds)
and checked with them by booking.domain.inventory.refusal under the event's lock, so a limit
holds however many buyers race for it."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, select

from booking.domain import inventory
from booking.domain.errors import Conflict, InvalidInput
from booking.domain.inventory import CodeUsedUp as CodeUsedUp  # raised by the sale's check
from booking.models import AccessCode

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")


def normalise(code: str) -> str:
    return code.strip().upper().replace(" ", "")


def find(session: Session, *, event_id: int, code: str, now: datetime) -> AccessCode:
    """The active code for this event. Raises InvalidInput with a message for the `code` field."""
    clean = normalise(code)
    row = session.exec(
        select(AccessCode).where(AccessCode.event_id == event_id, AccessCode.code == clean)
    ).first()
    if row is None or not row.active:
        raise InvalidInput(
            {"code": f"There is no code {clean[:40]} for this event. Check it and try again"}
        )
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
    """Raises InvalidInput for a malformed code or discount, Conflict if the code exists."""
    clean = normalise(code)
    errors = {}
    if not CODE_RE.match(clean):
        errors["code"] = "Code must be 3 to 40 letters, numbers or dashes"
    if not 0 <= discount_percent <= 100:
        errors["discount_percent"] = "Percentage off must be between 0 and 100"
    if discount_amount < 0:
        errors["discount_amount"] = "Amount off must be 0 or more"
    if max_uses is not None and max_uses < 1:
        errors["max_uses"] = "Use limit must be 1 or more, or left empty for no limit"
    if valid_from and valid_until and valid_until <= valid_from:
        errors["valid_until"] = "The end of the validity window must be after its start"
    if not unlocks_ticket_type_id and not discount_amount and not discount_percent:
        errors["code"] = errors.get("code") or "A code must unlock a ticket type or take money off"
    if errors:
        raise InvalidInput(errors)
    with session.begin():
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
