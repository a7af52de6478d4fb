"""The outbox worker: one pass schedules what is due and sends what is queued.

A pass (a) closes forgotten check-outs, (b) queues due reminders, (c) queues thanks and team
lead prompts after shifts, (d) sends queued texts whose time has come, and (e) marks texts left
in `sending` by a crashed worker for review.

Sending is claim, send, record. A claim is a short transaction that takes due rows with
`FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE), checks
consent, expiry and quiet hours once more, and marks the rest `sending` before committing.
The HTTP calls happen outside any transaction, on a few threads. The outcome is written only
over rows still `sending`. So any number of workers never send a row twice, and a worker that
dies between claim and record leaves the row in `sending`, later `review`: a crash can lose a
text but never double it.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import PhoneStatus, User
from volunteer_app.core.db import utcnow
from volunteer_app.extensions import db
from volunteer_app.hours.services import close_forgotten_check_outs
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.gateway import (
    Gateway,
    SendError,
    get_gateway,
    message_status_callback,
    status_callback_url,
)
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import history_entry, why_not_textable, withdraw
from volunteer_app.sms.quiet_hours import QuietHours
from volunteer_app.sms.reminders import schedule_after_shift, schedule_reminders

logger = logging.getLogger(__name__)

# Texts tied to a signup that make no sense once the person is off the shift.
SIGNUP_BOUND_KINDS = frozenset({"reminder", "waitlist_promoted", "signup_confirmed"})
# Twilio errors that say something about the person or their phone, not just this text.
OPTED_OUT_CODE = "21610"
PHONE_STATUS_BY_CODE = {"21211": PhoneStatus.INVALID, "21614": PhoneStatus.NOT_SMS_CAPABLE}
# Outcomes are written when this many are in, or this many seconds passed since the last write.
RECORD_EVERY = 25
RECORD_INTERVAL = 0.25
# Any number will do, as long as every worker uses the same one.
MAINTENANCE_LOCK_ID = 0x534D5331


@dataclass
class PassReport:
    """What one pass did, for the CLI and the tests."""

    check_outs_closed: int = 0
    queued: int = 0
    counts: Counter = field(default_factory=Counter)  # sent, retrying, failed, dropped, ...

    def add(self, other: PassReport) -> None:
        self.check_outs_closed += other.check_outs_closed
        self.queued += other.queued
        self.counts.update(other.counts)

    def __str__(self) -> str:
        parts = [f"closed {self.check_outs_closed} check-outs", f"queued {self.queued}"]
        parts += [f"{name} {count}" for name, count in sorted(self.counts.items())]
        return ", ".join(parts)


@dataclass(frozen=True)
class Claimed:
    """What the sending thread needs of a claimed row; plain data, usable after commit."""

    id: int
    to: str
    body: str
    attempts: int
    user_id: int | None
    history: list[dict[str, Any]]


# Scheduling -------------------------------------------------------------------------------


def schedule(*, now: dt.datetime) -> PassReport:
    """Steps (a) to (c) of a pass, in one transaction; committed here.

    On PostgreSQL one worker at a time does it (a transaction-scoped advisory lock); the others
    skip it and go on sending. The idempotency keys would keep texts single anyway, but two
    workers closing the same check-out would trip over each other.
    """
    report = PassReport()
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            got_lock = db.session.scalar(
                sa.select(sa.func.pg_try_advisory_xact_lock(MAINTENANCE_LOCK_ID))
            )
            if not got_lock:
                db.session.rollback()
                return report
        quiet = QuietHours.from_settings()
        report.check_outs_closed = close_forgotten_check_outs(now=now)
        db.session.flush()
        report.queued += schedule_reminders(now=now, quiet=quiet)
        report.queued += schedule_after_shift(now=now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def mark_stale_for_review(*, now: dt.datetime) -> int:
    """Step (e): texts `sending` for longer than SMS_SENDING_TIMEOUT_SECONDS go to `review`.

    Twilio may or may not have them; a person decides, the worker never resends blindly.
    """
    timeout = dt.timedelta(seconds=current_app.config["SMS_SENDING_TIMEOUT_SECONDS"])
    stale = db.session.scalars(
        sa.select(Message)
        .where(Message.status == MessageStatus.SENDING, Message.claimed_at < now - timeout)
        .with_for_update(skip_locked=True)
    ).all()
    for message in stale:
        _move(message, MessageStatus.REVIEW, now, "no outcome recorded after a claim")
        message.error = "sending interrupted: check Twilio before resending"
    db.session.commit()
    return len(stale)


# Claiming ---------------------------------------------------------------------------------


def _move(message: Message, status: MessageStatus, now: dt.datetime, note: str | None = None):
    message.status = status
    message.updated_at = now
    message.status_history = [*(message.status_history or []), history_entry(status, now, note)]


def claim_batch(
    *, now: dt.datetime, limit: int, quiet: QuietHours, counts: Counter
) -> tuple[list[Claimed], int]:
    """Take up to `limit` due texts; returns the ones now `sending` and how many rows were
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
        off_shift = _signups_off_shift(
            {m.signup_id for m in messages if m.signup_id and m.kind in SIGNUP_BOUND_KINDS}
        )
        program_tz = current_app.config["PROGRAM_TIMEZONE"]
        claimed = []
        for message in messages:
            user = users.get(message.user_id) if message.user_id else None
            reason = why_not_textable(user) if user is not None else None
            if reason is None and message.expires_at is not None and now >= message.expires_at:
                reason = "too late"
            if reason is None and message.signup_id in off_shift:
                # The key is freed, so the person gets this text after all if they sign up
                # for the shift again.
                withdraw(message, now=now, reason=off_shift[message.signup_id])
                counts["dropped"] += 1
                continue
            tz = zones.get(message.shift_id, program_tz)
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
                    continue
            if reason is not None:
                message.error = reason
                _move(message, MessageStatus.DROPPED, now, reason)
                counts["dropped"] += 1
                continue
            message.attempts += 1
            message.claimed_at = now
            _move(message, MessageStatus.SENDING, now)
            claimed.append(
                Claimed(
                    id=message.id,
                    to=message.to_phone,
                    body=message.body,
                    attempts=message.attempts,
                    user_id=message.user_id,
                    history=list(message.status_history),
                )
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed, len(messages)


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


def _signups_off_shift(signup_ids: set[int]) -> dict[int, str]:
    """Of these signups, those no longer holding a place on a live shift, with why."""
    if not signup_ids:
        return {}
    rows = db.session.execute(
        sa.select(Signup.id, Signup.status, Shift.status)
        .join(Signup.shift)
        .where(Signup.id.in_(signup_ids))
    )
    off = {}
    for signup_id, signup_status, shift_status in rows:
        if shift_status == ShiftStatus.CANCELLED:
            off[signup_id] = "shift cancelled"
        elif signup_status not in (SignupStatus.CONFIRMED, SignupStatus.ATTENDED):
            off[signup_id] = f"signup {signup_status}"
    return off


# Recording outcomes ----------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the `attempts`-th failed try: 30 s, 60 s, 120 s, ... capped."""
    config = current_app.config
    base = max(int(config["SMS_RETRY_BASE_SECONDS"]), 1)
    seconds = min(base * 2 ** max(attempts - 1, 0), int(config["SMS_RETRY_MAX_SECONDS"]))
    return dt.timedelta(seconds=seconds)


_UPDATE_SENDING = (
    sa.update(Message.__table__)
    .where(
        Message.__table__.c.id == sa.bindparam("message_id"),
        Message.__table__.c.status == MessageStatus.SENDING.value,
    )
    .values(
        status=sa.bindparam("new_status"),
        twilio_sid=sa.bindparam("new_sid"),
        sent_at=sa.bindparam("new_sent_at"),
        send_after=sa.bindparam("new_send_after"),
        error_code=sa.bindparam("new_error_code"),
        error=sa.bindparam("new_error"),
        status_history=sa.bindparam("new_history", type_=sa.JSON),
        updated_at=sa.bindparam("new_updated_at"),
    )
)


def record_outcomes(
    outcomes: Iterable[tuple[Claimed, str | BaseException]],
    *,
    now: dt.datetime,
    counts: Counter,
) -> None:
    """Write what happened to each claimed text, in one transaction; committed here.

    Only rows still `sending` change: a row someone moved to `review` in the meantime keeps
    its state. Twilio's verdicts on the person (21610) or the phone (21211, 21614) are
    mirrored on the user at once.
    """
    max_attempts = int(current_app.config["SMS_MAX_ATTEMPTS"])
    params = []
    opted_out: set[int] = set()
    phone_flags: dict[PhoneStatus, set[int]] = {}
    for claimed, outcome in outcomes:
        row: dict[str, Any] = {
            "message_id": claimed.id,
            "new_sid": None,
            "new_sent_at": None,
            "new_send_after": now,
            "new_error_code": None,
            "new_error": None,
            "new_updated_at": now,
        }
        if isinstance(outcome, str):
            status, note = MessageStatus.SENT, None
            row.update(new_sid=outcome, new_sent_at=now)
        elif isinstance(outcome, SendError):
            row.update(new_error_code=outcome.code, new_error=str(outcome)[:500])
            if outcome.transient and claimed.attempts < max_attempts:
                status, note = MessageStatus.QUEUED, f"retry: {outcome}"
                row["new_send_after"] = now + retry_delay(claimed.attempts)
                counts["retrying"] += 1
            else:
                status, note = MessageStatus.FAILED, str(outcome)
            if claimed.user_id is not None and outcome.code == OPTED_OUT_CODE:
                opted_out.add(claimed.user_id)
            if claimed.user_id is not None and outcome.code in PHONE_STATUS_BY_CODE:
                phone_flags.setdefault(PHONE_STATUS_BY_CODE[outcome.code], set()).add(
                    claimed.user_id
                )
        else:
            # Not a verdict from Twilio: we do not know whether the text left, so a person
            # decides rather than the worker sending it again.
            status, note = MessageStatus.REVIEW, f"unexpected error: {outcome!r}"[:500]
            row["new_error"] = note
        if status != MessageStatus.QUEUED:
            counts[str(status)] += 1
        row["new_status"] = status.value
        row["new_history"] = [*claimed.history, history_entry(status, now, note)]
        params.append(row)
    if not params:
        return
    try:
        db.session.execute(_UPDATE_SENDING, params)
        if opted_out:
            db.session.execute(
                sa.update(User)
                .where(User.id.in_(opted_out), User.sms_opted_out_at.is_(None))
                .values(sms_opted_out_at=now)
            )
        for phone_status, user_ids in phone_flags.items():
            db.session.execute(
                sa.update(User).where(User.id.in_(user_ids)).values(phone_status=phone_status)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


# The pass and the loop -------------------------------------------------------------------


class Worker:
    """Sends the outbox. Holds a thread pool for HTTP calls across passes; use as a context
    manager (or call `close`). `clock` gives "now"; the CLI's --now fixes it."""

    def __init__(
        self,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        gateway: Gateway | None = None,
        threads: int | None = None,
        batch_size: int | None = None,
    ):
        config = current_app.config
        self.clock = clock
        self.gateway = gateway or get_gateway()
        self.status_callback = status_callback_url()
        self.batch_size = batch_size or int(config["SMS_WORKER_BATCH"])
        self.threads = max(threads or int(config["SMS_WORKER_THREADS"]), 1)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="sms-send")
        self.stopping = threading.Event()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_pass(self, *, scheduling: bool = True) -> PassReport:
        """One pass: schedule, review stale claims, then send batches until nothing is due
        (or the worker is asked to stop, which takes effect between batches)."""
        now = self.clock()
        report = schedule(now=now) if scheduling else PassReport()
        report.counts["review"] += mark_stale_for_review(now=now)
        report.add(self.send_due())
        if not report.counts["review"]:
            del report.counts["review"]
        return report

    def send_due(self) -> PassReport:
        report = PassReport()
        quiet = QuietHours.from_settings()
        db.session.commit()
        while not self.stopping.is_set():
            claimed, looked_at = claim_batch(
                now=self.clock(), limit=self.batch_size, quiet=quiet, counts=report.counts
            )
            if not looked_at:
                break
            if claimed:
                self._send_and_record(claimed, report.counts)
        return report

    def _send_and_record(self, claimed: list[Claimed], counts: Counter) -> None:
        """Send a claimed batch on the pool, recording outcomes as they come in, a few at a
        time: Twilio's status callbacks look texts up by SID, so the SID must be stored soon
        after Twilio gave it, not only when the slowest text of the batch is done."""
        futures = {self._pool.submit(self._send, item): item for item in claimed}
        waiting = set(futures)
        finished: list[tuple[Claimed, str | BaseException]] = []
        last_recorded = time.monotonic()
        while waiting:
            done, waiting = wait(waiting, timeout=RECORD_INTERVAL, return_when=FIRST_COMPLETED)
            finished.extend((futures[future], future.result()) for future in done)
            due = time.monotonic() - last_recorded >= RECORD_INTERVAL
            if finished and (not waiting or due or len(finished) >= RECORD_EVERY):
                record_outcomes(finished, now=self.clock(), counts=counts)
                finished = []
                last_recorded = time.monotonic()

    def _send(self, claimed: Claimed) -> str | BaseException:
        # Runs on a pool thread, outside any transaction and without touching the database.
        try:
            return self.gateway.send(
                to=claimed.to,
                body=claimed.body,
                status_callback=message_status_callback(self.status_callback, claimed.id),
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the row, see record_outcomes
            if not isinstance(exc, SendError):
                logger.exception("unexpected error sending message %s", claimed.id)
            return exc

    def run_forever(self, *, interval: float) -> None:
        """Pass after pass until SIGTERM or SIGINT, which let the current batch finish."""
        restore = self._install_signal_handlers()
        try:
            while not self.stopping.is_set():
                try:
                    report = self.run_pass()
                    if report.queued or report.counts:
                        logger.info("sms pass: %s", report)
                except Exception:
                    # A database hiccup must not kill the worker; the next pass tries again.
                    logger.exception("sms pass failed")
                    db.session.rollback()
                self.stopping.wait(interval)
        finally:
            restore()

    def _install_signal_handlers(self) -> Callable[[], None]:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def stop(signum, frame):
            logger.info("sms worker: %s received, finishing the current batch", signum)
            self.stopping.set()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def run_pass(now: dt.datetime | None = None, **worker_options) -> PassReport:
    """One complete pass, as `flask sms tick` does; `now` fixes the clock for all of it."""
    clock = (lambda: now) if now is not None else utcnow
    with Worker(clock=clock, **worker_options) as worker:
        return worker.run_pass()
