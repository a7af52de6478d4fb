"""The outbox worker: claim, send through the real twilio Client to the fake, record."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_shift
from tests.sms.conftest import messages
from tests.sms.fake_twilio import FROM_NUMBER, HANG, TIMEOUT
from volunteer_app.accounts.models import PhoneStatus, User
from volunteer_app.extensions import db as _db
from volunteer_app.reference.settings import set_setting
from volunteer_app.shifts.models import Signup, SignupStatus
from volunteer_app.shifts.services import cancel_signup, signup_for_shift
from volunteer_app.sms.claiming import claim_batch, hand_over
from volunteer_app.sms.gateway import SendError, get_gateway
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import queue_sms
from volunteer_app.sms.quiet_hours import QuietHours
from volunteer_app.sms.worker import Worker, retry_delay

# Noon in New York: outside quiet hours.
NOON = dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def shift(db):
    return make_shift(make_initiative(), starts_at=NOON + dt.timedelta(days=3))


def queue_text(user, now=NOON, **kw) -> Message:
    message = queue_sms(
        user,
        "broadcast",
        key=kw.pop("key", f"test:{user.id}:{now.timestamp()}"),
        now=now,
        text=kw.pop("text", "Hello from the city"),
        **kw,
    )
    assert message is not None
    return message


def statuses(message: Message) -> list[str]:
    return [entry["status"] for entry in message.status_history]


def test_tick_sends_a_signup_confirmation_through_twilio(
    twilio_app, fake_twilio, texter, shift, tick
):
    person = texter()
    signup_for_shift(person, shift, now=NOON)

    output = tick(NOON)

    [post] = fake_twilio.posts
    assert post.to == person.phone
    assert post.form["From"] == FROM_NUMBER
    assert f"Shift code {shift.code}" in post.body
    [message] = messages()
    # The callback names the text, so a report that beats the worker's record still finds it.
    assert post.form["StatusCallback"] == (
        f"https://volunteer.example.org/sms/status?message={message.id}"
    )
    assert message.status == MessageStatus.SENT
    assert message.twilio_sid == post.sid
    assert message.sent_at == NOON and message.attempts == 1
    assert statuses(message) == ["queued", "claimed", "sending", "sent"]
    assert "sent 1" in output


def test_console_backend_sends_too(app, texter, shift, tick):
    signup_for_shift(texter(), shift, now=NOON)
    tick(NOON)
    [message] = messages()
    assert message.status == MessageStatus.SENT and message.twilio_sid.startswith("SMconsole")


def test_a_message_is_not_sent_before_its_time(twilio_app, fake_twilio, texter, tick):
    queue_text(texter(), send_after=NOON + dt.timedelta(hours=1))
    tick(NOON)
    assert fake_twilio.posts == []
    tick(NOON + dt.timedelta(hours=1))
    assert len(fake_twilio.posts) == 1


def test_a_second_tick_sends_nothing_again(twilio_app, fake_twilio, texter, tick):
    queue_text(texter())
    tick(NOON)
    tick(NOON + dt.timedelta(minutes=1))
    assert len(fake_twilio.posts) == 1


def test_opted_out_at_twilio_marks_the_person_opted_out(twilio_app, fake_twilio, texter, tick):
    person = texter()
    fake_twilio.fail(400, 21610, to=person.phone)
    queue_text(person, key="first")
    queue_text(person, key="second", send_after=NOON + dt.timedelta(hours=1))

    tick(NOON)

    first = messages(idempotency_key="first")[0]
    assert first.status == MessageStatus.FAILED and first.error_code == "21610"
    assert _db.session.get(User, person.id).sms_opted_out_at == NOON
    # Never retried, and the person's next text is not even tried.
    tick(NOON + dt.timedelta(hours=2))
    assert len(fake_twilio.posts) == 1
    second = messages(idempotency_key="second")[0]
    assert second.status == MessageStatus.DROPPED and second.error == "opted out"


@pytest.mark.parametrize(
    ("code", "phone_status"),
    [(21211, PhoneStatus.INVALID), (21614, PhoneStatus.NOT_SMS_CAPABLE)],
)
def test_bad_numbers_are_flagged_and_not_retried(
    twilio_app, fake_twilio, texter, tick, code, phone_status
):
    person = texter()
    fake_twilio.fail(400, code, to=person.phone)
    queue_text(person)

    tick(NOON)
    tick(NOON + dt.timedelta(hours=3))

    [message] = messages()
    assert message.status == MessageStatus.FAILED and message.error_code == str(code)
    assert _db.session.get(User, person.id).phone_status == phone_status
    assert len(fake_twilio.posts) == 1


def test_throttling_and_server_errors_are_retried_with_backoff(
    twilio_app, fake_twilio, texter, tick
):
    queue_text(texter())
    fake_twilio.fail(429, 20429, times=1)
    fake_twilio.fail(500, times=1)

    tick(NOON)
    [message] = messages()
    assert message.status == MessageStatus.QUEUED and message.error_code == "20429"
    assert message.send_after == NOON + dt.timedelta(seconds=30)

    tick(NOON + dt.timedelta(seconds=20))  # too early: backing off
    assert len(fake_twilio.posts) == 1

    tick(NOON + dt.timedelta(seconds=30))
    [message] = messages()
    assert message.status == MessageStatus.QUEUED and message.attempts == 2
    assert message.send_after == NOON + dt.timedelta(seconds=90)

    tick(NOON + dt.timedelta(seconds=90))
    [message] = messages()
    assert message.status == MessageStatus.SENT and message.attempts == 3
    assert message.error_code is None
    assert [post.status for post in fake_twilio.posts] == [429, 500, 201]
    assert statuses(message) == ["queued", *["claimed", "sending", "queued"] * 2, "claimed"] + [
        "sending",
        "sent",
    ]


def test_transient_failures_give_up_after_the_limit(
    twilio_app, app_config, fake_twilio, texter, tick
):
    app_config(SMS_MAX_ATTEMPTS=2)
    queue_text(texter())
    fake_twilio.fail(503)

    tick(NOON)
    tick(NOON + dt.timedelta(hours=1))
    tick(NOON + dt.timedelta(hours=2))

    [message] = messages()
    assert message.status == MessageStatus.FAILED and message.attempts == 2
    assert len(fake_twilio.posts) == 2


def test_backoff_grows_and_is_capped(app, app_config):
    app_config(SMS_RETRY_BASE_SECONDS=30, SMS_RETRY_MAX_SECONDS=300)
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 240, 300]


def test_a_text_twilio_never_answered_for_is_looked_up_not_sent_again(
    twilio_app, app_config, fake_twilio, texter, tick
):
    """The request timed out, but Twilio created the text all the same: the worker finds it
    in Twilio's Messages list and records its SID; the person gets one text."""
    app_config(TWILIO_HTTP_TIMEOUT=TIMEOUT)
    fake_twilio.clock = lambda: NOON
    person = texter()
    fake_twilio.hang(HANG, to=person.phone, times=1)
    queue_text(person)

    tick(NOON)

    [message] = messages()
    assert message.status == MessageStatus.UNCONFIRMED and message.error_code is None
    assert "no answer from Twilio" in message.error
    assert message.send_after == NOON + dt.timedelta(seconds=120)
    fake_twilio.wait_idle()
    [post] = fake_twilio.posts_to(person.phone)
    tick(NOON + dt.timedelta(seconds=60))  # too early to trust a "not found"
    assert fake_twilio.lookups == []

    tick(NOON + dt.timedelta(seconds=120))

    [message] = messages()
    assert message.status == MessageStatus.SENT and message.twilio_sid == post.sid
    assert message.attempts == 1
    assert statuses(message)[-3:] == ["sending", "unconfirmed", "sent"]
    [lookup] = fake_twilio.lookups
    assert lookup.query["To"] == person.phone and lookup.query["From"] == FROM_NUMBER
    assert lookup.query["DateSent>"] == "2026-06-01T00:00:00Z"
    assert fake_twilio.posts_to(person.phone) == [post]


