"""The outbox: how every service asks for a text to be sent.

Services call `queue_sms` inside their own transaction; the row commits (or rolls back) with
the change that caused it, and the worker sends it after commit. Services never talk to Twilio.
A unique idempotency key makes queuing the same text twice a no-op, even from two processes.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from volunteer_app.accounts.models import User
from volunteer_app.extensions import db
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.segments import count_segments


def render_sms(template: str, user: User, **context) -> str:
    """Render templates/sms/<template>.txt in the recipient's language."""
    with force_locale(user.preferred_language or "en"):
        text = render_template(f"sms/{template}.txt", user=user, **context)
    return " ".join(text.split())


def queue_sms(
    user: User,
    template: str,
    *,
    key: str,
    now: dt.datetime,
    send_after: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    shift_id: int | None = None,
    signup_id: int | None = None,
    **context,
) -> Message | None:
    """Queue one text to `user`, once per `key`.

    People without a phone get nothing. People with a phone but no consent, or who opted out,
    get a `dropped` row saying why, so a coordinator can see why nobody texted them.
    Returns the message, or None when there is no phone or the key was already used.
    """
    if not user.phone:
        return None
    existing = db.session.scalar(sa.select(Message.id).where(Message.idempotency_key == key))
    if existing is not None:
        return None
    body = render_sms(template, user, **context)
    message = Message(
        direction=Direction.OUTBOUND,
        status=MessageStatus.QUEUED,
        idempotency_key=key,
        user_id=user.id,
        to_phone=user.phone,
        from_phone=current_app.config.get("TWILIO_FROM_NUMBER", ""),
        body=body,
        kind=template,
        segments=count_segments(body),
        shift_id=shift_id,
        signup_id=signup_id,
        send_after=send_after or now,
        expires_at=expires_at,
        created_at=now,
        status_history=[{"status": "queued", "at": now.isoformat()}],
    )
    if not user.can_text:
        message.status = MessageStatus.DROPPED
        message.error = (
            "opted out"
            if user.sms_opted_out_at
            else "no SMS consent"
            if user.sms_consent_at is None
            else f"phone {user.phone_status}"
        )
    # A savepoint, so a concurrent insert of the same key does not spoil the caller's work.
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except sa.exc.IntegrityError:
        return None
    return message
