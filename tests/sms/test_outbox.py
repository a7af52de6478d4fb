"""The outbox: queuing texts once, in the recipient's language, and roster-wide notices."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_coordinator, make_initiative, make_organization, make_shift
from tests.sms.conftest import messages
from volunteer_app.extensions import db as _db
from volunteer_app.shifts.models import SignupStatus
from volunteer_app.shifts.services import signup_for_shift
from volunteer_app.sms import outbox
from volunteer_app.sms.models import Message, MessageStatus
from volunteer_app.sms.notices import (
    notify_shift_cancelled,
    notify_shift_changed,
    queue_invitation,
)
from volunteer_app.sms.outbox import OutgoingText, queue_many, queue_sms, render_sms
from volunteer_app.sms.reminders import schedule_reminders

NOW = dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 6, 6, 13, 30, tzinfo=dt.UTC)  # 09:30 in New York


def test_queue_sms_writes_one_row_per_key(app, texter):
    person = texter()
    first = queue_sms(person, "broadcast", key="k1", now=NOW, text="Hello")
    again = queue_sms(person, "broadcast", key="k1", now=NOW, text="Hello again")

    assert first is not None and again is None
    [message] = messages()
    assert message.status == MessageStatus.QUEUED and message.body == "Serve Our City: Hello"
    assert message.to_phone == person.phone and message.send_after == NOW
    assert message.segments == 1


def test_no_phone_no_row_and_no_consent_a_dropped_row(app, texter):
    assert queue_sms(texter(phone=None), "broadcast", key="a", now=NOW, text="x") is None
    dropped = queue_sms(texter(consent_at=None), "broadcast", key="b", now=NOW, text="x")
    assert dropped.status == MessageStatus.DROPPED and dropped.error == "no SMS consent"
    assert [entry["status"] for entry in dropped.status_history] == ["queued", "dropped"]


def test_texts_are_rendered_in_the_recipients_language(app, texter):
    shift = make_shift(make_initiative(), starts_at=START)
    english = render_sms("reminder", texter(preferred_language="en"), shift=shift)
    spanish = render_sms("reminder", texter(preferred_language="es"), shift=shift)
    assert "9:30 AM" in english
    assert "9:30" in spanish and "AM" not in spanish


def test_typographic_characters_are_kept_to_gsm7(app, texter):
    shift = make_shift(make_initiative(title="Kids’ “Reading” Club — Spring…"), starts_at=START)
    body = render_sms("reminder", texter(), shift=shift)
    assert 'Kids\' "Reading" Club - Spring...' in body
    message = queue_sms(texter(), "reminder", key="r", now=NOW, shift=shift)
    assert message.segments == 1


def test_queue_many_is_idempotent_and_set_based(app, texter, db, count_queries):
    people = [texter() for _ in range(20)]
    texts = [
        OutgoingText(user=p, template="broadcast", key=f"many:{p.id}", context={"text": "Hi"})
        for p in people
    ]
    with count_queries() as queries:
        assert queue_many(texts, now=NOW) == 20
    assert len(queries) == 2
    assert queue_many(texts, now=NOW) == 0
    assert len(messages()) == 20


def test_queue_many_survives_a_concurrent_insert_of_the_same_key(app, texter, monkeypatch):
    person = texter()
    text = OutgoingText(user=person, template="broadcast", key="race", context={"text": "Hi"})
    assert queue_many([text], now=NOW) == 1
    # As if another worker wrote the row between our check and our insert.
    monkeypatch.setattr(outbox, "existing_keys", lambda keys: set())
    queue_many([text], now=NOW)
    assert len(messages()) == 1


def test_shift_change_tells_everyone_on_it_and_replaces_queued_reminders(app, texter, db):
    shift = make_shift(make_initiative(), starts_at=START, capacity=1)
    confirmed = signup_for_shift(texter(), shift, now=NOW).signup
    waiting = signup_for_shift(texter(), shift, now=NOW).signup
    assert waiting.status == SignupStatus.WAITLISTED
    assert schedule_reminders(now=START - dt.timedelta(hours=23)) == 1
    [old_reminder] = messages(kind="reminder")
    old_key = old_reminder.idempotency_key

    shift.starts_at += dt.timedelta(hours=2)
    shift.ends_at += dt.timedelta(hours=2)
    changed_at = START - dt.timedelta(hours=22)
    assert notify_shift_changed(shift, changed_at) == 2
    assert notify_shift_changed(shift, changed_at) == 0  # the same change, once

    notices = messages(kind="shift_changed")
    assert {m.signup_id for m in notices} == {confirmed.id, waiting.id}
    assert all("11:30 AM" in m.body for m in notices)
    withdrawn = db.session.get(Message, old_reminder.id)
    assert withdrawn.status == MessageStatus.DROPPED and withdrawn.error == "shift changed"
    # The key is free again: the reminder for the new time is scheduled when due.
    assert schedule_reminders(now=shift.starts_at - dt.timedelta(hours=23)) == 1
    assert [m.idempotency_key for m in messages(kind="reminder", status=MessageStatus.QUEUED)] == [
        old_key
    ]


def test_shift_cancellation_tells_confirmed_and_waitlisted_people(app, texter, db):
    shift = make_shift(make_initiative(), starts_at=START, capacity=1)
    confirmed = signup_for_shift(texter(), shift, now=NOW).signup
    waiting = signup_for_shift(texter(), shift, now=NOW).signup

    assert notify_shift_cancelled(shift, NOW) == 2

    notices = messages(kind="shift_cancelled")
    assert {m.signup_id for m in notices} == {confirmed.id, waiting.id}
    assert all("is cancelled" in m.body and shift.code in m.body for m in notices)
    assert all(m.expires_at == shift.ends_at for m in notices)


def test_an_invitation_is_queued_once_per_person_and_shift(app, texter, db):
    org = make_organization("Parks Department")
    shift = make_shift(make_initiative(org), starts_at=START)
    coordinator = make_coordinator(org)
    person = texter()

    link = "http://localhost/i/token"
    message = queue_invitation(person, shift, NOW, invited_by_id=coordinator.id, link=link)
    assert queue_invitation(person, shift, NOW, invited_by_id=coordinator.id, link=link) is None

    assert message.body.startswith("Parks Department invites you")
    assert f"reply JOIN {shift.code}" in message.body and link in message.body
    assert message.expires_at == shift.starts_at
    assert message.status_history[0]["note"] == f"invited by user {coordinator.id}"
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 1


# Cancelling withdraws every text about the signup ---------------------------------------------


def _signup_texts(kind: str, texter, now):
    """A person whose signup has a queued text of `kind`; returns (their signup, the text)."""
    from volunteer_app.shifts.services import cancel_signup

    shift = make_shift(make_initiative(), starts_at=START, capacity=1)
    person = texter()
    if kind == "signup_confirmed":
        signup = signup_for_shift(person, shift, now=now).signup
    elif kind == "signup_waitlisted":
        signup_for_shift(texter(), shift, now=now)
        signup = signup_for_shift(person, shift, now=now).signup
    elif kind == "waitlist_promoted":
        holder = signup_for_shift(texter(), shift, now=now).signup
        signup = signup_for_shift(person, shift, now=now).signup
        cancel_signup(holder, now=now)
    else:
        signup = signup_for_shift(person, shift, now=now).signup
        schedule_reminders(now=START - dt.timedelta(hours=24))
    [text] = messages(signup_id=signup.id, kind=kind)
    assert text.status == MessageStatus.QUEUED
    return signup, text


@pytest.mark.parametrize(
    "kind", ["signup_confirmed", "signup_waitlisted", "waitlist_promoted", "reminder"]
)
def test_cancelling_withdraws_every_text_about_the_signup(
    twilio_app, fake_twilio, texter, tick, kind
):
    """The texts go out a little later (quiet hours, a busy worker); by then the person has
    cancelled, and none of them may still reach them."""
    from volunteer_app.shifts.services import cancel_signup

    signup, text = _signup_texts(kind, texter, NOW)
    _db.session.execute(
        sa.update(Message)
        .where(Message.signup_id == signup.id)
        .values(send_after=NOW + dt.timedelta(minutes=5))
    )
    cancel_signup(signup, now=NOW + dt.timedelta(minutes=1))
    # Withdrawn by the cancellation itself, not left for the worker to notice.
    assert {m.status for m in messages(user_id=signup.user_id)} == {MessageStatus.DROPPED}

    tick(NOW + dt.timedelta(minutes=5))

    assert fake_twilio.posts_to(text.to_phone) == []
    assert {(m.status, m.error) for m in messages(user_id=signup.user_id)} == {
        (MessageStatus.DROPPED, "signup cancelled")
    }
