"""Accounts, sessions, CSRF and login throttling (OWASP ASVS level 2 where it applies).

- Passwords: argon2id through pwdlib (its recommended parameters); a login against an unknown
  user still verifies a dummy hash, so the time does not tell which usernames exist.
- Sessions: server-side; the cookie holds 32 random bytes, the database their SHA-256; a
  session ends at logout, when the account is disabled, or after `SESSION_HOURS`.
- CSRF: a per-session synchroniser token, required on every state-changing request (form
  field `csrf_token` or header `X-CSRF-Token`); the login form, before any session, uses a
  double-submit cookie.
- Throttling: after `MAX_FAILURES` failed logins within `WINDOW` for a username or for a
  client address, further attempts are refused until the window has passed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from neurorehab.web.db import AuthSession, LoginFailure, User, now

SESSION_HOURS = 12
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10

_hasher = PasswordHash.recommended()


@functools.cache
def _dummy() -> str:
    """A hash to verify against for unknown users (made on first use, not at import)."""
    return _hasher.hash("not a real password, only for timing")


def utc(t: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problem(password: str, username: str) -> str | None:
    """Why a new password is refused (ASVS 2.1: length, not the username), or None."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters (got {len(password)})"
    if len(password) > 128:
        return "at most 128 characters"
    if username.lower() in password.lower():
        return "must not contain the username"
    return None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttled(db: Session, username: str, address: str) -> bool:
    since = now() - WINDOW
    for key in (f"user:{username.lower()}", f"addr:{address}"):
        count = db.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.key == key, LoginFailure.at > since)
        )
        if (count or 0) >= MAX_FAILURES:
            return True
    return False


def authenticate(db: Session, username: str, password: str, address: str) -> User | None:
    """The active user with these credentials, or None (and the failure is counted)."""
    user = db.scalar(select(User).where(User.username == username))
    ok = _hasher.verify(password, user.password_hash if user else _dummy())
    if user is None or not ok or not user.active:
        db.add(LoginFailure(key=f"user:{username.lower()[:100]}"))
        db.add(LoginFailure(key=f"addr:{address[:100]}"))
        db.commit()
        return None
    db.execute(delete(LoginFailure).where(LoginFailure.key == f"user:{username.lower()}"))
    return user


def start_session(db: Session, user: User) -> str:
    """A new session for `user`; returns the cookie's token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    db.add(
        AuthSession(
            token_hash=_digest(token),
            user_id=user.id,
            csrf=secrets.token_urlsafe(32),
            expires_at=now() + timedelta(hours=SESSION_HOURS),
        )
    )
    db.commit()
    return token


def session_of(db: Session, token: str | None) -> tuple[AuthSession, User] | None:
    """The live session and its active user for a cookie token, or None."""
    if not token or len(token) > 200:
        return None
    row = db.get(AuthSession, _digest(token))
    if row is None or row.revoked or utc(row.expires_at) < now():
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def end_session(db: Session, token: str | None) -> None:
    if token:
        row = db.get(AuthSession, _digest(token))
        if row is not None:
            row.revoked = True
            db.commit()


def end_all_sessions(db: Session, user_id: int) -> None:
    """Disabling an account or changing its password ends every session it has."""
    for row in db.scalars(select(AuthSession).where(AuthSession.user_id == user_id)):
        row.revoked = True


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_token() -> str:
    return secrets.token_urlsafe(32)
