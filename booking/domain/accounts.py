"""Users, roles and passwords (argon2 through pwdlib)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import bindparam, delete, update
from sqlmodel import Session, col, select

from booking.domain import audit, outbox
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import Invitation, LoginSession, MailKind, Role, User

_hasher = PasswordHash.recommended()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only for equal timing")


MIN_PASSWORD = 12
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    if not password_hash:
        return False
    return _hasher.verify(password, password_hash)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(session: Session, *, email: str, role: Role, password: str, name: str = "") -> User:
    """Create an account.

    Raises InvalidInput for a bad email or a short password, Conflict if the email is taken.
    """
    email = normalise_email(email)
    errors = {}
    if "@" not in email or len(email) > 254 or " " in email:
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"Password must be {MIN_PASSWORD} characters or more"
    if errors:
        raise InvalidInput(errors)
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"There is already an account for {email}")
    user = User(email=email, role=role, name=name, password_hash=hash_password(password))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


SESSION_DAYS = 14
INVITATION_DAYS = 7


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, *, email: str, password: str) -> User | None:
    """The active user with this email and password, or None (same time either way)."""
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if user is None or not user.active:
        _hasher.verify(password, _dummy_hash())  # spend the same time as a real check
        return None
    return user if verify_password(password, user.password_hash) else None


def start_session(
    session: Session, *, user: User, now: datetime, address: str = "", user_agent: str = ""
) -> str:
    """A new login session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    with session.begin():
        session.add(
            LoginSession(
                id=_digest(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(days=SESSION_DAYS),
                address=address[:64],
                user_agent=user_agent[:300],
            )
        )
    return token


_SESSION_USER = (
    select(User)
    .join(LoginSession)
    .where(LoginSession.id == bindparam("id"), LoginSession.expires_at > bindparam("now"))
)


def user_for_session(session: Session, *, token: str, now: datetime) -> User | None:
    user = session.exec(_SESSION_USER, params={"id": _digest(token), "now": now}).first()
    if user is None or not user.active:
        return None
    return user


def end_session(session: Session, *, token: str) -> None:
    with session.begin():
        session.execute(delete(LoginSession).where(col(LoginSession.id) == _digest(token)))


def invitation_token(key: bytes, nonce: str) -> str:
    """The one-time token of an invitation, made again from its nonce with `key` (derived
    from SECRET_KEY): the outbox keeps only the nonce, the invitation only the token's hash."""
    digest = hmac.new(key, f"invitation:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def invite(
    session: Session,
    *,
    email: str,
    role: Role,
    invited_by: User | None,
    now: datetime,
    key: bytes,
) -> tuple[Invitation, str]:
    """An invitation and its one-time token, with the email carrying the link queued in the
    same transaction. The token itself is stored nowhere: the email is rendered at send time
    from a nonce and `key` (see invitation_token). Raises InvalidInput or Conflict."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidInput(
            {"email": "Enter an email address in the correct format, like name@example.com"}
        )
    with session.begin():
        if session.exec(select(User).where(User.email == email)).first():
            raise Conflict(f"There is already an account for {email}")
        nonce = secrets.token_urlsafe(16)
        token = invitation_token(key, nonce)
        invitation = Invitation(
            token_hash=_digest(token),
            email=email,
            role=role,
            invited_by=invited_by.id if invited_by else None,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        session.add(invitation)
        session.flush()
        outbox.queue(
            session,
            kind=MailKind.INVITATION,
            recipient=email,
            dedupe_key=f"invitation:{invitation.id}",
            now=now,
            data={
                "nonce": nonce,
                "role": str(role),
                "invited_by": (invited_by.name or invited_by.email) if invited_by else "",
                "days": INVITATION_DAYS,
            },
        )
        audit.record(
            session,
            "user.invited",
            subject_type="invitation",
            subject_id=invitation.id,
            actor=invited_by or "system",
            now=now,
            data={"email": email, "role": str(role)},
        )
    return invitation, token


def resend_invitation(
    session: Session, *, invitation_id: int, actor: User, now: datetime, key: bytes
) -> Invitation:
    """Email a pending invitation again with a new link, good for another INVITATION_DAYS
    (the earlier link stops working). Raises NotFound for a used or revoked one."""
    with session.begin():
        invitation, nonce = _renew(session, invitation_id, now, key)
        outbox.queue(
            session,
            kind=MailKind.INVITATION,
            recipient=invitation.email,
            dedupe_key=f"invitation:{invitation.id}:{invitation.token_hash[:16]}",
            now=now,
            data={
                "nonce": nonce,
                "role": str(invitation.role),
                "invited_by": actor.name or actor.email,
                "days": INVITATION_DAYS,
            },
        )
        audit.record(
            session,
            "user.invitation_resent",
            subject_type="invitation",
            subject_id=invitation.id,
            actor=actor,
            now=now,
            data={"email": invitation.email},
        )
    return invitation


def invitation_link(
    session: Session, *, invitation_id: int, actor: User, now: datetime, key: bytes
) -> tuple[Invitation, str]:
    """A new link for a pending invitation, for the organiser to pass on themselves (only
    its hash is kept, so the old link is replaced). Raises NotFound."""
    with session.begin():
        invitation, nonce = _renew(session, invitation_id, now, key)
        audit.record(
            session,
            "user.invitation_link_copied",
            subject_type="invitation",
            subject_id=invitation.id,
            actor=actor,
            now=now,
            data={"email": invitation.email},
        )
    return invitation, invitation_token(key, nonce)


def revoke_invitation(
    session: Session, *, invitation_id: int, actor: User, now: datetime
) -> Invitation:
    """Stop a pending invitation's link working. Raises NotFound."""
    with session.begin():
        invitation = _pending_by_id(session, invitation_id, now)
        invitation.expires_at = now
        session.add(invitation)
        audit.record(
            session,
            "user.invitation_revoked",
            subject_type="invitation",
            subject_id=invitation.id,
            actor=actor,
            now=now,
            data={"email": invitation.email},
        )
    return invitation


def _pending_by_id(session: Session, invitation_id: int, now: datetime) -> Invitation:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise NotFound("This invitation has been used, revoked or has expired")
    return invitation


def _renew(
    session: Session, invitation_id: int, now: datetime, key: bytes
) -> tuple[Invitation, str]:
    """A new link for a pending invitation (the old one stops working); returns its nonce,
    from which invitation_token makes the link's token again."""
    invitation = _pending_by_id(session, invitation_id, now)
    nonce = secrets.token_urlsafe(16)
    invitation.token_hash = _digest(invitation_token(key, nonce))
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    session.add(invitation)
    session.flush()
    return invitation, nonce


def pending_invitation(session: Session, *, token: str, now: datetime) -> Invitation:
    """Raises NotFound for an unknown, used or expired invitation."""
    invitation = session.exec(
        select(Invitation).where(Invitation.token_hash == _digest(token))
    ).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise NotFound("This invitation link has expired or has been used")
    return invitation


def accept_invitation(session: Session, *, token: str, password: str, now: datetime) -> User:
    """Create the account once; a second use of the link is NotFound."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": f"Password must be {MIN_PASSWORD} characters or more"})
    with session.begin():
        invitation = pending_invitation(session, token=token, now=now)
        result = session.exec(
            update(Invitation)
            .where(col(Invitation.id) == invitation.id, col(Invitation.used_at).is_(None))
            .values(used_at=now)
        )
        if result.rowcount != 1:
            raise NotFound("This invitation link has expired or has been used")
        if session.exec(select(User).where(User.email == invitation.email)).first():
            raise Conflict(f"There is already an account for {invitation.email}")
        user = User(
            email=invitation.email, role=invitation.role, password_hash=hash_password(password)
        )
        session.add(user)
        session.flush()
    return user
