"""The outbox: how every service asks for a text to be sent.

Services call `queue_sms` inside their own transaction; the row commits (or rolls back) with
the change that caused it, and the worker sends it after commit. Services never talk to Twilio.
A unique idempotency key makes queuing the same text twice a no-op, even from two processes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy.dialects import postgresql, sqlite

from volunteer_app.accounts.models import User
from volunteer_app.extensions import db
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.segments import count_segments

# Typographic characters outside GSM-7 would make a whole text UCS-2 (70 characters a segment
# instead of 160); their plain twins read the same on a phone.
GSM_FRIENDLY = str.maketrans(
    {
        "…": "...",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
    }
)


def render_sms(template: str, user: User, **context) -> str:
    """Render templates/sms/<template>.txt in the recipient's language, on one line."""
    with force_locale(user.preferred_language or "en"):
        text = render_template(f"sms/{template}.txt", user=user, **context)
    # split() also folds the no-break spaces dates are formatted with.
    return " ".join(text.split()).translate(GSM_FRIENDLY)


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
    reason = why_not_textable(user)
    if reason is not None:
        message.status = MessageStatus.DROPPED
        message.error = reason
        message.status_history = [*message.status_history, history_entry("dropped", now, reason)]
    # A savepoint, so a concurrent insert of the same key does not spoil the caller's work.
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except sa.exc.IntegrityError:
        return None
    return message


def why_not_textable(user: User) -> str | None:
    """Why the outbox may not text `user` (recorded on dropped messages), or None if it may."""
    if user.can_text:
        return None
    if not user.phone:
        return "no phone"
    if user.sms_opted_out_at is not None:
        return "opted out"
    if user.sms_consent_at is None:
        return "no SMS consent"
    return f"phone {user.phone_status}"


def history_entry(status: str, at: dt.datetime, note: str | None = None) -> dict[str, Any]:
    """One line of a message's status_history."""
    entry: dict[str, Any] = {"status": str(status), "at": at.isoformat()}
    if note:
        entry["note"] = note
    return entry


def withdraw(message: Message, *, now: dt.datetime, reason: str) -> None:
    """Drop a text that was not sent and free its idempotency key, so the same key can be
    queued again later (a reminder for a shift's new time, or for a person who signed up
    again). The dropped row keeps a variant of the key: keys are unique."""
    message.status = MessageStatus.DROPPED
    message.error = reason
    message.idempotency_key = f"{message.idempotency_key}:withdrawn:{now.timestamp():.0f}"[:120]
    message.status_history = [
        *(message.status_history or []),
        history_entry("dropped", now, reason),
    ]
    message.updated_at = now


def withdraw_queued(*where: sa.ColumnElement[bool], now: dt.datetime, reason: str) -> int:
    """Withdraw the texts matching `where` that have not gone to Twilio: queued, or claimed by
    a worker that has not handed them over yet (it then finds them gone). Returns how many."""
    pending = db.session.scalars(
        sa.select(Message).where(
            Message.direction == Direction.OUTBOUND,
            Message.status.in_([MessageStatus.QUEUED, MessageStatus.CLAIMED]),
            *where,
        )
    ).all()
    for message in pending:
        withdraw(message, now=now, reason=reason)
    db.session.flush()
    return len(pending)


def withdraw_signup_texts(signup_id: int, *, now: dt.datetime, reason: str) -> int:
    """The person gave up their place: every text about it not sent yet goes (confirmation,
    waitlist place, promotion, reminders, a changed time), and signing up again brings fresh
    ones. Returns how many were withdrawn."""
    return withdraw_queued(Message.signup_id == signup_id, now=now, reason=reason)


@dataclass
class OutgoingText:
    """One text to queue with `queue_many`; the same fields as `queue_sms` takes."""

    user: User
    template: str
    key: str
    send_after: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    shift_id: int | None = None
    signup_id: int | None = None
    organization_id: int | None = None
    context: dict[str, Any] = field(default_factory=dict)


def queue_many(texts: list[OutgoingText], *, now: dt.datetime) -> int:
    """Queue many texts at once, each once per key, in a constant number of queries.

    The set-based twin of `queue_sms` for the worker's schedulers and roster-wide notices:
    one query finds keys already used, one INSERT ... ON CONFLICT DO NOTHING writes the rest,
    so two workers scheduling the same reminder at the same moment still write one row.
    Returns how many rows were written.
    """
    texts = [text for text in texts if text.user.phone]
    if not texts:
        return 0
    used = existing_keys([text.key for text in texts])
    from_phone = current_app.config.get("TWILIO_FROM_NUMBER", "")
    rows: dict[str, dict[str, Any]] = {}
    for text in texts:
        if text.key in used or text.key in rows:
            continue
        body = render_sms(text.template, text.user, **text.context)
        history = [history_entry("queued", now)]
        reason = why_not_textable(text.user)
        if reason is not None:
            history.append(history_entry("dropped", now, reason))
        rows[text.key] = {
            "direction": Direction.OUTBOUND,
            "status": MessageStatus.QUEUED if reason is None else MessageStatus.DROPPED,
            "idempotency_key": text.key,
            "user_id": text.user.id,
            "to_phone": text.user.phone,
            "from_phone": from_phone,
            "body": body,
            "kind": text.template,
            "segments": count_segments(body),
            "shift_id": text.shift_id,
            "signup_id": text.signup_id,
            "organization_id": text.organization_id,
            "send_after": text.send_after or now,
            "expires_at": text.expires_at,
            "attempts": 0,
            "error": reason,
            "status_history": history,
            "created_at": now,
            "updated_at": now,
        }
    if not rows:
        return 0
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    written = db.session.execute(
        insert(Message.__table__)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Message.__table__.c.id),
        list(rows.values()),
    ).all()
    return len(written)


def existing_keys(keys: list[str], *, chunk: int = 500) -> set[str]:
    """Which of `keys` are already used by a message."""
    found: set[str] = set()
    for i in range(0, len(keys), chunk):
        found.update(
            db.session.scalars(
                sa.select(Message.idempotency_key).where(
                    Message.idempotency_key.in_(keys[i : i + chunk])
                )
            )
        )
    return found