def test_a_worker_that_died_leaves_unsent_rows_to_the_queue_and_sent_ones_to_a_lookup(
    twilio_app, fake_twilio, texter, tick
):
    """Claimed but never handed over: queued again. Handed over: looked up, sent if Twilio
    has it, queued again if Twilio certainly has not. Nothing is resent blindly."""
    fake_twilio.clock = lambda: NOON
    never_handed, handed_and_sent, handed_and_lost, recent = (texter() for _ in range(4))
    rows = {}
    for person, status in [
        (never_handed, MessageStatus.CLAIMED),
        (handed_and_sent, MessageStatus.SENDING),
        (handed_and_lost, MessageStatus.SENDING),
        (recent, MessageStatus.SENDING),
    ]:
        rows[person.id] = message = queue_text(person)
        message.status = status
        message.attempts = 1 if status == MessageStatus.SENDING else 0
        message.claimed_at = NOON - dt.timedelta(seconds=301)
    rows[recent.id].claimed_at = NOON - dt.timedelta(seconds=60)  # still its worker's
    body = rows[handed_and_sent.id].body
    _db.session.commit()
    # What Twilio got before the worker died: one of the two handed over.
    sid = get_gateway().send(to=handed_and_sent.phone, body=body, status_callback=None)

    output = tick(NOON)

    # Requeued: the one never handed over, and the one Twilio never got.
    assert "requeued 2" in output and "unconfirmed 2" in output and "sent 3" in output
    assert sorted(post.to for post in fake_twilio.accepted) == sorted(
        [
            handed_and_sent.phone,
            never_handed.phone,
            handed_and_lost.phone,
        ]
    )
    by_person = {m.user_id: m for m in messages()}
    assert by_person[handed_and_sent.id].twilio_sid == sid
    assert statuses(by_person[handed_and_sent.id])[-2:] == ["unconfirmed", "sent"]
    assert statuses(by_person[never_handed.id])[-4:] == ["queued", "claimed", "sending", "sent"]
    assert "unconfirmed" in statuses(by_person[handed_and_lost.id])
    assert by_person[handed_and_lost.id].status == MessageStatus.SENT
    assert by_person[recent.id].status == MessageStatus.SENDING
    assert {m.status for m in messages()} == {MessageStatus.SENT, MessageStatus.SENDING}


