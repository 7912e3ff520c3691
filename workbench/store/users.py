"""Users, roles and passwords (argon2id hashes; a plain password is never stored or logged)."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.store import audit
from workbench.store.schema import ROLES, User, utcnow

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when a username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """A user that cannot be created or changed as asked; the message says why."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password() -> str:
    """A random one-time password (about 96 bits)."""
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    must_change_password: bool = False,
    actor: str = "cli",
) -> User:
    """Create a user; the caller commits.

    Raises
    ------
    UserError
        On an invalid name or role, a taken name, or a short password.
    """
    if not USERNAME_PATTERN.match(username):
        raise UserError(
            f"invalid username {username!r}: use letters, digits and . _ @ - (at most 100)"
        )
    if role not in ROLES:
        raise UserError(f"invalid role {role!r}; choose one of: {', '.join(ROLES)}")
    _check_password(password)
    if get_user(session, username) is not None:
        raise UserError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, actor=actor, action="user.add", entity="user", entity_id=user.id,
        after={"username": username, "role": role},
    )
    return user


def set_password(
    session: Session, user: User, password: str, *, must_change: bool = False, actor: str = "cli"
) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    audit.record(
        session, actor=actor, action="user.password", entity="user", entity_id=user.id,
        after={"must_change_password": must_change},
    )


def set_role(session: Session, user: User, role: str, *, actor: str = "cli") -> None:
    if role not in ROLES:
        raise UserError(f"invalid role {role!r}; choose one of: {', '.join(ROLES)}")
    before = user.role
    user.role = role
    audit.record(
        session, actor=actor, action="user.role", entity="user", entity_id=user.id,
        before={"role": before}, after={"role": role},
    )


def set_active(session: Session, user: User, active: bool, *, actor: str = "cli") -> None:
    before = user.active
    user.active = active
    audit.record(
        session, actor=actor, action="user.active", entity="user", entity_id=user.id,
        before={"active": before}, after={"active": active},
    )


def verify_password(user: User, password: str) -> bool:
    """Whether ``password`` is ``user``'s current password (no side effects)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None.

    An unknown name costs one argon2 verification too, so timing does not reveal which names exist.
    A hash made with outdated parameters is upgraded on success.
    """
    user = get_user(session, username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user
