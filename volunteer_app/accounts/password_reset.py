"""Password-reset links: a signed, timestamped token that works once, the mail that carries
it, and setting the new password through it (which logs every browser out)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from volunteer_app.accounts.models import User
from volunteer_app.accounts.passwords import hash_password
from volunteer_app.accounts.services import (
    check_password_rules,
    language_or_default,
    normalise_email,
    public_url,
)
from volunteer_app.accounts.sessions import end_every_login_session
from volunteer_app.core.errors import DomainError
from volunteer_app.core.mail import MailError, send_mail
from volunteer_app.extensions import db

logger = logging.getLogger(__name__)

PASSWORD_RESET_SALT = "password-reset"  # noqa: S105 - a salt, not a secret


class InvalidResetLink(DomainError):
    status_code = 400


class _ClockSigner(TimestampSigner):
    """A timestamp signer that takes the time from the caller's `now`, so services stay
    testable without clock tricks and links expire exactly PASSWORD_RESET_MAX_AGE later."""

    def __init__(self, *args, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now.timestamp()) if self.now is not None else super().get_timestamp()


def _reset_serializer(now: dt.datetime) -> URLSafeTimedSerializer:
    config = current_app.config
    # Newest key last: links made before a key rotation keep working until they expire.
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(
        keys, salt=PASSWORD_RESET_SALT, signer=_ClockSigner, signer_kwargs={"now": now}
    )


def _password_fingerprint(user: User) -> str:
    # Part of the token: once the password changes, every link made before stops working.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:24]


def make_password_reset_token(user: User, *, now: dt.datetime) -> str:
    return _reset_serializer(now).dumps({"user": user.id, "pw": _password_fingerprint(user)})


def user_for_reset_token(token: str, *, now: dt.datetime) -> User:
    """The person a reset link was made for, while the link is good: signed by us, younger
    than PASSWORD_RESET_MAX_AGE, and the password unchanged since (so each link works once)."""
    refused = InvalidResetLink(
        _("This password reset link has expired or was already used. Ask for a new one.")
    )
    if len(token) > 512:
        raise refused
    try:
        payload = _reset_serializer(now).loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except BadSignature:  # also SignatureExpired
        raise refused from None
    if not isinstance(payload, dict):
        raise refused
    user_id, fingerprint = payload.get("user"), payload.get("pw")
    if not isinstance(user_id, int) or not isinstance(fingerprint, str):
        raise refused
    user = db.session.get(User, user_id)
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(fingerprint, _password_fingerprint(user))
    ):
        raise refused
    return user


def request_password_reset(email: str, *, now: dt.datetime) -> None:
    """Mail a reset link to the active account with this email, if there is one.

    Says nothing either way: the page answers the same whether or not the account exists.
    Writes nothing, so the mail can go out at once; a failing mail server is logged, not
    shown, for the same reason.
    """
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active or not user.email:
        logger.info("password reset asked for an unknown or inactive email")
        return
    token = make_password_reset_token(user, now=now)
    config = current_app.config
    link = public_url("accounts.reset_password", token=token)
    with force_locale(language_or_default(user.preferred_language)):
        subject = _("Reset your %(program)s password", program=config["PROGRAM_NAME"])
        body = render_template(
            "accounts/mail/password_reset.txt",
            user=user,
            link=link,
            minutes=config["PASSWORD_RESET_MAX_AGE"] // 60,
            program_name=config["PROGRAM_NAME"],
        )
    try:
        send_mail(user.email, subject, body)
    except MailError:
        logger.exception("could not send the password reset mail to user %s", user.id)


def reset_password(token: str, new_password: str, *, now: dt.datetime) -> User:
    """Set a new password through a reset link; the link stops working at once, and every
    browser logged in as this person is logged out (a stolen laptop included)."""
    user = user_for_reset_token(token, now=now)
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    db.session.flush()
    end_every_login_session(user, now=now)
    return user
