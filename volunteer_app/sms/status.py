"""Twilio's delivery reports (status callbacks) applied to outbound messages.

Callbacks arrive late, twice, and out of order, so a message's status only ever moves
forward: queued < sending < sent < a final state (delivered, undelivered, failed). A final
state is never replaced, not by a late earlier report and not by a different final one: the
first final word stands. Every callback is kept in `status_history` all the same, marked
`ignored` when it changed nothing, so people can see what Twilio said.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from volunteer_app.accounts.models import PhoneStatus, User
from volunteer_app.extensions import db
from volunteer_app.sms.models import Direction, Message, MessageStatus

# Twilio's statuses mapped onto ours (Twilio also says accepted, scheduled and read).
TWILIO_STATUSES: dict[str, MessageStatus] = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
FINAL = frozenset({MessageStatus.DELIVERED, MessageStatus.UNDELIVERED, MessageStatus.FAILED})
# Reports that mean the text left Twilio (a report can beat the worker's own record of it).
SENT_OR_LATER = frozenset({MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED})
RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENDING: 1,
    # A text handed to Twilio without an answer (or left for review) was, if Twilio reports on
    # it, really sent: the report settles what the worker would have looked up.
    MessageStatus.UNCONFIRMED: 1,
    MessageStatus.REVIEW: 1,
    MessageStatus.SENT: 2,
    MessageStatus.DELIVERED: 3,
    MessageStatus.UNDELIVERED: 3,
    MessageStatus.FAILED: 3,
}
OPTED_OUT_CODES = frozenset({"21610"})
PHONE_STATUS_CODES = {"21211": PhoneStatus.INVALID, "21614": PhoneStatus.NOT_SMS_CAPABLE}


def _locked_outbound(*conditions) -> Message | None:
    return db.session.scalar(
        sa.select(Message)
        .where(Message.direction == Direction.OUTBOUND, *conditions)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def apply_status_callback(  # noqa: C901 -- not split yet (#15)
    sid: str,
    twilio_status: str,
    error_code: str | None,
    *,
    now: dt.datetime,
    message_id: int | None = None,
) -> Message | None:
    """Apply one delivery report to the outbound message with Twilio SID `sid`.

    `message_id` is the text the callback URL names (see gateway.message_status_callback):
    Twilio can report before the worker has stored the SID it got back, and then the message
    is found by its id and takes the SID from the report. A message that already holds a
    different SID is not this report's.

    Returns the message, or None for a SID we never sent (ignored: Twilio must not retry).
    Error 21610 (the person opted out at Twilio) is mirrored on the person at once.
    """
    if not sid:
        return None
    message = _locked_outbound(Message.twilio_sid == sid)
    if message is None and message_id is not None:
        message = _locked_outbound(Message.id == message_id)
        if message is not None and message.twilio_sid not in (None, sid):
            message = None
    if message is None:
        return None
    if message.twilio_sid is None:
        message.twilio_sid = sid
    reported = (twilio_status or "").strip().lower()
    new_status = TWILIO_STATUSES.get(reported)
    error_code = (error_code or "").strip()[:20] or None

    applied = (
        new_status is not None
        and message.status in RANK
        and message.status not in FINAL
        and RANK[new_status] > RANK[message.status]
    )
    entry: dict[str, Any] = {"status": reported or "?", "at": now.isoformat(), "via": "callback"}
    if error_code:
        entry["error_code"] = error_code
    if not applied:
        entry["ignored"] = True
    message.status_history = [*(message.status_history or []), entry]

    if applied and new_status is not None:
        message.status = new_status
        if new_status in SENT_OR_LATER and message.sent_at is None:
            message.sent_at = now
        if error_code:
            message.error_code = error_code
    elif error_code and message.error_code is None and new_status in FINAL:
        # A late report still tells us why the text failed.
        message.error_code = error_code

    if error_code and message.user_id is not None:
        _mirror_error_on_person(message.user_id, error_code, now=now)
    db.session.flush()
    return message


def _mirror_error_on_person(user_id: int, error_code: str, *, now: dt.datetime) -> None:
    if error_code in OPTED_OUT_CODES:
        db.session.execute(
            sa.update(User)
            .where(User.id == user_id, User.sms_opted_out_at.is_(None))
            .values(sms_opted_out_at=now)
        )
    elif error_code in PHONE_STATUS_CODES:
        db.session.execute(
            sa.update(User)
            .where(User.id == user_id)
            .values(phone_status=PHONE_STATUS_CODES[error_code])
        )
