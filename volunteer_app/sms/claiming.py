"""Claiming texts for sending: the worker's side of "never send a row twice".

A claim is a short transaction that takes due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL;
SQLite serialises writers with BEGIN IMMEDIATE), checks consent, expiry and quiet hours once
more, and marks the rest `claimed`; `hand_over` marks them `sending` just before their requests
go out. `recover_stale_claims` puts back the rows of a worker that died. See sms/worker.py for
the whole pass.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import User
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import history_entry, why_not_textable, withdraw
from volunteer_app.sms.quiet_hours import QuietHours

# Texts tied to a signup, and the signup's states in which they still make sense; on a
# cancelled shift none does. (Cancelling a signup withdraws them at once; this is the check
# at send time for the other ways a signup moves on.)
HOLDING = frozenset({SignupStatus.CONFIRMED, SignupStatus.ATTENDED})
SIGNUP_BOUND_KINDS = {
    "reminder": HOLDING,
    "signup_confirmed": HOLDING,
    "waitlist_promoted": HOLDING,
    "signup_waitlisted": frozenset({SignupStatus.WAITLISTED}),
}


@dataclass(frozen=True)
class Claimed:
    """What the sending thread needs of a claimed row; plain data, usable after commit.
    `attempts` counts this attempt; `handed_at` is when it was handed to Twilio."""

    id: int
    to: str
    body: str
    attempts: int
    user_id: int | None
    history: list[dict[str, Any]]
    handed_at: dt.datetime | None = None


def recover_stale_claims(*, now: dt.datetime) -> Counter:
    """Step (d): rows a worker took charge of more than SMS_SENDING_TIMEOUT_SECONDS ago with
    nothing recorded since: that worker died. Committed here.

    A `claimed` row was never handed to Twilio, so it goes back in the queue. A `sending` row
    was: it becomes `unconfirmed`, to be looked up at Twilio, never resent blindly.
    """
    config = current_app.config
    timeout = dt.timedelta(seconds=config["SMS_SENDING_TIMEOUT_SECONDS"])
    lookup_delay = dt.timedelta(seconds=config["SMS_LOOKUP_DELAY_SECONDS"])
    counts: Counter = Counter()
    stale = db.session.scalars(
        sa.select(Message)
        .where(
            Message.status.in_([MessageStatus.CLAIMED, MessageStatus.SENDING]),
            Message.claimed_at < now - timeout,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for message in stale:
        if message.status == MessageStatus.CLAIMED:
            message.send_after = now
            _move(message, MessageStatus.QUEUED, now, "never handed to Twilio: queued again")
            counts["requeued"] += 1
        else:
            assert message.claimed_at is not None  # the query took claimed_at < ..., not NULL
            message.send_after = max(now, message.claimed_at + lookup_delay)
            message.error = "sending interrupted: looking it up at Twilio"
            _move(message, MessageStatus.UNCONFIRMED, now, "sending interrupted")
            counts["unconfirmed"] += 1
    db.session.commit()
    return counts


def _move(message: Message, status: MessageStatus, now: dt.datetime, note: str | None = None):
    message.status = status
    message.updated_at = now
    message.status_history = [*(message.status_history or []), history_entry(status, now, note)]


def claim_batch(
    *, now: dt.datetime, limit: int, quiet: QuietHours, counts: Counter
) -> tuple[list[Claimed], int]:
    """Take up to `limit` due texts; returns the ones now `claimed` and how many rows were
    looked at (dropped and deferred ones included). Commits."""
    try:
        messages = db.session.scalars(
            sa.select(Message)
            .where(
                Message.direction == Direction.OUTBOUND,
                Message.status == MessageStatus.QUEUED,
                Message.send_after <= now,
            )
            .order_by(Message.send_after, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not messages:
            db.session.rollback()
            return [], 0
        users = _by_id(User, {m.user_id for m in messages if m.user_id})
        zones = _shift_timezones({m.shift_id for m in messages if m.shift_id})
        stale = _stale_signup_texts([m for m in messages if m.kind in SIGNUP_BOUND_KINDS])
        program_tz = current_app.config["PROGRAM_TIMEZONE"]
        claimed = []
        for message in messages:
            taken = _claim_one(
                message,
                user=users.get(message.user_id) if message.user_id else None,
                tz=zones.get(message.shift_id, program_tz) if message.shift_id else program_tz,
                stale=stale.get(message.id),
                now=now,
                quiet=quiet,
                counts=counts,
            )
            if taken is not None:
                claimed.append(taken)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed, len(messages)


def _claim_one(
    message: Message,
    *,
    user: User | None,
    tz: str,
    stale: str | None,
    now: dt.datetime,
    quiet: QuietHours,
    counts: Counter,
) -> Claimed | None:
    """Claim one due text, or drop it (no consent, too late, its signup moved on: `stale` says
    how) or defer it past quiet hours in `tz`; returns it when claimed."""
    reason = why_not_textable(user) if user is not None else None
    if reason is None and message.expires_at is not None and now >= message.expires_at:
        reason = "too late"
    if reason is None and stale is not None:
        # The key is freed, so the person gets this text after all if they sign up for the
        # shift again.
        withdraw(message, now=now, reason=stale)
        counts["dropped"] += 1
        return None
    if reason is None and quiet.is_quiet(now, tz):
        later = quiet.next_allowed(now, tz)
        if message.expires_at is not None and later >= message.expires_at:
            later = quiet.last_allowed_before(message.expires_at, tz)
            if later < now:
                reason = "quiet hours until shift start"
        if reason is None:
            message.send_after = later
            _move(message, MessageStatus.QUEUED, now, "quiet hours")
            counts["deferred"] += 1
            return None
    if reason is not None:
        message.error = reason
        _move(message, MessageStatus.DROPPED, now, reason)
        counts["dropped"] += 1
        return None
    message.claimed_at = now
    _move(message, MessageStatus.CLAIMED, now)
    return Claimed(
        id=message.id,
        to=message.to_phone,
        body=message.body,
        attempts=message.attempts + 1,
        user_id=message.user_id,
        history=list(message.status_history),
    )


def _by_id(model, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(sa.select(model).where(model.id.in_(ids)))}


def _shift_timezones(shift_ids: set[int]) -> dict[int, str]:
    if not shift_ids:
        return {}
    rows = db.session.execute(
        sa.select(Shift.id, Initiative.timezone)
        .join(Shift.initiative)
        .where(Shift.id.in_(shift_ids))
    )
    return {shift_id: tz for shift_id, tz in rows}


def _stale_signup_texts(messages: list[Message]) -> dict[int, str]:
    """Of these signup texts, those whose signup has moved on (see SIGNUP_BOUND_KINDS), by
    message id, with why."""
    signup_ids = {m.signup_id for m in messages if m.signup_id}
    if not signup_ids:
        return {}
    states = {
        signup_id: (signup_status, shift_status)
        for signup_id, signup_status, shift_status in db.session.execute(
            sa.select(Signup.id, Signup.status, Shift.status)
            .join(Signup.shift)
            .where(Signup.id.in_(signup_ids))
        )
    }
    stale = {}
    for message in messages:
        if message.signup_id not in states:
            continue
        signup_status, shift_status = states[message.signup_id]
        if shift_status == ShiftStatus.CANCELLED:
            stale[message.id] = "shift cancelled"
        elif signup_status not in SIGNUP_BOUND_KINDS[message.kind]:
            stale[message.id] = f"signup {signup_status}"
    return stale


_TABLE = Message.__table__


def hand_over(items: list[Claimed], *, now: dt.datetime) -> list[Claimed]:
    """Mark claimed texts `sending` just before their requests go out, counting the attempt;
    committed here. Returns those still this worker's: a worker that took too long may have
    seen some put back in the queue (and maybe claimed by another)."""
    try:
        mine = set(
            db.session.scalars(
                sa.update(_TABLE)
                .where(
                    _TABLE.c.id.in_([item.id for item in items]),
                    _TABLE.c.status == MessageStatus.CLAIMED.value,
                )
                .values(
                    status=MessageStatus.SENDING.value,
                    attempts=_TABLE.c.attempts + 1,
                    claimed_at=now,
                    updated_at=now,
                )
                .returning(_TABLE.c.id)
            )
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    entry = history_entry(MessageStatus.SENDING, now)
    return [
        dataclasses.replace(item, history=[*item.history, entry], handed_at=now)
        for item in items
        if item.id in mine
    ]
