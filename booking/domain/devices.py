"""Door devices: each phone makes an id for itself; staff give it a name ("Main door phone"),
which every page shows in place of the id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from booking.domain.errors import InvalidInput
from booking.models import DoorDevice, User

MAX_NAME = 60
FORM = "form"  # the device id of the door page's form without JavaScript


def rename(session: Session, *, key: str, name: str, by: User, now: datetime) -> DoorDevice:
    """Give the device with this id a name (or a new one). Raises InvalidInput for an empty
    or over-long name, or a missing id."""
    name = " ".join(name.split())
    if not key or len(key) > 100:
        raise InvalidInput({"device": "This phone has no id: reload the page"})
    if not name:
        raise InvalidInput({"name": "Enter a name for this phone, like Main door phone"})
    if len(name) > MAX_NAME:
        raise InvalidInput({"name": f"Name must be {MAX_NAME} characters or fewer"})
    with session.begin():
        device = session.exec(select(DoorDevice).where(DoorDevice.key == key)).first()
        if device is None:
            device = DoorDevice(key=key, name=name)
        device.name, device.named_by, device.named_at = name, by.id, now
        session.add(device)
        session.flush()
        session.refresh(device)
        return device


def names(session: Session, *, keys: Iterable[str]) -> dict[str, str]:
    """The names of the devices with these ids (unnamed ones are left out)."""
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    return dict(session.connection().execute(_NAMES, {"keys": wanted}).all())


_NAMES = select(DoorDevice.key, DoorDevice.name).where(
    col(DoorDevice.key).in_(bindparam("keys", expanding=True))
)


def label(names: dict[str, str], key: str) -> str:
    """How a page calls a device: its name, else something short a person can tell apart."""
    if key in names:
        return names[key]
    if not key:
        return "an unknown device"
    if key == FORM:
        return "the door page's form"
    tail = key[6:10] if key.startswith("phone-") else key[:12]
    return f"an unnamed phone ({tail})"
