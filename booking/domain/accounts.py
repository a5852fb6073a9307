"""Users, roles and passwords (argon2 through pwdlib)."""

from __future__ import annotations

import secrets

from pwdlib import PasswordHash
from sqlmodel import Session, select

from booking.domain.errors import Conflict, InvalidInput
from booking.models import Role, User

_hasher = PasswordHash.recommended()
MIN_PASSWORD = 12


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
