"""Back-office accounts as organisers manage them: the list, invitations, deactivation.

Inviting lives in booking.domain.accounts (`invite`, which also queues the email).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from booking.domain import audit
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import Event, Invitation, LoginSession, Role, User, UserEvent


@dataclass(frozen=True)
class Accounts:
    users: list[User]
    pending: list[Invitation]  # invitations not used and not expired
    door_events: dict[int, list[Event]]  # staff limited to named events, by user id


def overview(session: Session, *, now: datetime) -> Accounts:
    users = list(session.exec(select(User).order_by(col(User.active).desc(), col(User.email))))
    pending = list(
        session.exec(
            select(Invitation)
            .where(col(Invitation.used_at).is_(None), Invitation.expires_at > now)
            .order_by(col(Invitation.created_at).desc())
        )
    )
    limited: dict[int, list[Event]] = {}
    for row, event in session.exec(
        select(UserEvent, Event).join(Event).order_by(col(Event.starts_at))
    ):
        limited.setdefault(row.user_id, []).append(event)
    return Accounts(users, pending, limited)


def door_event_ids(session: Session, *, user_id: int) -> list[int]:
    """The events a door staff member is limited to; empty means every event."""
    return list(session.exec(select(UserEvent.event_id).where(UserEvent.user_id == user_id)))


def may_work_door(session: Session, *, user: User, event_id: int) -> bool:
    """Organisers work every door; staff too unless limited to named events."""
    if user.role == Role.ORGANISER:
        return True
    if user.id is None:
        return False
    allowed = door_event_ids(session, user_id=user.id)
    return not allowed or event_id in allowed


def staff_may_work_door(user_id: Any, event_id: Any) -> Any:
    """`may_work_door` for door staff as an SQL condition (on a user id and an event id, as
    columns or parameters), for one query that reads the event and the permission."""
    limits = select(UserEvent.event_id).where(UserEvent.user_id == user_id)
    return ~limits.exists() | limits.where(UserEvent.event_id == event_id).exists()


def set_door_events(
    session: Session, *, user_id: int, event_ids: list[int], actor: User, now: datetime
) -> User:
    """Limit a door staff member to these events (none: every event).

    Raises NotFound, or InvalidInput for an unknown event or an organiser's account.
    """
    with session.begin():
        user = _get(session, user_id)
        if user.role != Role.STAFF:
            raise InvalidInput({"events": "Organisers can work every door"})
        wanted = sorted(set(event_ids))
        found = session.exec(select(Event.id).where(col(Event.id).in_(wanted))).all()
        if len(found) != len(wanted):
            raise InvalidInput({"events": "Select events from the list"})
        before = sorted(door_event_ids(session, user_id=user_id))
        if before != wanted:
            session.execute(delete(UserEvent).where(col(UserEvent.user_id) == user_id))
            for event_id in wanted:
                session.add(UserEvent(user_id=user_id, event_id=event_id))
            titles = dict(
                session.exec(select(Event.id, Event.title).where(col(Event.id).in_(wanted))).all()
            )
            audit.record(
                session,
                "user.door_events_changed",
                subject_type="user",
                subject_id=user.id,
                actor=actor,
                now=now,
                data={
                    "email": user.email,
                    "events": [titles[i] for i in wanted] or ["every event"],
                },
            )
    return user


def read_role(raw: str) -> Role:
    """The role picked on the invitation form. Raises InvalidInput."""
    try:
        return Role(raw)
    except ValueError:
        raise InvalidInput({"role": "Select what they will do"}) from None


def deactivate(session: Session, *, user_id: int, actor: User, now: datetime) -> User:
    """Stop an account signing in, ending its sessions everywhere.

    Raises NotFound, or Conflict for the organiser's own account.
    """
    with session.begin():
        user = _get(session, user_id)
        if user.id == actor.id:
            raise Conflict("You cannot deactivate your own account")
        if user.active:
            user.active = False
            session.add(user)
            session.execute(delete(LoginSession).where(col(LoginSession.user_id) == user_id))
            _audit(session, "user.deactivated", user, actor, now)
    return user


def reactivate(session: Session, *, user_id: int, actor: User, now: datetime) -> User:
    """Let a deactivated account sign in again (with its old password). Raises NotFound."""
    with session.begin():
        user = _get(session, user_id)
        if not user.active:
            user.active = True
            session.add(user)
            _audit(session, "user.reactivated", user, actor, now)
    return user


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No user at this address")
    return user


def _audit(session: Session, action: str, user: User, actor: User, now: datetime) -> None:
    audit.record(
        session,
        action,
        subject_type="user",
        subject_id=user.id,
        actor=actor,
        now=now,
        data={"email": user.email},
    )
