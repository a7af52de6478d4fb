"""Texts the worker schedules by itself: reminders before a shift, thanks and the team lead's
outcome prompt after it.

Each scheduler is set-based: a few queries per pass however many signups there are, and the
idempotency key (`reminder:1440:signup:123`, `thanks:signup:123`, `outcome_prompt:shift:45`)
makes every text happen once even when two workers schedule at the same moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from volunteer_app.accounts.models import User
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.initiatives.models import (
    DEFAULT_REMINDER_MINUTES,
    Initiative,
    InitiativeStatus,
    MetricKind,
)
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.outbox import OutgoingText, queue_many
from volunteer_app.sms.quiet_hours import QuietHours

MINUTES_PER_DAY = 24 * 60
# Thanks and outcome prompts are sent for shifts that ended at most this long ago, so a worker
# started after a long pause does not thank people for last month.
AFTER_SHIFT_LOOKBACK = dt.timedelta(days=1)
# Whole-day reminders follow the local calendar, and quiet hours can pull a reminder up to a
# day earlier: look this much further ahead than the longest offset.
LOOKAHEAD_SLACK = dt.timedelta(days=1, hours=2)


def reminder_key(minutes: int, signup_id: int) -> str:
    return f"reminder:{minutes}:signup:{signup_id}"


def reminder_due_at(starts_at: dt.datetime, minutes: int, tz: str) -> dt.datetime:
    """When a reminder `minutes` before `starts_at` is due.

    Whole days count on the local calendar, so a "24 h" reminder for Sunday 09:00 comes on
    Saturday at 09:00 even when the clocks change overnight; other offsets are elapsed time.
    """
    if minutes % MINUTES_PER_DAY == 0:
        wall = local(starts_at, tz).replace(tzinfo=None)
        return from_local(wall - dt.timedelta(days=minutes // MINUTES_PER_DAY), tz)
    return starts_at - dt.timedelta(minutes=minutes)


@dataclass(frozen=True)
class PlannedReminder:
    minutes: int
    due_at: dt.datetime  # the nominal time
    send_at: dt.datetime  # after quiet hours: maybe later, or earlier when it must precede


def plan_reminder(
    signup: Signup, offsets: list[int], quiet: QuietHours, *, now: dt.datetime
) -> PlannedReminder | None:
    """The one reminder to queue for `signup` now, if any.

    A reminder is queued from its due time (or from when quiet hours move it, if earlier).
    When several are due (the worker was stopped), only the latest is worth sending. One that
    would have gone before the person signed up is skipped: they just got the confirmation.
    """
    shift = signup.shift
    tz = shift.initiative.timezone
    signed_up_at = signup.confirmed_at or signup.created_at
    chosen: PlannedReminder | None = None
    for minutes in offsets:
        due_at = reminder_due_at(shift.starts_at, minutes, tz)
        send_at = quiet.send_time(due_at, tz, deadline=shift.starts_at)
        if min(due_at, send_at) > now or send_at >= shift.starts_at:
            continue
        if send_at < signed_up_at:
            continue
        if chosen is None or due_at > chosen.due_at:
            chosen = PlannedReminder(minutes, due_at, send_at)
    return chosen


def _offsets(initiative: Initiative) -> list[int]:
    minutes = initiative.reminder_minutes
    if minutes is None:
        minutes = DEFAULT_REMINDER_MINUTES
    return sorted({int(m) for m in minutes if int(m) > 0}, reverse=True)


def schedule_reminders(*, now: dt.datetime, quiet: QuietHours | None = None) -> int:
    """Queue the reminders that are due for confirmed signups on scheduled shifts of published
    initiatives. Returns how many were written. Three queries whatever the number of signups."""
    quiet = quiet or QuietHours.from_settings()
    longest = db.session.scalars(
        sa.select(Initiative.reminder_minutes).where(
            Initiative.status == InitiativeStatus.PUBLISHED
        )
    ).all()
    offsets = [int(m) for value in longest for m in (value or DEFAULT_REMINDER_MINUTES)]
    if not offsets:
        return 0
    horizon = now + dt.timedelta(minutes=max(offsets)) + LOOKAHEAD_SLACK
    signups = db.session.scalars(
        sa.select(Signup)
        .join(Signup.shift)
        .join(Shift.initiative)
        .join(Signup.user)
        .where(
            Signup.status == SignupStatus.CONFIRMED,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at > now,
            Shift.starts_at <= horizon,
            Initiative.status == InitiativeStatus.PUBLISHED,
            User.phone.is_not(None),
        )
        .options(
            contains_eager(Signup.shift).contains_eager(Shift.initiative),
            contains_eager(Signup.user),
        )
    ).all()
    texts = []
    for signup in signups:
        shift = signup.shift
        plan = plan_reminder(signup, _offsets(shift.initiative), quiet, now=now)
        if plan is None:
            continue
        texts.append(
            OutgoingText(
                user=signup.user,
                template="reminder",
                key=reminder_key(plan.minutes, signup.id),
                send_after=plan.send_at,
                expires_at=shift.starts_at,
                shift_id=shift.id,
                signup_id=signup.id,
                context={"shift": shift, "minutes": plan.minutes},
            )
        )
    return queue_many(texts, now=now)


def schedule_after_shift(*, now: dt.datetime) -> int:
    """Queue thanks (with the hours credited) to everyone who attended a shift that has ended,
    and to its team lead a prompt to text the outcome number. Returns how many were written."""
    since = now - AFTER_SHIFT_LOOKBACK
    ended = sa.and_(
        Shift.status == ShiftStatus.SCHEDULED,
        Shift.ends_at <= now,
        Shift.ends_at > since,
    )
    return queue_many([*_thanks(ended), *_outcome_prompts(ended)], now=now)


def _thanks(ended: sa.ColumnElement[bool]) -> list[OutgoingText]:
    """A thank-you to each attendee with a phone of the `ended` shifts."""
    attendees = db.session.execute(
        sa.select(Signup, HoursEntry.minutes)
        .join(Signup.shift)
        .join(Shift.initiative)
        .join(Signup.user)
        .outerjoin(
            HoursEntry,
            sa.and_(HoursEntry.signup_id == Signup.id, HoursEntry.status != HoursStatus.REJECTED),
        )
        .where(ended, Signup.status == SignupStatus.ATTENDED, User.phone.is_not(None))
        .options(
            contains_eager(Signup.shift).contains_eager(Shift.initiative),
            contains_eager(Signup.user),
        )
    ).all()
    return [
        OutgoingText(
            user=signup.user,
            template="thanks",
            key=f"thanks:signup:{signup.id}",
            shift_id=signup.shift_id,
            signup_id=signup.id,
            context={"shift": signup.shift, "minutes": minutes},
        )
        for signup, minutes in attendees
    ]


def _outcome_prompts(ended: sa.ColumnElement[bool]) -> list[OutgoingText]:
    """To the team lead with a phone of each of the `ended` shifts whose initiative counts an
    output, a prompt to text the number."""
    led = db.session.scalars(
        sa.select(Shift)
        .join(Shift.initiative)
        .join(Shift.team_lead)
        .where(ended, User.phone.is_not(None))
        .options(
            contains_eager(Shift.initiative).selectinload(Initiative.metrics),
            contains_eager(Shift.team_lead),
        )
    ).all()
    texts = []
    for shift in led:
        metric = next((m for m in shift.initiative.metrics if m.kind == MetricKind.OUTPUT), None)
        if metric is None or shift.team_lead is None:  # (the join leaves no shift without one)
            continue
        texts.append(
            OutgoingText(
                user=shift.team_lead,
                template="lead_outcome_prompt",
                key=f"outcome_prompt:shift:{shift.id}",
                shift_id=shift.id,
                context={"shift": shift, "metric": metric},
            )
        )
    return texts
