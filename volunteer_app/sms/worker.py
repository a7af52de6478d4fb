"""The outbox worker: one pass schedules what is due and sends what is queued.

A pass (a) closes forgotten check-outs, (b) queues due reminders, (c) queues thanks and team
lead prompts after shifts, (d) recovers the texts of a worker that died, (e) looks up at Twilio
the texts whose fate is unknown, and (f) sends queued texts whose time has come.

Sending is claim, hand over, send, record. A claim is a short transaction that takes due rows
with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE),
checks consent, expiry and quiet hours once more, and marks the rest `claimed`. Just before
their requests go out, a few at a time, they are marked `sending` (handed over). The HTTP calls
happen outside any transaction, on a few threads; an outcome is written only over the same
attempt of a row still `sending`. So any number of workers never send a row twice.

A request that got no answer (a timeout) may have reached Twilio, so it is never sent again
blindly: the row becomes `unconfirmed`, and after SMS_LOOKUP_DELAY_SECONDS the worker looks for
it in Twilio's Messages list (by recipient, sender, day and body): found, it is `sent` with the
SID Twilio gave it; certainly not there, it is queued again; when Twilio cannot be asked for
SMS_REVIEW_AFTER_SECONDS, a person reviews it. A worker that dies leaves its rows `claimed`
(never handed over: queued again) or `sending` (looked up like a timeout).
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import PhoneStatus, User
from volunteer_app.core.db import utcnow
from volunteer_app.extensions import db
from volunteer_app.hours.services import close_forgotten_check_outs
from volunteer_app.sms.claiming import Claimed, claim_batch, hand_over, recover_stale_claims
from volunteer_app.sms.gateway import (
    Gateway,
    SendError,
    get_gateway,
    message_status_callback,
    status_callback_url,
)
from volunteer_app.sms.models import Message, MessageStatus
from volunteer_app.sms.outbox import history_entry
from volunteer_app.sms.quiet_hours import QuietHours
from volunteer_app.sms.reminders import schedule_after_shift, schedule_reminders

logger = logging.getLogger(__name__)

# Twilio errors that say something about the person or their phone, not just this text.
OPTED_OUT_CODE = "21610"
PHONE_STATUS_BY_CODE = {"21211": PhoneStatus.INVALID, "21614": PhoneStatus.NOT_SMS_CAPABLE}
# Outcomes are written when this many are in, or this many seconds passed since the last write.
RECORD_EVERY = 25
RECORD_INTERVAL = 0.25
# Any number will do, as long as every worker uses the same one.
MAINTENANCE_LOCK_ID = 0x534D5331
# How far Twilio's clock may be from ours when a lookup compares its date_created with ours.
CLOCK_MARGIN = dt.timedelta(minutes=5)


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


# Recording outcomes ----------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the `attempts`-th failed try: 30 s, 60 s, 120 s, ... capped."""
    config = current_app.config
    base = max(int(config["SMS_RETRY_BASE_SECONDS"]), 1)
    seconds = min(base * 2 ** max(attempts - 1, 0), int(config["SMS_RETRY_MAX_SECONDS"]))
    return dt.timedelta(seconds=seconds)


_TABLE = Message.__table__


