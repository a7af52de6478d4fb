"""Demo phase 6: a few texts already sent and delivered, so the message log is not empty."""

from __future__ import annotations

import datetime as dt
import random

from volunteer_app.accounts.models import User
from volunteer_app.extensions import db
from volunteer_app.seed.demo.city import City, PlannedShift
from volunteer_app.shifts.models import Shift, Signup, SignupSource, SignupStatus
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import render_sms
from volunteer_app.sms.segments import count_segments

PROGRAM_PHONE = "+12025550100"


def add_messages(city: City) -> None:
    """A few texts already sent and delivered, so the message log is not empty."""
    users = {p.user.id: p.user for p in city.people}
    for number, (planned, signup) in enumerate(_confirmations_to_text(city, users)):
        user = users[signup.user_id]
        sent_at = city.past(signup.created_at + dt.timedelta(seconds=city.rng.randint(2, 40)))
        if signup.source == SignupSource.SMS:
            _add_join_text(city, user, planned.shift, signup)
        _add_confirmation(
            city, user, planned.shift, signup, sent_at=sent_at, delivered=number % 3 != 2
        )


def _confirmations_to_text(city: City, users: dict[int, User]) -> list[tuple[PlannedShift, Signup]]:
    """Four confirmed spots ahead, of people who may be texted, on four different shifts."""
    upcoming = [
        (planned, signup)
        for planned, signup in city.signups
        if signup.status == SignupStatus.CONFIRMED and planned.shift.starts_at > city.now
    ]
    picked, shifts_used = [], set()
    for planned, signup in upcoming:
        if users[signup.user_id].can_text and planned.shift.id not in shifts_used:
            picked.append((planned, signup))
            shifts_used.add(planned.shift.id)
        if len(picked) == 4:
            break
    return picked


def _add_join_text(city: City, user: User, shift: Shift, signup: Signup) -> None:
    """The JOIN text that made an SMS signup."""
    db.session.add(
        Message(
            direction=Direction.INBOUND,
            status=MessageStatus.RECEIVED,
            twilio_sid=_twilio_sid(city.rng),
            user_id=user.id,
            to_phone=PROGRAM_PHONE,
            from_phone=user.phone,
            body=f"JOIN {shift.code}",
            kind="join",
            shift_id=shift.id,
            signup_id=signup.id,
            send_after=signup.created_at,
            created_at=signup.created_at,
            updated_at=signup.created_at,
            status_history=[{"status": "received", "at": signup.created_at.isoformat()}],
        )
    )


def _add_confirmation(
    city: City, user: User, shift: Shift, signup: Signup, *, sent_at: dt.datetime, delivered: bool
) -> None:
    """The confirmation text of a signup, sent at `sent_at` and delivered if `delivered`."""
    history = [
        {"status": "queued", "at": signup.created_at.isoformat()},
        {"status": "sent", "at": sent_at.isoformat()},
    ]
    if delivered:
        delivered_at = city.past(sent_at + dt.timedelta(seconds=3))
        history.append({"status": "delivered", "at": delivered_at.isoformat()})
    body = render_sms("signup_confirmed", user, shift=shift)
    key = f"signup:{signup.id}:confirmed:{signup.created_at.timestamp():.0f}"
    db.session.add(
        Message(
            direction=Direction.OUTBOUND,
            status=MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
            idempotency_key=key,
            twilio_sid=_twilio_sid(city.rng),
            user_id=user.id,
            to_phone=user.phone,
            from_phone=PROGRAM_PHONE,
            body=body,
            kind="signup_confirmed",
            segments=count_segments(body),
            shift_id=shift.id,
            signup_id=signup.id,
            send_after=signup.created_at,
            attempts=1,
            claimed_at=sent_at,
            sent_at=sent_at,
            status_history=history,
            created_at=signup.created_at,
            updated_at=sent_at,
        )
    )


def _twilio_sid(rng: random.Random) -> str:
    return f"SM{rng.getrandbits(128):032x}"
