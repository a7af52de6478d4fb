"""Acting on a text someone sent us: the one code path behind the Twilio webhook and the
admin simulator.

`handle_inbound` records the message once per MessageSid (the inbound row is inserted
before anything acts, so a retried or concurrent delivery of the same SID finds it and gets
the stored reply), runs the command in a savepoint, and records the reply both on the
inbound row (`reply_body`) and as an outbound `reply` row so logs and the simulator show it.
It flushes and never commits; the caller commits, and runs it again when the transaction lost
a race with another (`lost_race`: a deadlock, a serialization failure, a busy SQLite).

Replies are rendered from templates/sms/reply_*.txt in the person's language (Spanish when
they used a Spanish alias). Twilio answers its own opt-out words (STOP, ...) and opt-in words
for a number it had blocked, so we add nothing then. People who opted out get no reply except
to START and HELP.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import sqlite3
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, format_decimal
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import DomainError
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.extensions import db
from volunteer_app.hours import services as hours
from volunteer_app.impact.models import OutcomeSource
from volunteer_app.impact.outcomes import goal_progress, record_outcome
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, MetricKind
from volunteer_app.shifts import queries as shift_queries
from volunteer_app.shifts import services as shifts
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupSource, SignupStatus
from volunteer_app.sms.commands import Command, Kind, fold, name_from_text, parse, tokens
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import GSM_FRIENDLY
from volunteer_app.sms.segments import count_segments

logger = logging.getLogger(__name__)

# A team lead may text the outcome number this long after their shift ends.
OUTCOME_WINDOW = dt.timedelta(hours=48)
SHIFTS_LISTED = 3
MAX_BODY = 1600


@dataclass
class Outcome:
    """What a command did: the reply to give, and what it concerned (for the log)."""

    reply: str | None
    user: User | None = None
    shift_id: int | None = None


def render_reply(template: str, locale: str, **context) -> str:
    """Render templates/sms/reply_<template>.txt in `locale`, on one line."""
    config = current_app.config
    context.setdefault("program", config["PROGRAM_NAME"])
    context.setdefault("contact", config["PROGRAM_CONTACT"])
    with force_locale(locale):
        text = render_template(f"sms/reply_{template}.txt", **context)
    return " ".join(text.split()).translate(GSM_FRIENDLY)


def normalise_phone(raw: str) -> str:
    """E.164 when it parses (Twilio sends E.164 already); short codes and odd senders as given."""
    try:
        return to_e164(raw)
    except InvalidPhone:
        return raw.strip()[:20]


def lost_race(exc: BaseException) -> bool:
    """Whether `exc` says this transaction lost a race with another one and would succeed if
    run again: a deadlock (40P01) or serialization failure (40001) on PostgreSQL, a busy or
    locked database on SQLite."""
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in ("40P01", "40001"):
        return True
    return getattr(orig, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def stored_reply(message_sid: str) -> Message | None:
    return db.session.scalar(
        sa.select(Message).where(Message.idempotency_key == f"inbound:{message_sid}")
    )


def handle_inbound(
    from_phone: str, body: str, message_sid: str, now: dt.datetime, *, to_phone: str = ""
) -> str | None:
    """Record one inbound text, act on it once, and return the reply text (None: no reply).

    The same `message_sid` again returns the reply given the first time and acts no more.
    A command refused by a domain rule answers with the reason; any other error rolls the
    command back and answers with a short apology, so the sender is never left in silence.
    """
    existing = stored_reply(message_sid)
    if existing is not None:
        return existing.reply_body

    phone = normalise_phone(from_phone)
    body = (body or "")[:MAX_BODY]
    user = db.session.scalar(sa.select(User).where(User.phone == phone))
    command = parse(body)
    inbound = Message(
        direction=Direction.INBOUND,
        status=MessageStatus.RECEIVED,
        idempotency_key=f"inbound:{message_sid}",
        twilio_sid=message_sid[:64],
        user_id=user.id if user else None,
        to_phone=(to_phone or current_app.config.get("TWILIO_FROM_NUMBER", ""))[:20],
        from_phone=phone,
        body=body,
        kind=f"in:{command.kind}",
        segments=count_segments(body),
        send_after=now,
        created_at=now,
        status_history=[{"status": "received", "at": now.isoformat()}],
    )
    try:
        with db.session.begin_nested():
            db.session.add(inbound)
    except sa.exc.IntegrityError:
        # The same SID is being handled by another request, which committed first: it acted,
        # we only repeat its answer.
        existing = stored_reply(message_sid)
        return existing.reply_body if existing is not None else None

    outcome = _act(command, user, phone, message_sid=message_sid, now=now)
    sender = outcome.user or user
    inbound.user_id = sender.id if sender else None
    inbound.shift_id = outcome.shift_id
    inbound.reply_body = outcome.reply
    if outcome.reply is not None:
        db.session.add(_reply_row(inbound, outcome.reply, message_sid=message_sid, now=now))
    db.session.flush()
    return outcome.reply


def _act(
    command: Command, user: User | None, phone: str, *, message_sid: str, now: dt.datetime
) -> Outcome:
    """Run the command in a savepoint, in the sender's language. A refusal by a domain rule
    answers with the reason; any other error (but a lost race, which the caller retries) is
    rolled back and answered with an apology."""
    locale = command.language or (user.preferred_language if user else None) or "en"
    try:
        with force_locale(locale), db.session.begin_nested():
            return dispatch(command, user, phone, now=now)
    except DomainError as exc:
        return Outcome(render_reply("problem", locale, reason=exc.message), user)
    except Exception as exc:
        if lost_race(exc):
            raise  # the caller runs the whole transaction again
        logger.exception("SMS command %s from message %s failed", command.kind, message_sid)
        return Outcome(render_reply("apology", locale), user)


def _reply_row(inbound: Message, reply: str, *, message_sid: str, now: dt.datetime) -> Message:
    """The outbound `reply` row for the answer Twilio delivers in its TwiML response."""
    return Message(
        direction=Direction.OUTBOUND,
        status=MessageStatus.SENT,
        idempotency_key=f"reply:{message_sid}"[:120],
        user_id=inbound.user_id,
        to_phone=inbound.from_phone,
        from_phone=inbound.to_phone,
        body=reply,
        kind="reply",
        segments=count_segments(reply),
        shift_id=inbound.shift_id,
        send_after=now,
        sent_at=now,
        created_at=now,
        status_history=[{"status": "sent", "at": now.isoformat(), "via": "twiml"}],
    )


# ---------------------------------------------------------------------------------------------
# Commands


def dispatch(command: Command, user: User | None, phone: str, *, now: dt.datetime) -> Outcome:  # noqa: C901, PLR0911, PLR0912 -- one branch per command, read as a table
    """Run one parsed command for the person texting from `phone` (`user` None: unknown)."""
    locale = command.language or (user.preferred_language if user else None) or "en"
    opted_out = user is not None and user.sms_opted_out_at is not None
    if opted_out and command.kind not in (Kind.OPT_IN, Kind.HELP):
        return Outcome(None, user)

    if command.kind == Kind.OPT_OUT:
        return opt_out(command, user, now=now, locale=locale)
    if command.kind == Kind.OPT_IN:
        return opt_in(user, now=now, locale=locale)
    if command.kind == Kind.HELP:
        return Outcome(render_reply("help", locale), user)
    if command.kind == Kind.JOIN:
        return join(command, user, phone, now=now, locale=locale)
    if user is None:
        return Outcome(render_reply("unknown_phone", locale))
    if command.kind == Kind.RESERVED_HINT:
        return Outcome(render_reply("hint", locale, word=command.keyword), user)
    if command.kind == Kind.CONFIRM:
        return confirm(command, user, now=now, locale=locale)
    if command.kind == Kind.DROP:
        return drop(command, user, now=now, locale=locale)
    if command.kind == Kind.CHECK_IN:
        return check_in(command, user, now=now, locale=locale)
    if command.kind == Kind.CHECK_OUT:
        return check_out(command, user, now=now, locale=locale)
    if command.kind == Kind.SHIFTS:
        return list_shifts(user, now=now, locale=locale)
    if command.kind == Kind.NUMBER:
        return number(command, user, now=now, locale=locale)
    if command.kind == Kind.TEXT and not user.name:
        name = name_from_text(command.text)
        if name:
            user.name = name[:120]
            db.session.flush()
            return Outcome(render_reply("name_saved", locale, name=name), user)
    return Outcome(render_reply("menu", locale), user)


def opt_out(command: Command, user: User | None, *, now: dt.datetime, locale: str) -> Outcome:
    """Mirror an opt-out at once. Twilio answers its own keywords; we confirm the others."""
    if user is not None and user.sms_opted_out_at is None:
        user.sms_opted_out_at = now
        db.session.flush()
    if command.twilio_keyword:
        return Outcome(None, user)
    return Outcome(render_reply("opted_out", locale), user)


def opt_in(user: User | None, *, now: dt.datetime, locale: str) -> Outcome:
    """START/UNSTOP/YES. Twilio confirms a re-subscription itself; to someone who was never
    opted out (a "YES" to a reminder) we explain what to text instead."""
    if user is None:
        return Outcome(render_reply("unknown_phone", locale))
    was_opted_out = user.sms_opted_out_at is not None
    user.sms_opted_out_at = None
    record_consent(user, now=now)
    db.session.flush()
    if was_opted_out:
        return Outcome(None, user)
    return Outcome(render_reply("opted_in", locale), user)


def record_consent(user: User, *, now: dt.datetime) -> None:
    """Consent from the person's own text, unless they already gave it."""
    if user.sms_consent_at is None:
        user.sms_consent_at = now
        user.sms_consent_version = current_app.config["SMS_CONSENT_VERSION"]
        user.sms_consent_source = "sms"


