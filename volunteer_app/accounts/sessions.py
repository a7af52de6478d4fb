"""Login sessions: one row per login per browser, carried by the session and remember-me
cookies as a random token, so that logging out ends the login on the server and a saved copy
of either cookie opens nothing afterwards.

Views call these at the edges of a request (logging in and out, the user loader); they flush,
never commit, except `record_seen`, which runs after the response in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import contains_eager
from ua_parser import parse as parse_user_agent

from volunteer_app.accounts.models import LoginSession, User
from volunteer_app.core.db import writing
from volunteer_app.extensions import db

MAX_USER_AGENT_LENGTH = 255
# How stale "last seen" may get before a visit writes it again: one write per login per
# interval, not one per page.
SEEN_EVERY = dt.timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime(remember: bool) -> dt.timedelta:
    config = current_app.config
    if remember:
        return config["REMEMBER_COOKIE_DURATION"]
    return dt.timedelta(seconds=config["LOGIN_SESSION_IDLE_SECONDS"])


def _attach(user: User, login: LoginSession, token: str) -> User:
    user.login_session = login
    user.login_token = token
    return user


def start_login_session(
    user: User, *, remember: bool, user_agent: str, now: dt.datetime
) -> LoginSession:
    """A new login for `user` in this browser; `user.get_id()` then answers its token, which
    Flask-Login puts in the session cookie (and the remember-me cookie if asked)."""
    token = secrets.token_urlsafe(32)
    login = LoginSession(
        user=user,
        token_hash=_hash(token),
        remember=remember,
        user_agent=(user_agent or "")[:MAX_USER_AGENT_LENGTH],
        created_at=now,
        last_seen_at=now,
        expires_at=now + _lifetime(remember),
    )
    db.session.add(login)
    db.session.flush()
    _attach(user, login, token)
    return login


def user_for_token(token: str, *, now: dt.datetime) -> User | None:
    """The active person whose login this token is, while the login is neither revoked nor
    expired; None otherwise. One query, the person and the login together."""
    if not token or len(token) > 100:
        return None
    login = db.session.scalar(
        sa.select(LoginSession)
        .join(LoginSession.user)
        .options(contains_eager(LoginSession.user))
        .where(
            LoginSession.token_hash == _hash(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > now,
            User.active.is_(True),
        )
    )
    return None if login is None else _attach(login.user, login, token)


def seen_update(login: LoginSession, *, now: dt.datetime) -> dict | None:
    """What `record_seen` should write after this visit, or None while "last seen" is fresh.
    A login without "keep me logged in" lives on for another idle period with each visit."""
    if now - login.last_seen_at < SEEN_EVERY:
        return None
    values = {"id": login.id, "last_seen_at": now}
    if not login.remember:
        values["expires_at"] = now + _lifetime(False)
    return values


def record_seen(values: dict) -> None:
    """Write a visit's "last seen" once the response is made. The request's own transaction
    is over by then (what it did not commit is dropped, as at any request's end), so this one
    begins with its write instead of turning a read into a write halfway."""
    db.session.rollback()
    login_id = values.pop("id")
    # A write of its own, begun as one (IMMEDIATE on SQLite) even after a read-only page.
    with writing(db.session):
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.id == login_id, LoginSession.revoked_at.is_(None))
            .values(**values)
        )
        db.session.commit()


def end_login_session(login: LoginSession | None, *, now: dt.datetime) -> None:
    """Log out this browser only."""
    if login is not None and login.revoked_at is None:
        login.revoked_at = now
        db.session.flush()


def end_every_login_session(user: User, *, now: dt.datetime) -> int:
    """Log `user` out of every browser (log out everywhere, a new password). Returns how many
    logins ended."""
    # An UPDATE's result is a CursorResult, which has the row count; execute() is typed as
    # answering any Result.
    ended = cast(
        CursorResult,
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if user.login_session is not None:
        db.session.expire(user.login_session)
    return ended


def active_login_sessions(user: User, *, now: dt.datetime) -> list[LoginSession]:
    """The person's logins that still work, most recently seen first."""
    return list(
        db.session.scalars(
            sa.select(LoginSession)
            .where(
                LoginSession.user_id == user.id,
                LoginSession.revoked_at.is_(None),
                LoginSession.expires_at > now,
            )
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def describe_device(user_agent: str) -> str:
    """ "Firefox on Linux", from the browser's User-Agent, for the list of logins."""
    parsed = parse_user_agent(user_agent or "").with_defaults()
    browser, system = parsed.user_agent.family, parsed.os.family
    if browser == "Other" and system == "Other":
        return _("An unknown browser")
    if system == "Other":
        return browser
    if browser == "Other":
        return _("A browser on %(system)s", system=system)
    return _("%(browser)s on %(system)s", browser=browser, system=system)
