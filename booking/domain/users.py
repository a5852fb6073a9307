"""Back-office accounts as organisers manage them: the list, invitations, deactivation.

Inviting lives in booking.domain.accounts (`invite`, which also queues the email).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from booking.domain import audit
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import Invitation, LoginSession, Role, User


@dataclass(frozen=True)
class Accounts:
    users: list[User]
    pending: list[Invitation]  # invitations not used and not expired


def overview(session: Session, *, now: datetime) -> Accounts:
    users = list(session.exec(select(User).order_by(col(User.active).desc(), col(User.email))))
    pending = list(
        session.exec(
            select(Invitation)
            .where(col(Invitation.used_at).is_(None), Invitation.expires_at > now)
            .order_by(col(Invitation.created_at).desc())
        )
    )
    return Accounts(users, pending)


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