def test_consent_is_checked_again_at_send_time(twilio_app, fake_twilio, texter, tick):
    person = texter()
    queue_text(person)
    person.sms_opted_out_at = NOON - dt.timedelta(minutes=1)  # texted STOP after queuing

    tick(NOON)

    [message] = messages()
    assert message.status == MessageStatus.DROPPED and message.error == "opted out"
    assert fake_twilio.posts == []


def test_an_expired_text_is_dropped(twilio_app, fake_twilio, texter, tick):
    queue_text(texter(), expires_at=NOON - dt.timedelta(minutes=1))
    tick(NOON)
    [message] = messages()
    assert message.status == MessageStatus.DROPPED and message.error == "too late"
    assert fake_twilio.posts == []


def test_a_confirmation_for_a_cancelled_signup_is_dropped(
    twilio_app, fake_twilio, texter, shift, tick
):
    person = texter()
    signup = signup_for_shift(person, shift, now=NOON - dt.timedelta(hours=1)).signup
    _db.session.execute(sa.update(Message).values(send_after=NOON + dt.timedelta(minutes=5)))
    cancel_signup(signup, now=NOON)
    assert signup.status == SignupStatus.CANCELLED

    tick(NOON + dt.timedelta(minutes=5))

    [message] = messages()
    assert message.status == MessageStatus.DROPPED and message.error == "signup cancelled"
    assert fake_twilio.posts == []


