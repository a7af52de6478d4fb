"""Reminders before shifts, thanks and team lead prompts after them, and quiet hours."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import make_initiative, make_metric, make_shift
from tests.sms.conftest import messages
from volunteer_app.core.time import from_local
from volunteer_app.hours.services import check_in, check_out
from volunteer_app.initiatives.models import InitiativeStatus, MetricKind
from volunteer_app.reference.settings import set_setting
from volunteer_app.shifts.models import Signup, SignupStatus
from volunteer_app.shifts.services import cancel_signup, signup_for_shift
from volunteer_app.sms.models import MessageStatus
from volunteer_app.sms.quiet_hours import QuietHours
from volunteer_app.sms.reminders import reminder_due_at, schedule_after_shift, schedule_reminders

NY = "America/New_York"


def ny(*args) -> dt.datetime:
    """A New York wall-clock time as a UTC instant."""
    return from_local(dt.datetime(*args), NY)  # noqa: DTZ001 - wall-clock time


def signed_up(person, shift, at: dt.datetime | None = None) -> Signup:
    at = at or shift.starts_at - dt.timedelta(days=7)
    return signup_for_shift(person, shift, now=at).signup


def reminders() -> list:
    return messages(kind="reminder")


# When a reminder is due -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift_start", "due"),
    [
        # Clocks spring forward early on Sunday 8 March 2026: still 09:00 on Saturday.
        (ny(2026, 3, 8, 9, 0), dt.datetime(2026, 3, 7, 14, 0, tzinfo=dt.UTC)),
        # Clocks fall back early on Sunday 1 November 2026: still 09:00 on Saturday.
        (ny(2026, 11, 1, 9, 0), dt.datetime(2026, 10, 31, 13, 0, tzinfo=dt.UTC)),
    ],
)
def test_day_reminders_keep_the_local_time_across_daylight_saving(shift_start, due):
    assert reminder_due_at(shift_start, 1440, NY) == due
    assert reminder_due_at(shift_start, 1440, NY) != shift_start - dt.timedelta(hours=24)
    # Offsets that are not whole days are elapsed time.
    assert reminder_due_at(shift_start, 120, NY) == shift_start - dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("shift_start", "too_early", "on_time"),
    [
        (ny(2026, 3, 8, 9, 0), ny(2026, 3, 7, 8, 59), ny(2026, 3, 7, 9, 0)),
        (ny(2026, 11, 1, 9, 0), ny(2026, 10, 31, 8, 59), ny(2026, 10, 31, 9, 0)),
    ],
)
def test_a_daylight_saving_weekend_does_not_shift_the_reminder_by_an_hour(
    app, texter, tick, shift_start, too_early, on_time
):
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=shift_start)
    signed_up(texter(), shift)

    tick(too_early)
    assert reminders() == []

    tick(on_time)
    [reminder] = reminders()
    assert reminder.status == MessageStatus.SENT and reminder.sent_at == on_time
    assert "Sun" in reminder.body or "3/8/26" in reminder.body or "11/1/26" in reminder.body
    assert "9:00" in reminder.body  # the local time of the shift, not UTC


def test_a_reminder_says_what_where_when_and_how_to_answer(app, texter, tick):
    initiative = make_initiative(title="Riverside Tree Planting")
    shift = make_shift(initiative, starts_at=ny(2026, 6, 6, 9, 30), location_name="Elm Park")
    signup = signed_up(texter(), shift)

    tick(ny(2026, 6, 5, 9, 30))

    [reminder] = reminders()
    assert reminder.idempotency_key == f"reminder:1440:signup:{signup.id}"
    assert reminder.expires_at == shift.starts_at
    assert reminder.signup_id == signup.id and reminder.shift_id == shift.id
    for words in ("Riverside Tree Planting", "Elm Park", "9:30", shift.code):
        assert words in reminder.body
    assert "Reply OK to confirm or DROP to give up your spot" in reminder.body
    assert reminder.segments == 1


def test_default_reminders_are_a_day_and_two_hours_before(app, texter, tick):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signup = signed_up(texter(), shift)

    tick(ny(2026, 6, 5, 12, 0))
    tick(ny(2026, 6, 6, 9, 59))
    tick(ny(2026, 6, 6, 10, 0))
    tick(ny(2026, 6, 6, 10, 30))

    assert [m.idempotency_key for m in reminders()] == [
        f"reminder:1440:signup:{signup.id}",
        f"reminder:120:signup:{signup.id}",
    ]
    assert all(m.status == MessageStatus.SENT for m in reminders())


def test_a_worker_back_from_a_pause_sends_only_the_latest_reminder(app, texter, tick):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signup = signed_up(texter(), shift)

    tick(ny(2026, 6, 6, 11, 0))

    assert [m.idempotency_key for m in reminders()] == [f"reminder:120:signup:{signup.id}"]


def test_no_reminder_once_the_shift_has_started(app, texter, tick):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signed_up(texter(), shift)
    tick(ny(2026, 6, 6, 12, 0))
    assert reminders() == []


def test_no_reminder_that_would_have_come_before_the_signup(app, texter, tick):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signed_up(texter(), shift, at=ny(2026, 6, 6, 9, 0))  # 3 h before: after the 24 h one

    tick(ny(2026, 6, 6, 9, 1))
    assert reminders() == []
    tick(ny(2026, 6, 6, 10, 0))
    assert [m.idempotency_key.split(":")[1] for m in reminders()] == ["120"]


def test_only_confirmed_people_on_live_shifts_of_published_initiatives(app, texter, tick):
    start = ny(2026, 6, 6, 12, 0)
    live = make_shift(make_initiative(), starts_at=start)
    draft = make_shift(make_initiative(status=InitiativeStatus.PUBLISHED), starts_at=start)
    waitlisted_shift = make_shift(make_initiative(), starts_at=start, capacity=1)
    confirmed = signed_up(texter(), live)
    signed_up(texter(), draft)
    draft.initiative.status = InitiativeStatus.DRAFT
    signed_up(texter(), waitlisted_shift)
    waiting = signed_up(texter(), waitlisted_shift)
    assert waiting.status == SignupStatus.WAITLISTED
    dropped = signed_up(texter(), live)
    dropped.status = SignupStatus.CANCELLED
    live.spots_taken -= 1

    tick(ny(2026, 6, 5, 12, 0))

    keyed = {m.signup_id for m in reminders()}
    assert confirmed.id in keyed
    assert waiting.id not in keyed and dropped.id not in keyed
    assert not any(m.shift_id == draft.id for m in reminders())


def test_reminder_minutes_are_configurable_per_initiative(app, texter, tick):
    shift = make_shift(
        make_initiative(reminder_minutes=[2880, 45]), starts_at=ny(2026, 6, 6, 12, 0)
    )
    signup = signed_up(texter(), shift)

    tick(ny(2026, 6, 4, 12, 0))
    tick(ny(2026, 6, 5, 12, 0))  # no 24 h reminder here
    tick(ny(2026, 6, 6, 11, 15))

    assert [m.idempotency_key for m in reminders()] == [
        f"reminder:2880:signup:{signup.id}",
        f"reminder:45:signup:{signup.id}",
    ]


def test_scheduling_twice_queues_once(app, texter, db):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signed_up(texter(), shift)
    at = ny(2026, 6, 5, 12, 0)
    assert schedule_reminders(now=at) == 1
    assert schedule_reminders(now=at + dt.timedelta(minutes=1)) == 0
    assert len(reminders()) == 1


def test_scheduling_takes_the_same_few_queries_for_five_or_fifty_signups(
    app, texter, db, count_queries
):
    def queries_for(people: int) -> int:
        start = ny(2026, 6, 6, 12, 0) + dt.timedelta(days=people)
        shift = make_shift(make_initiative(), starts_at=start, capacity=people)
        for _ in range(people):
            signed_up(texter(), shift)
        db.session.commit()
        with count_queries() as queries:
            assert schedule_reminders(now=start - dt.timedelta(hours=23)) == people
        return len(queries)

    assert queries_for(5) == queries_for(50) <= 6


def test_people_without_consent_get_a_dropped_reminder_saying_why(app, texter, tick):
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signed_up(texter(consent_at=None), shift)
    tick(ny(2026, 6, 5, 12, 0))
    [reminder] = reminders()
    assert reminder.status == MessageStatus.DROPPED and reminder.error == "no SMS consent"


# STOP ------------------------------------------------------------------------------------


def test_stop_before_a_reminder_is_due_means_it_is_never_sent(
    twilio_app, fake_twilio, texter, tick
):
    person = texter()
    shift = make_shift(make_initiative(), starts_at=ny(2026, 6, 6, 12, 0))
    signed_up(person, shift)
    tick(ny(2026, 6, 1, 12, 0))  # the confirmation goes out
    assert len(fake_twilio.posts) == 1
    person.sms_opted_out_at = ny(2026, 6, 2, 12, 0)  # texts STOP

    tick(ny(2026, 6, 5, 12, 0))
    tick(ny(2026, 6, 6, 10, 0))

    assert len(fake_twilio.posts) == 1
    assert {m.status for m in reminders()} <= {MessageStatus.DROPPED}
    assert all(m.error == "opted out" for m in reminders())


def test_stop_after_a_reminder_was_queued_stops_it_too(twilio_app, fake_twilio, texter, tick):
    person = texter()
    # Due at 22:30: queued then, deferred to 08:00 by quiet hours.
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=ny(2026, 6, 6, 22, 30))
    signed_up(person, shift)
    tick(ny(2026, 6, 5, 22, 30))
    [reminder] = reminders()
    assert reminder.status == MessageStatus.QUEUED
    person.sms_opted_out_at = ny(2026, 6, 5, 23, 0)
    fake_twilio.reset()

    tick(ny(2026, 6, 6, 8, 0))

    assert fake_twilio.posts == []
    [reminder] = reminders()
    assert reminder.status == MessageStatus.DROPPED and reminder.error == "opted out"


# Quiet hours -----------------------------------------------------------------------------


def test_a_reminder_due_in_quiet_hours_goes_when_they_end(app, texter, tick):
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=ny(2026, 6, 6, 22, 30))
    signed_up(texter(), shift)

    tick(ny(2026, 6, 5, 22, 30))
    [reminder] = reminders()
    assert reminder.status == MessageStatus.QUEUED
    assert reminder.send_after == ny(2026, 6, 6, 8, 0)

    tick(ny(2026, 6, 6, 7, 59))
    assert reminders()[0].status == MessageStatus.QUEUED
    tick(ny(2026, 6, 6, 8, 0))
    assert reminders()[0].status == MessageStatus.SENT
    assert reminders()[0].sent_at == ny(2026, 6, 6, 8, 0)


def test_a_two_hour_reminder_for_an_early_shift_goes_at_eight(app, texter, tick):
    shift = make_shift(make_initiative(reminder_minutes=[120]), starts_at=ny(2026, 6, 6, 8, 30))
    signed_up(texter(), shift)

    tick(ny(2026, 6, 6, 6, 30))
    assert reminders()[0].send_after == ny(2026, 6, 6, 8, 0)
    tick(ny(2026, 6, 6, 8, 0))
    assert reminders()[0].status == MessageStatus.SENT


def test_a_reminder_that_would_arrive_after_the_start_goes_the_evening_before(app, texter, tick):
    shift = make_shift(make_initiative(reminder_minutes=[120]), starts_at=ny(2026, 6, 6, 7, 0))
    signed_up(texter(), shift)

    tick(ny(2026, 6, 5, 20, 44))
    assert reminders() == []
    tick(ny(2026, 6, 5, 20, 45))  # the last moment before quiet hours, with a margin
    [reminder] = reminders()
    assert reminder.status == MessageStatus.SENT


def test_a_reminder_too_late_for_the_evening_before_is_dropped_with_the_reason(app, texter, tick):
    shift = make_shift(make_initiative(reminder_minutes=[120]), starts_at=ny(2026, 6, 6, 7, 0))
    signed_up(texter(), shift)

    tick(ny(2026, 6, 6, 5, 0))  # the worker was not running the evening before

    [reminder] = reminders()
    assert reminder.status == MessageStatus.DROPPED
    assert reminder.error == "quiet hours until shift start"


def test_quiet_hours_are_a_program_setting(app, texter, tick):
    set_setting("quiet_hours_start", 23)
    set_setting("quiet_hours_end", 7)
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=ny(2026, 6, 6, 22, 30))
    signed_up(texter(), shift)
    tick(ny(2026, 6, 5, 22, 30))
    assert reminders()[0].status == MessageStatus.SENT


def test_quiet_hours_rules():
    quiet = QuietHours(21, 8)
    assert quiet.is_quiet(ny(2026, 6, 5, 21, 0), NY)
    assert quiet.is_quiet(ny(2026, 6, 5, 7, 59), NY)
    assert not quiet.is_quiet(ny(2026, 6, 5, 8, 0), NY)
    assert not quiet.is_quiet(ny(2026, 6, 5, 20, 59), NY)
    assert quiet.next_allowed(ny(2026, 6, 5, 23, 0), NY) == ny(2026, 6, 6, 8, 0)
    assert quiet.next_allowed(ny(2026, 6, 5, 3, 0), NY) == ny(2026, 6, 5, 8, 0)
    # Across the spring-forward night the morning is still 08:00 local.
    assert quiet.next_allowed(ny(2026, 3, 7, 22, 0), NY) == ny(2026, 3, 8, 8, 0)
    assert quiet.last_allowed_before(ny(2026, 6, 6, 7, 0), NY) == ny(2026, 6, 5, 20, 45)
    assert not QuietHours(8, 8).is_quiet(ny(2026, 6, 5, 3, 0), NY)
    assert QuietHours(1, 6).is_quiet(ny(2026, 6, 5, 3, 0), NY)
    assert QuietHours(1, 6).next_allowed(ny(2026, 6, 5, 3, 0), NY) == ny(2026, 6, 5, 6, 0)


# After a shift -----------------------------------------------------------------------------


def test_after_a_shift_attendees_get_thanks_with_their_hours(app, texter, tick):
    start = ny(2026, 6, 6, 9, 0)
    shift = make_shift(make_initiative(title="Block Clean-up"), starts_at=start, hours=2.5)
    came = signed_up(texter(), shift)
    absent = signed_up(texter(), shift)
    check_in(came, now=start - dt.timedelta(minutes=5), method="sms")
    check_out(came, now=start + dt.timedelta(hours=2, minutes=30), method="sms")

    tick(start + dt.timedelta(hours=2, minutes=31))

    [thanks] = messages(kind="thanks")
    assert thanks.signup_id == came.id and thanks.idempotency_key == f"thanks:signup:{came.id}"
    assert "Block Clean-up" in thanks.body and "2 h 30 min" in thanks.body
    assert thanks.status == MessageStatus.SENT
    assert absent.id not in {m.signup_id for m in messages(kind="thanks")}


def test_a_forgotten_check_out_is_closed_and_thanked_for_the_whole_shift(app, texter, tick):
    start = ny(2026, 6, 6, 9, 0)
    shift = make_shift(make_initiative(), starts_at=start, hours=3)
    came = signed_up(texter(), shift)
    check_in(came, now=start, method="sms")

    output = tick(start + dt.timedelta(hours=3, minutes=1))

    assert "closed 1 check-outs" in output
    [thanks] = messages(kind="thanks")
    assert "3 hours" in thanks.body


def test_the_team_lead_is_asked_for_the_outcome_number(app, texter, tick):
    start = ny(2026, 6, 6, 9, 0)
    initiative = make_initiative()
    make_metric(initiative, name="Students reached", unit="students", kind=MetricKind.OUTCOME)
    make_metric(initiative, name="Trees planted", unit="trees", position=1)
    lead = texter()
    shift = make_shift(initiative, starts_at=start, team_lead_id=lead.id)

    tick(start + dt.timedelta(hours=3))
    tick(start + dt.timedelta(hours=4))

    [prompt] = messages(kind="lead_outcome_prompt")
    assert prompt.user_id == lead.id
    assert prompt.idempotency_key == f"outcome_prompt:shift:{shift.id}"
    assert "trees" in prompt.body and "Trees planted" in prompt.body and shift.code in prompt.body
    assert prompt.segments == 1


def test_no_prompt_without_an_output_metric_and_nothing_for_old_shifts(app, texter, db):
    start = ny(2026, 6, 6, 9, 0)
    lead = texter()
    make_shift(make_initiative(), starts_at=start, team_lead_id=lead.id)
    assert schedule_after_shift(now=start + dt.timedelta(hours=3)) == 0
    with_metric = make_initiative()
    make_metric(with_metric)
    make_shift(with_metric, starts_at=start - dt.timedelta(days=3), team_lead_id=lead.id)
    assert schedule_after_shift(now=start + dt.timedelta(hours=3)) == 0


# Giving up a place ------------------------------------------------------------------------


def test_dropping_withdraws_a_waiting_reminder_and_signing_up_again_brings_one(
    app, db, texter, tick
):
    """A reminder held back by quiet hours, a DROP, then a change of heart: exactly one
    reminder goes out, under the usual key."""
    person = texter()
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=ny(2026, 6, 6, 7, 0))
    signup = signed_up(person, shift)
    key = f"reminder:1440:signup:{signup.id}"

    tick(ny(2026, 6, 5, 7, 0))  # due at 07:00, held until quiet hours end at 08:00
    [waiting] = reminders()
    assert waiting.status == MessageStatus.QUEUED and waiting.idempotency_key == key

    cancel_signup(db.session.get(Signup, signup.id), now=ny(2026, 6, 5, 7, 10))
    db.session.commit()
    [withdrawn] = reminders()
    assert withdrawn.status == MessageStatus.DROPPED and withdrawn.error == "signup cancelled"
    assert withdrawn.idempotency_key.startswith(f"{key}:withdrawn:")

    again = signed_up(db.session.get(type(person), person.id), shift, at=ny(2026, 6, 5, 7, 20))
    assert again.id == signup.id and again.status == SignupStatus.CONFIRMED
    tick(ny(2026, 6, 5, 8, 0))

    sent = [m for m in reminders() if m.status == MessageStatus.SENT]
    assert [m.idempotency_key for m in sent] == [key]
    assert len(reminders()) == 2  # the withdrawn one and the one sent


def test_the_worker_frees_the_key_of_a_reminder_for_a_place_given_up(app, db, texter, tick):
    """A reminder scheduled just as the person dropped (two transactions crossing) is dropped
    when due, and its key freed like a withdrawn one."""
    shift = make_shift(make_initiative(reminder_minutes=[1440]), starts_at=ny(2026, 6, 6, 12, 0))
    signup = signed_up(texter(), shift)
    schedule_reminders(now=ny(2026, 6, 5, 12, 0))
    # The DROP committed after the scheduler read the signup: nothing withdrew the reminder.
    db.session.get(Signup, signup.id).status = SignupStatus.CANCELLED

    tick(ny(2026, 6, 5, 12, 0))

    [dropped] = reminders()
    assert dropped.status == MessageStatus.DROPPED and dropped.error == "signup cancelled"
    assert dropped.idempotency_key.startswith(f"reminder:1440:signup:{signup.id}:withdrawn:")
