"""Texts other features ask for: a shift changed or was cancelled, a coordinator's invitation.

Each function queues through the outbox inside the caller's transaction (flush, never commit)
and is safe to call twice: the idempotency keys carry the change's instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.extensions import db
from volunteer_app.shifts.models import Shift, Signup, SignupStatus
from volunteer_app.sms.models import Message
from volunteer_app.sms.outbox import (
    OutgoingText,
    history_entry,
    queue_many,
    queue_sms,
    withdraw_queued,
)

NOTIFIED_STATUSES = (SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)


def _people_on(shift: Shift, signups: Iterable[Signup] | None) -> list[Signup]:
    if signups is not None:
        return list(signups)
    return list(
        db.session.scalars(
            sa.select(Signup)
            .where(Signup.shift_id == shift.id, Signup.status.in_(NOTIFIED_STATUSES))
            .options(joinedload(Signup.user))
        )
    )


def withdraw_queued_reminders(shift: Shift, *, now: dt.datetime, reason: str) -> int:
    """Drop the shift's reminders not sent yet, freeing their keys so the worker schedules
    fresh ones for the shift's new time. Returns how many were withdrawn."""
    return withdraw_queued(
        Message.kind == "reminder", Message.shift_id == shift.id, now=now, reason=reason
    )


def _tell_everyone_on(
    shift: Shift,
    now: dt.datetime,
    *,
    what: str,
    expires_at: dt.datetime,
    signups: Iterable[Signup] | None,
) -> int:
    """Withdraw the shift's reminders not sent yet, then queue the `what` text (its template
    and the start of its key) to everyone confirmed or waitlisted on it. Returns how many
    texts were queued."""
    withdraw_queued_reminders(shift, now=now, reason=what.replace("_", " "))
    stamp = f"{now.timestamp():.0f}"
    texts = [
        OutgoingText(
            user=signup.user,
            template=what,
            key=f"{what}:{shift.id}:{stamp}:signup:{signup.id}",
            expires_at=expires_at,
            shift_id=shift.id,
            signup_id=signup.id,
            context={"shift": shift},
        )
        for signup in _people_on(shift, signups)
    ]
    return queue_many(texts, now=now)


def notify_shift_changed(
    shift: Shift, now: dt.datetime, *, signups: Iterable[Signup] | None = None
) -> int:
    """Tell everyone confirmed or waitlisted on `shift` its new time and place.

    Call after changing the shift. Reminders queued for the old time are withdrawn. Returns
    how many texts were queued.
    """
    return _tell_everyone_on(
        shift, now, what="shift_changed", expires_at=shift.starts_at, signups=signups
    )


def notify_shift_cancelled(
    shift: Shift, now: dt.datetime, *, signups: Iterable[Signup] | None = None
) -> int:
    """Tell everyone confirmed or waitlisted on `shift` that it is cancelled.

    Call before their signups are cancelled, or pass them as `signups`. Reminders not sent
    yet are withdrawn. Returns how many texts were queued.
    """
    return _tell_everyone_on(
        shift, now, what="shift_cancelled", expires_at=shift.ends_at, signups=signups
    )


def queue_invitation(
    user: User, shift: Shift, now: dt.datetime, *, invited_by_id: int | None, link: str
) -> Message | None:
    """Invite `user` by text to `shift` with a one-tap `link` and its JOIN code; once per
    person and shift, whichever feature asks.

    Who invited is recorded in the message's history, not in the text: the text names the
    organization. Returns the message, or None if already invited or the person has no phone.
    """
    message = queue_sms(
        user,
        "invitation",
        key=f"invitation:shift:{shift.id}:user:{user.id}",
        now=now,
        expires_at=shift.starts_at,
        shift_id=shift.id,
        shift=shift,
        link=link,
    )
    if message is not None and invited_by_id is not None:
        message.status_history = [
            history_entry("queued", now, f"invited by user {invited_by_id}"),
            *message.status_history[1:],
        ]
    return message