def _upcoming_signups(
    user: User, *, now: dt.datetime, statuses: tuple[SignupStatus, ...], code: str | None = None
) -> list[Signup]:
    query = (
        sa.select(Signup)
        .join(Signup.shift)
        .where(
            Signup.user_id == user.id,
            Signup.status.in_(statuses),
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at > now,
        )
        .order_by(Shift.starts_at, Shift.id)
        .options(joinedload(Signup.shift).joinedload(Shift.initiative))
    )
    if code is not None:
        query = query.where(Shift.code == code)
    return list(db.session.scalars(query))


def confirm(command: Command, user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """OK: the person is still coming to their next confirmed shift (or the one coded)."""
    signups = _upcoming_signups(
        user, now=now, statuses=(SignupStatus.CONFIRMED,), code=command.code
    )
    if not signups:
        return Outcome(render_reply("none", locale, action="confirm", code=command.code), user)
    signup = signups[0]
    signup.reconfirmed_at = now
    db.session.flush()
    return Outcome(render_reply("confirmed", locale, shift=signup.shift), user, signup.shift_id)


def drop(command: Command, user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """DROP: give up the next shift (or the one coded); the waitlist moves up."""
    signups = _upcoming_signups(
        user,
        now=now,
        statuses=(SignupStatus.CONFIRMED, SignupStatus.WAITLISTED),
        code=command.code,
    )
    if not signups:
        return Outcome(render_reply("none", locale, action="drop", code=command.code), user)
    signup = signups[0]
    was_waitlisted = signup.status == SignupStatus.WAITLISTED
    shifts.cancel_signup(signup, now=now)
    return Outcome(
        render_reply("dropped", locale, shift=signup.shift, was_waitlisted=was_waitlisted),
        user,
        signup.shift_id,
    )


def check_in(command: Command, user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """IN: check in to the shift happening now; with several, ask which by code."""
    open_signups = hours.signups_open_for_check_in(user, now=now)
    if command.code is not None:
        open_signups = [s for s in open_signups if s.shift.code == command.code]
    if not open_signups:
        return Outcome(render_reply("none", locale, action="in", code=command.code), user)
    not_yet_out = [s for s in open_signups if s.checked_out_at is None] or open_signups
    if len(not_yet_out) > 1:
        return Outcome(
            render_reply("choose", locale, verb="IN", shifts=[s.shift for s in not_yet_out]),
            user,
        )
    signup = not_yet_out[0]
    already = signup.checked_in_at is not None
    hours.check_in(signup, now=now, method="sms")
    return Outcome(
        render_reply(
            "checked_in",
            locale,
            shift=signup.shift,
            already=already,
            checked_in_at=signup.checked_in_at,
        ),
        user,
        signup.shift_id,
    )


def check_out(command: Command, user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """OUT: check out of the shift checked in to and credit the hours."""
    checked_in = hours.signups_checked_in(user)
    if command.code is not None:
        checked_in = [s for s in checked_in if s.shift.code == command.code]
    if not checked_in:
        return Outcome(render_reply("none", locale, action="out", code=command.code), user)
    if len(checked_in) > 1:
        return Outcome(
            render_reply("choose", locale, verb="OUT", shifts=[s.shift for s in checked_in]),
            user,
        )
    signup = checked_in[0]
    entry = hours.check_out(signup, now=now, method="sms")
    hours_served = decimal.Decimal(entry.minutes) / 60
    with force_locale(locale):
        hours_text = format_decimal(hours_served.quantize(decimal.Decimal("0.01")).normalize())
    return Outcome(
        render_reply(
            "checked_out",
            locale,
            shift=signup.shift,
            hours=hours_text,
            plural=1 if entry.minutes == 60 else 2,
        ),
        user,
        signup.shift_id,
    )


@dataclass
class _Listed:
    shift: Shift
    rank: int | None


def list_shifts(user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """SHIFTS: the next few shifts the person holds a spot or waits for."""
    signups = db.session.scalars(
        sa.select(Signup)
        .join(Signup.shift)
        .where(
            Signup.user_id == user.id,
            Signup.status.in_(
                [
                    SignupStatus.CONFIRMED,
                    SignupStatus.WAITLISTED,
                    SignupStatus.ATTENDED,
                ]
            ),
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.ends_at > now,
        )
        .order_by(Shift.starts_at, Shift.id)
        .options(joinedload(Signup.shift).joinedload(Shift.initiative))
    ).all()
    shown = list(signups[:SHIFTS_LISTED])
    ranks = shift_queries.waitlist_ranks(shown)
    items = [_Listed(s.shift, ranks.get(s.id)) for s in shown]
    return Outcome(
        render_reply("shifts", locale, items=items, more=len(signups) - len(shown)), user
    )


def join(
    command: Command, user: User | None, phone: str, *, now: dt.datetime, locale: str
) -> Outcome:
    """JOIN <code>: sign up by text. A phone never seen before becomes a volunteer with just
    a phone (and the language they wrote in); consent comes from this very message."""
    if command.code is None:
        url = current_app.config["PUBLIC_BASE_URL"] + "/initiatives"
        return Outcome(render_reply("join_how", locale, url=url), user)
    shift = shift_queries.shift_by_code(command.code)
    if shift is None or shift.initiative.status == InitiativeStatus.DRAFT:
        return Outcome(render_reply("unknown_code", locale, code=command.code), user)
    # The shift's lock before the person's row is written (consent): the order every signup
    # takes its locks in.
    shifts.lock_shift(shift.id)
    if user is None:
        user = new_texter(phone, language=command.language or "en", now=now)
    record_consent(user, now=now)
    db.session.flush()
    result = shifts.signup_for_shift(user, shift, now=now, source=SignupSource.SMS)
    _answered_by_reply(result.signup, now=now)
    reply = render_reply(
        "joined",
        locale,
        shift=shift,
        waitlisted=result.waitlisted,
        position=result.position,
        ask_name=not user.name,
    )
    return Outcome(reply, user, shift.id)


def new_texter(phone: str, *, language: str, now: dt.datetime) -> User:
    """A volunteer with just a phone. Several texts from a new phone at once each try to make
    them: the first to commit does, the others take that person."""
    user = User(
        phone=phone,
        name="",
        email=None,
        password_hash=None,
        preferred_language=language,
        created_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError:
        # PostgreSQL: the insert waited for the other transaction and this statement sees
        # what it committed. (SQLite serialises writers, so it never gets here.)
        made = db.session.scalar(sa.select(User).where(User.phone == phone))
        if made is None:
            raise
        return made
    return user


def _answered_by_reply(signup: Signup, *, now: dt.datetime) -> None:
    """The JOIN reply already says everything the queued confirmation would; keep the row
    (so the log shows why) but do not send the same news twice."""
    queued = db.session.scalars(
        sa.select(Message).where(
            Message.signup_id == signup.id,
            Message.status == MessageStatus.QUEUED,
            Message.kind.in_(["signup_confirmed", "signup_waitlisted"]),
            Message.created_at == now,
        )
    )
    for message in queued:
        message.status = MessageStatus.DROPPED
        message.error = "answered by the reply to the JOIN text"
        message.status_history = [
            *message.status_history,
            {"status": "dropped", "at": now.isoformat(), "why": "in the JOIN reply"},
        ]
    db.session.flush()


def number(command: Command, user: User, *, now: dt.datetime, locale: str) -> Outcome:
    """A number from a team lead soon after their shift: the shift's outcome value. From anyone
    else, a number is most likely a shift code sent without its command word."""
    assert command.number is not None  # the parser gives every NUMBER command its number
    shift = led_shift(user, now=now)
    if shift is None:
        if command.keyword is None and shift_queries.shift_by_code(command.number) is not None:
            return Outcome(render_reply("did_you_mean", locale, code=command.number), user)
        return Outcome(render_reply("menu", locale), user)
    metrics = shift.initiative.metrics
    metric = pick_metric(metrics, command.keyword)
    if metric is None:
        keywords = [f"{keyword_of(m)} 12" for m in metrics]
        return Outcome(render_reply("outcome_which", locale, keywords=keywords), user, shift.id)
    record = record_outcome(
        metric, command.number, now=now, source=OutcomeSource.SMS, by=user, shift=shift
    )
    total = goal_progress([metric.id])[metric.id]
    with force_locale(locale):
        value, total_text, target = (
            _number_text(record.value),
            _number_text(decimal.Decimal(total)),
            _number_text(metric.target),
        )
    reply = render_reply(
        "outcome",
        locale,
        value=value,
        total=total_text,
        target=target,
        metric=metric,
        shift=shift,
    )
    return Outcome(reply, user, shift.id)


def led_shift(user: User, *, now: dt.datetime) -> Shift | None:
    """The shift this person led that started and ended at most 48 hours ago, latest first."""
    return db.session.scalar(
        sa.select(Shift)
        .where(
            Shift.team_lead_id == user.id,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at <= now,
            Shift.ends_at >= now - OUTCOME_WINDOW,
        )
        .order_by(Shift.ends_at.desc(), Shift.id.desc())
        .limit(1)
        .options(joinedload(Shift.initiative).selectinload(Initiative.metrics))
    )


def pick_metric(metrics, keyword: str | None):
    """The metric the words name (its SMS keyword, else a word of its name); with no words,
    the initiative's first output metric. With only one metric, words do not matter."""
    if not metrics:
        return None
    if keyword is None or len(metrics) == 1:
        outputs = [m for m in metrics if m.kind == MetricKind.OUTPUT]
        return (outputs or metrics)[0]
    said = set(keyword.split())
    for metric in metrics:
        if metric.sms_keyword and fold(metric.sms_keyword).strip() in said:
            return metric
    for metric in metrics:
        if said & {word for word in tokens(metric.name) if len(word) >= 3}:
            return metric
    return None


def keyword_of(metric) -> str:
    """The word a team lead texts before a number for this metric."""
    return fold(metric.sms_keyword or "").strip() or (tokens(metric.name) or ["?"])[0]


def _number_text(value: decimal.Decimal) -> str:
    value = decimal.Decimal(value)
    if value == value.to_integral_value():
        return format_decimal(int(value))
    return format_decimal(value.normalize())