def _update_attempt(*statuses: MessageStatus) -> sa.Update:
    """Write a row's outcome only if it is still in one of `statuses` and still at the same
    attempt: whatever happened to it meanwhile (a report from Twilio, a person, another
    worker's attempt) stands."""
    return (
        sa.update(_TABLE)
        .where(
            _TABLE.c.id == sa.bindparam("message_id"),
            _TABLE.c.attempts == sa.bindparam("attempt"),
            # Not IN (...): an expanding list cannot go with executemany.
            sa.or_(*(_TABLE.c.status == status.value for status in statuses)),
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


# A late answer to an attempt the crash recovery already marked unconfirmed still counts.
_UPDATE_SENDING = _update_attempt(MessageStatus.SENDING, MessageStatus.UNCONFIRMED)
_UPDATE_UNCONFIRMED = _update_attempt(MessageStatus.UNCONFIRMED)


def _outcome_row(claimed: Claimed, now: dt.datetime, **values) -> dict[str, Any]:
    row: dict[str, Any] = {
        "message_id": claimed.id,
        "attempt": claimed.attempts,
        "new_sid": None,
        "new_sent_at": None,
        "new_send_after": now,
        "new_error_code": None,
        "new_error": None,
        "new_updated_at": now,
    }
    row.update(values)
    return row


def record_outcomes(
    outcomes: Iterable[tuple[Claimed, str | BaseException]],
    *,
    now: dt.datetime,
    counts: Counter,
) -> None:
    """Write what happened to each text handed to Twilio, in one transaction; committed here.

    Only the same attempt of a row still `sending` (or `unconfirmed`) changes: a row someone
    moved on in the meantime keeps its state. A request without an answer makes the row
    `unconfirmed`, to be looked up. Twilio's verdicts on the person (21610) or the phone
    (21211, 21614) are mirrored on the user at once.
    """
    config = current_app.config
    max_attempts = int(config["SMS_MAX_ATTEMPTS"])
    lookup_delay = dt.timedelta(seconds=config["SMS_LOOKUP_DELAY_SECONDS"])
    params = []
    verdicts = _UserVerdicts()
    for claimed, outcome in outcomes:
        status, note, row = _send_outcome(
            claimed,
            outcome,
            now=now,
            max_attempts=max_attempts,
            lookup_delay=lookup_delay,
            counts=counts,
            verdicts=verdicts,
        )
        if status != MessageStatus.QUEUED:
            counts[str(status)] += 1
        row["new_status"] = status.value
        row["new_history"] = [*claimed.history, history_entry(status, now, note)]
        params.append(row)
    if not params:
        return
    try:
        db.session.execute(_UPDATE_SENDING, params)
        verdicts.write(now=now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _send_outcome(
    claimed: Claimed,
    outcome: str | BaseException,
    *,
    now: dt.datetime,
    max_attempts: int,
    lookup_delay: dt.timedelta,
    counts: Counter,
    verdicts: _UserVerdicts,
) -> tuple[MessageStatus, str | None, dict[str, Any]]:
    """The new status of one text handed to Twilio, the note for its history, and the row to
    write (see _outcome_row); a final verdict on the person or phone goes to `verdicts`."""
    if isinstance(outcome, str):
        row = _outcome_row(claimed, now, new_sid=outcome, new_sent_at=now)
        return MessageStatus.SENT, None, row
    if isinstance(outcome, SendError) and outcome.unknown:
        note = str(outcome)[:500]
        row = _outcome_row(claimed, now, new_error=note, new_send_after=now + lookup_delay)
        return MessageStatus.UNCONFIRMED, note, row
    if isinstance(outcome, SendError):
        row = _outcome_row(claimed, now, new_error_code=outcome.code, new_error=str(outcome)[:500])
        if outcome.transient and claimed.attempts < max_attempts:
            wait_for = max(
                retry_delay(claimed.attempts),
                dt.timedelta(seconds=outcome.retry_after or 0),
            )
            row["new_send_after"] = now + wait_for
            counts["retrying"] += 1
            return MessageStatus.QUEUED, f"retry: {outcome}", row
        verdicts.note(claimed.user_id, outcome.code)
        return MessageStatus.FAILED, str(outcome), row
    # Not a verdict from Twilio but a fault of ours, before or after the request left: a
    # person decides rather than the worker sending it again.
    note = f"unexpected error: {outcome!r}"[:500]
    return MessageStatus.REVIEW, note, _outcome_row(claimed, now, new_error=note)


@dataclass
class _UserVerdicts:
    """Who Twilio says opted out, and whose phone it says is invalid or cannot take texts."""

    opted_out: set[int] = field(default_factory=set)
    phone_flags: dict[PhoneStatus, set[int]] = field(default_factory=dict)

    def note(self, user_id: int | None, code: str | None) -> None:
        if user_id is not None and code == OPTED_OUT_CODE:
            self.opted_out.add(user_id)
        if user_id is not None and code in PHONE_STATUS_BY_CODE:
            self.phone_flags.setdefault(PHONE_STATUS_BY_CODE[code], set()).add(user_id)

    def write(self, *, now: dt.datetime) -> None:
        """Mirror the verdicts on the users; in the caller's transaction."""
        if self.opted_out:
            db.session.execute(
                sa.update(User)
                .where(User.id.in_(self.opted_out), User.sms_opted_out_at.is_(None))
                .values(sms_opted_out_at=now)
            )
        for phone_status, user_ids in self.phone_flags.items():
            db.session.execute(
                sa.update(User).where(User.id.in_(user_ids)).values(phone_status=phone_status)
            )


# Looking up texts of unknown fate ---------------------------------------------------------


def take_unconfirmed(*, now: dt.datetime, limit: int) -> list[Claimed]:
    """Up to `limit` unconfirmed texts due for a lookup. Their next lookup moves a delay on, so
    other workers leave them alone meanwhile (and a worker dying mid-lookup costs only that
    delay). Committed here."""
    delay = dt.timedelta(seconds=current_app.config["SMS_LOOKUP_DELAY_SECONDS"])
    try:
        messages = db.session.scalars(
            sa.select(Message)
            .where(Message.status == MessageStatus.UNCONFIRMED, Message.send_after <= now)
            .order_by(Message.send_after, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        taken = []
        for message in messages:
            message.send_after = now + delay
            taken.append(
                Claimed(
                    id=message.id,
                    to=message.to_phone,
                    body=message.body,
                    attempts=message.attempts,
                    user_id=message.user_id,
                    history=list(message.status_history),
                    handed_at=message.claimed_at,
                )
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return taken


def record_lookups(
    lookups: Iterable[tuple[Claimed, list[str] | BaseException]],
    *,
    now: dt.datetime,
    counts: Counter,
) -> None:
    """Settle unconfirmed texts by what Twilio said; committed here.

    Found (a SID no other row holds): `sent` with that SID. Not there: queued again, or
    `failed` when it has had all its attempts. The lookup failing: the row waits for the next
    lookup, and goes to `review` once SMS_REVIEW_AFTER_SECONDS have passed since it was handed
    over.
    """
    config = current_app.config
    max_attempts = int(config["SMS_MAX_ATTEMPTS"])
    review_after = dt.timedelta(seconds=config["SMS_REVIEW_AFTER_SECONDS"])
    lookups = list(lookups)
    candidates = {sid for _, found in lookups if isinstance(found, list) for sid in found}
    taken = set(
        db.session.scalars(sa.select(Message.twilio_sid).where(Message.twilio_sid.in_(candidates)))
    )
    params = []
    for claimed, found in lookups:
        if isinstance(found, list):
            sid = next((sid for sid in found if sid not in taken), None)
            if sid is not None:
                taken.add(sid)
                status, note = MessageStatus.SENT, "found at Twilio"
                row = _outcome_row(claimed, now, new_sid=sid, new_sent_at=now)
            elif claimed.attempts >= max_attempts:
                status, note = MessageStatus.FAILED, "not at Twilio after the last attempt"
                row = _outcome_row(claimed, now, new_error=note)
            else:
                status, note = MessageStatus.QUEUED, "not at Twilio: queued again"
                row = _outcome_row(claimed, now)
                counts["requeued"] += 1
        elif claimed.handed_at is None or now - claimed.handed_at >= review_after:
            status, note = MessageStatus.REVIEW, f"could not look it up at Twilio: {found}"[:500]
            row = _outcome_row(claimed, now, new_error=note)
        else:
            counts["lookup failed"] += 1
            continue
        if status != MessageStatus.QUEUED:
            counts[str(status)] += 1
        row["new_status"] = status.value
        row["new_history"] = [*claimed.history, history_entry(status, now, note)]
        params.append(row)
    if not params:
        db.session.rollback()
        return
    try:
        db.session.execute(_UPDATE_UNCONFIRMED, params)
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
        """One pass: schedule, recover stale claims, look up texts of unknown fate, then send
        batches until nothing is due (or the worker is asked to stop, which takes effect
        between batches)."""
        now = self.clock()
        report = schedule(now=now) if scheduling else PassReport()
        report.counts.update(recover_stale_claims(now=now))
        report.counts.update(self.look_up_unconfirmed())
        report.add(self.send_due())
        return report

    def look_up_unconfirmed(self) -> Counter:
        """Step (e): ask Twilio about the unconfirmed texts due for it, batch after batch."""
        counts: Counter = Counter()
        while not self.stopping.is_set():
            taken = take_unconfirmed(now=self.clock(), limit=self.batch_size)
            if not taken:
                break
            found = list(self._pool.map(self._find, taken))
            record_lookups(zip(taken, found, strict=True), now=self.clock(), counts=counts)
        return counts

    def _find(self, claimed: Claimed) -> list[str] | BaseException:
        # Runs on a pool thread, outside any transaction and without touching the database.
        if claimed.handed_at is None:
            # Nothing bounds the search in Twilio's list, so a person decides (see
            # record_lookups): no lookup, and no traceback for a row that says nothing more.
            return SendError("not known when it was handed to Twilio")
        try:
            return self.gateway.find_sent(
                to=claimed.to, body=claimed.body, since=claimed.handed_at - CLOCK_MARGIN
            )
        except Exception as exc:  # noqa: BLE001 - the row waits for the next lookup
            if not isinstance(exc, SendError):
                logger.exception("unexpected error looking up message %s", claimed.id)
            return exc

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
        after Twilio gave it, not only when the slowest text of the batch is done.

        Texts are handed over (marked `sending`) one pool's worth at a time, just before they
        go, so a worker that dies leaves only those few to look up; the rest of its batch is
        still `claimed` and simply queued again.
        """
        waiting = deque(claimed)
        in_flight: dict[Future, Claimed] = {}
        finished: list[tuple[Claimed, str | BaseException]] = []
        last_recorded = time.monotonic()
        while waiting or in_flight:
            if waiting and len(in_flight) < self.threads:
                chunk = [waiting.popleft() for _ in range(min(self.threads, len(waiting)))]
                for item in hand_over(chunk, now=self.clock()):
                    in_flight[self._pool.submit(self._send, item)] = item
            if in_flight:
                done, _ = wait(in_flight, timeout=RECORD_INTERVAL, return_when=FIRST_COMPLETED)
                finished.extend((in_flight.pop(future), future.result()) for future in done)
            due = time.monotonic() - last_recorded >= RECORD_INTERVAL
            last = not (waiting or in_flight)
            if finished and (last or due or len(finished) >= RECORD_EVERY):
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