def test_a_waitlist_text_not_sent_before_a_promotion_is_dropped(
    twilio_app, fake_twilio, texter, tick
):
    """The person moved up before "you're on the waitlist" went out: only the news that a spot
    opened reaches them."""
    small = make_shift(make_initiative(), starts_at=NOON + dt.timedelta(days=3), capacity=1)
    holder = signup_for_shift(texter(), small, now=NOON - dt.timedelta(hours=1)).signup
    person = texter()
    signup_for_shift(person, small, now=NOON - dt.timedelta(hours=1))
    _db.session.execute(sa.update(Message).values(send_after=NOON + dt.timedelta(minutes=5)))
    cancel_signup(holder, now=NOON)

    tick(NOON + dt.timedelta(minutes=5))

    [post] = fake_twilio.posts_to(person.phone)
    waitlisted, promoted = messages(user_id=person.id)
    assert (waitlisted.kind, waitlisted.status) == ("signup_waitlisted", MessageStatus.DROPPED)
    assert waitlisted.error == "signup confirmed"
    assert (promoted.kind, promoted.twilio_sid) == ("waitlist_promoted", post.sid)


def test_a_text_withdrawn_after_its_claim_is_never_handed_over(twilio_app, texter, shift):
    """A worker claimed the confirmation; the person cancelled before it went out."""
    signup = signup_for_shift(texter(), shift, now=NOON).signup
    _db.session.commit()
    claimed, _ = claim_batch(now=NOON, limit=10, quiet=QuietHours.from_settings(), counts=Counter())
    assert [item.id for item in claimed] == [m.id for m in messages()]

    cancel_signup(_db.session.get(Signup, signup.id), now=NOON)
    _db.session.commit()

    assert hand_over(claimed, now=NOON) == []
    [message] = messages()
    assert message.status == MessageStatus.DROPPED and message.attempts == 0


def test_quiet_hours_defer_a_text_to_the_morning(twilio_app, fake_twilio, texter, tick):
    late = dt.datetime(2026, 6, 2, 2, 0, tzinfo=dt.UTC)  # 22:00 in New York
    queue_text(texter(), now=late)

    tick(late)
    [message] = messages()
    assert message.status == MessageStatus.QUEUED
    assert message.send_after == dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)  # 08:00 EDT
    assert statuses(message) == ["queued", "queued"]
    assert fake_twilio.posts == []

    tick(dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC))
    assert messages()[0].status == MessageStatus.SENT


def test_quiet_hours_follow_the_shift_timezone(twilio_app, fake_twilio, texter, tick):
    shift = make_shift(
        make_initiative(timezone="America/Los_Angeles"),
        starts_at=dt.datetime(2026, 6, 5, 16, 0, tzinfo=dt.UTC),
    )
    # 21:30 in New York (quiet there) but 18:30 in Los Angeles.
    at = dt.datetime(2026, 6, 2, 1, 30, tzinfo=dt.UTC)
    queue_text(texter(), now=at, shift_id=shift.id)
    tick(at)
    assert messages()[0].status == MessageStatus.SENT


def test_an_unexpected_error_goes_to_review_not_back_to_the_queue(app, texter):
    class Broken:
        def send(self, **kw):
            raise RuntimeError("bug")

    queue_text(texter())
    _db.session.commit()
    with Worker(clock=lambda: NOON, gateway=Broken()) as worker:
        report = worker.send_due()
    [message] = messages()
    assert message.status == MessageStatus.REVIEW
    assert report.counts["review"] == 1


def test_an_unconfirmed_text_with_no_hand_over_time_goes_to_review_without_a_lookup(
    app, texter, caplog
):
    """Without the instant it was handed over nothing bounds the search in Twilio's list: a
    person looks into it, and no traceback is logged for it."""

    class Lookups:
        def __init__(self):
            self.calls = []

        def find_sent(self, **kw):
            self.calls.append(kw)
            return []

    message = queue_text(texter())
    message.status = MessageStatus.UNCONFIRMED
    message.claimed_at = None
    _db.session.commit()
    gateway = Lookups()
    with Worker(clock=lambda: NOON, gateway=gateway) as worker:
        counts = worker.look_up_unconfirmed()
    [message] = messages()
    assert message.status == MessageStatus.REVIEW
    assert "not known when it was handed to Twilio" in message.error
    assert counts["review"] == 1 and gateway.calls == []
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_a_transient_send_error_from_any_gateway_is_retried(app, texter):
    class Flaky:
        def send(self, **kw):
            raise SendError("down", transient=True)

    queue_text(texter())
    _db.session.commit()
    with Worker(clock=lambda: NOON, gateway=Flaky()) as worker:
        worker.send_due()
    assert messages()[0].status == MessageStatus.QUEUED


def test_tick_reads_a_time_without_offset_in_the_program_timezone(runner, app):
    result = runner.invoke(args=["sms", "tick", "--now", "2026-06-01T09:00"])
    assert result.exit_code == 0, result.output
    assert "2026-06-01T13:00:00+00:00" in result.output


def test_tick_refuses_a_bad_time(runner, app):
    result = runner.invoke(args=["sms", "tick", "--now", "tomorrow"])
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_sigterm_stops_the_worker_loop_cleanly(app, texter):
    queue_text(texter())
    _db.session.commit()
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    with Worker(clock=lambda: NOON) as worker:
        timer.start()
        worker.run_forever(interval=0.05)
    timer.join()
    assert worker.stopping.is_set()
    assert signal.getsignal(signal.SIGTERM) is before
    assert messages()[0].status == MessageStatus.SENT


def test_the_worker_command_runs_until_sigterm(runner, app, texter):
    set_setting("quiet_hours_start", 0)  # this test runs on the real clock, maybe at night
    set_setting("quiet_hours_end", 0)
    queue_text(texter(), now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    _db.session.commit()
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    result = runner.invoke(args=["sms", "worker", "--interval", "0.05"])
    timer.join()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "sms worker: stopped"
    _db.session.expire_all()
    assert messages()[0].status == MessageStatus.SENT


def test_the_worker_command_refuses_twilio_without_credentials(runner, app, app_config):
    app_config(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    result = runner.invoke(args=["sms", "worker"])
    assert result.exit_code == 1 and "TWILIO_ACCOUNT_SID" in result.output


# Several workers at once -----------------------------------------------------------------


def _queue_bulk(count: int) -> None:
    _db.session.execute(
        sa.insert(Message),
        [
            {
                "direction": Direction.OUTBOUND,
                "status": MessageStatus.QUEUED,
                "idempotency_key": f"bulk:{n}",
                "to_phone": f"+1303555{n:04d}",
                "body": f"Bulk text {n}",
                "kind": "broadcast",
                "send_after": NOON - dt.timedelta(minutes=1),
                "created_at": NOON - dt.timedelta(minutes=1),
                "status_history": [{"status": "queued", "at": NOON.isoformat()}],
            }
            for n in range(count)
        ],
    )
    _db.session.commit()


def _run_workers(app, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def work():
        try:
            with app.app_context():
                with Worker(clock=lambda: NOON, threads=4, batch_size=50) as worker:
                    start.wait()
                    worker.send_due()
                _db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _assert_each_sent_once(fake_twilio, count: int) -> None:
    accepted = fake_twilio.accepted
    assert len(accepted) == count
    assert len({post.to for post in accepted}) == count
    rows = _db.session.execute(
        sa.select(Message.status, Message.twilio_sid, Message.attempts)
    ).all()
    assert {status for status, _, _ in rows} == {MessageStatus.SENT}
    assert {sid for _, sid, _ in rows} == {post.sid for post in accepted}
    assert {attempts for _, _, attempts in rows} == {1}


def test_four_workers_on_postgresql_send_a_thousand_texts_exactly_once(
    twilio_app, fake_twilio, backend
):
    if backend != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is what this proves; SQLite has the 2-worker test")
    _queue_bulk(1000)
    assert _run_workers(twilio_app, 4) == []
    _assert_each_sent_once(fake_twilio, 1000)


def test_two_workers_send_every_text_exactly_once(twilio_app, fake_twilio):
    _queue_bulk(300)
    assert _run_workers(twilio_app, 2) == []
    _assert_each_sent_once(fake_twilio, 300)
