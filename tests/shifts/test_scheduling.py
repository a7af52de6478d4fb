"""Scheduling shifts and series, editing, cancelling and duplicating them, on every backend."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_shift, make_user
from volunteer_app.core.time import local
from volunteer_app.shifts import scheduling
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.scheduling import ScheduleError, ShiftDetails
from volunteer_app.shifts.services import signup_for_shift
from volunteer_app.sms.models import Message

NOW = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)


def details(**changes) -> ShiftDetails:
    base = ShiftDetails(
        starts_on=dt.date(2026, 10, 3),
        start_time=dt.time(9, 0),
        end_time=dt.time(12, 0),
        capacity=5,
        location_name="Riverside Park",
        address="1 River Rd",
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def initiative(db):
    return make_initiative(timezone="America/New_York")


def texted_person(n: int):
    return make_user(phone=f"+1202555{n:04d}", consent_at=NOW)


# ---------------------------------------------------------------------------------------------
# Creating


def test_one_shift_is_converted_from_local_time_and_gets_a_code(db, initiative):
    shift = scheduling.create_shift(initiative, details(), now=NOW)
    db.session.commit()

    assert shift.starts_at == dt.datetime(2026, 10, 3, 13, 0, tzinfo=dt.UTC)  # 9:00 EDT
    assert shift.ends_at == dt.datetime(2026, 10, 3, 16, 0, tzinfo=dt.UTC)
    assert shift.code.isdigit() and len(shift.code) >= 4
    assert shift.series_id is None
    assert shift.spots_taken == 0 and shift.status == ShiftStatus.SCHEDULED


def test_a_time_in_the_repeated_hour_is_the_one_still_to_come(db, initiative):
    # New York falls back at 06:00 UTC on 1 November 2026: 01:00-01:59 comes twice.
    repeated = details(
        starts_on=dt.date(2026, 11, 1), start_time=dt.time(1, 30), end_time=dt.time(2, 30)
    )
    ahead = scheduling.create_shift(initiative, repeated, now=NOW)
    assert ahead.starts_at == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)  # 01:30 EDT

    second_one_oclock = dt.datetime(2026, 11, 1, 6, 5, tzinfo=dt.UTC)  # 01:05 EST
    during = scheduling.create_shift(initiative, repeated, now=second_one_oclock)
    assert during.starts_at == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 EST
    assert during.ends_at == dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)

    with pytest.raises(ScheduleError, match="already passed"):
        scheduling.create_shift(
            initiative, repeated, now=dt.datetime(2026, 11, 1, 6, 45, tzinfo=dt.UTC)
        )


def test_weekly_saturday_series_keeps_nine_local_across_the_dst_change(db, initiative):
    shifts = scheduling.create_series(
        initiative,
        details(starts_on=dt.date(2026, 10, 17)),
        weekdays=[5],
        until_on=dt.date(2026, 11, 14),
        now=NOW,
    )
    db.session.commit()

    dates = [local(s.starts_at, "America/New_York").date() for s in shifts]
    assert dates == [
        dt.date(2026, 10, 17),
        dt.date(2026, 10, 24),
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 7),
        dt.date(2026, 11, 14),
    ]
    assert {local(s.starts_at, "America/New_York").time() for s in shifts} == {dt.time(9, 0)}
    # Clocks fall back on 2026-11-01: 9:00 EDT is 13:00 UTC, 9:00 EST is 14:00 UTC.
    assert [s.starts_at.hour for s in shifts] == [13, 13, 13, 14, 14]
    assert [s.ends_at.hour for s in shifts] == [16, 16, 16, 17, 17]
    assert len({s.series_id for s in shifts}) == 1 and shifts[0].series_id
    assert len({s.code for s in shifts}) == len(shifts)


def test_series_on_several_weekdays_includes_both_ends(db, initiative):
    shifts = scheduling.create_series(
        initiative,
        details(starts_on=dt.date(2026, 10, 5)),  # a Monday
        weekdays=[0, 2],
        until_on=dt.date(2026, 10, 12),
        now=NOW,
    )
    days = [local(s.starts_at, initiative.timezone).date() for s in shifts]
    assert days == [dt.date(2026, 10, 5), dt.date(2026, 10, 7), dt.date(2026, 10, 12)]


@pytest.mark.parametrize(
    ("weekdays", "until_on", "message"),
    [
        ([], dt.date(2026, 11, 1), "at least one day"),
        ([5], dt.date(2026, 9, 1), "on or after"),
        ([0], dt.date(2026, 10, 4), "No chosen weekday"),  # Sat 3rd to Sun 4th: no Monday
        ([0, 1, 2, 3, 4, 5, 6], dt.date(2027, 6, 1), "at most 200"),
        ([5], dt.date(2036, 1, 1), "at most 200"),
    ],
)
def test_impossible_series_are_refused_without_writing(db, initiative, weekdays, until_on, message):
    with pytest.raises(ScheduleError, match=message):
        scheduling.create_series(
            initiative, details(), weekdays=weekdays, until_on=until_on, now=NOW
        )
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0


def test_series_of_exactly_the_limit_is_allowed(db, initiative):
    first = dt.date(2026, 10, 3)
    shifts = scheduling.create_series(
        initiative,
        details(starts_on=first),
        weekdays=[5],
        until_on=first + dt.timedelta(weeks=199),
        now=NOW,
    )
    assert len(shifts) == scheduling.MAX_SERIES_OCCURRENCES


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_time": dt.time(8, 0)}, "end after it starts"),
        ({"end_time": dt.time(9, 0)}, "end after it starts"),
        ({"capacity": -1}, "Capacity"),
        ({"capacity": 10**9}, "Capacity"),
        ({"starts_on": dt.date(2026, 8, 1)}, "already passed"),
        ({"latitude": 40.0}, "both latitude and longitude"),
        ({"latitude": 100.0, "longitude": 0.0}, "not a place"),
        ({"effort": "extreme"}, "effort"),
        ({"neighborhood_id": 999_999}, "neighborhood"),
    ],
)
def test_bad_shift_details_are_refused(db, initiative, changes, message):
    with pytest.raises(ScheduleError, match=message):
        scheduling.create_shift(initiative, details(**changes), now=NOW)


def test_team_lead_must_be_someone_confirmed_for_the_initiative(db, initiative):
    stranger = make_user()
    with pytest.raises(ScheduleError, match="team lead"):
        scheduling.create_shift(initiative, details(team_lead_id=stranger.id), now=NOW)

    earlier = make_shift(initiative, starts_at=NOW + dt.timedelta(days=2))
    regular = make_user()
    signup_for_shift(regular, earlier, now=NOW)
    shift = scheduling.create_shift(initiative, details(team_lead_id=regular.id), now=NOW)
    assert shift.team_lead_id == regular.id
    assert regular in scheduling.team_lead_choices(initiative)
    assert stranger not in scheduling.team_lead_choices(initiative)


# ---------------------------------------------------------------------------------------------
# Capacity


@pytest.fixture
def full_shift(db, initiative):
    """A shift for 2 with 2 confirmed and 3 waiting, everyone with a phone and consent."""
    shift = scheduling.create_shift(initiative, details(capacity=2), now=NOW)
    people = [texted_person(i) for i in range(5)]
    for person in people:
        signup_for_shift(person, shift, now=NOW)
    db.session.commit()
    return shift


def _signups(shift: Shift) -> list[Signup]:
    return list(
        scheduling.db.session.scalars(
            sa.select(Signup).where(Signup.shift_id == shift.id).order_by(Signup.id)
        )
    )


def test_raising_capacity_promotes_the_waitlist_in_order(db, full_shift):
    waiting = [s for s in _signups(full_shift) if s.status == SignupStatus.WAITLISTED]
    later = NOW + dt.timedelta(hours=1)

    result = scheduling.change_capacity(full_shift, 4, now=later)
    db.session.commit()

    assert result.promoted == waiting[:2]
    statuses = [s.status for s in _signups(full_shift)]
    assert statuses == [SignupStatus.CONFIRMED] * 4 + [SignupStatus.WAITLISTED]
    assert full_shift.spots_taken == 4 and full_shift.capacity == 4
    promoted_texts = db.session.scalars(
        sa.select(Message.user_id).where(Message.kind == "waitlist_promoted")
    ).all()
    assert sorted(promoted_texts) == sorted(s.user_id for s in waiting[:2])
    # Capacity alone is neither a new time nor a new place: no change notice.
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 0
    )


def test_lowering_capacity_below_the_confirmed_count_is_refused_and_writes_nothing(db, full_shift):
    before = (full_shift.capacity, full_shift.spots_taken, full_shift.location_name)
    with pytest.raises(scheduling.CapacityBelowConfirmed) as refusal:
        scheduling.update_shift(
            full_shift,
            dataclasses.replace(
                scheduling.details_of(full_shift), capacity=1, location_name="Elsewhere"
            ),
            now=NOW,
        )
    assert "2 people are already confirmed" in refusal.value.message
    assert "cannot go below 2" in refusal.value.message
    db.session.rollback()
    db.session.expire_all()
    shift = db.session.get(Shift, full_shift.id)
    assert (shift.capacity, shift.spots_taken, shift.location_name) == before
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 0
    )


def test_lowering_capacity_to_exactly_the_confirmed_count_is_allowed(db, full_shift):
    scheduling.change_capacity(full_shift, 2, now=NOW)
    assert full_shift.capacity == 2


# ---------------------------------------------------------------------------------------------
# Time and place


def test_new_time_queues_change_notices_to_everyone_signed_up_who_can_be_texted(db, initiative):
    shift = scheduling.create_shift(initiative, details(capacity=1), now=NOW)
    confirmed, waiting = texted_person(1), texted_person(2)
    no_consent = make_user(phone="+12025550003")
    no_phone = make_user()
    cancelled = texted_person(4)
    for person in (confirmed, waiting, no_consent, no_phone, cancelled):
        signup_for_shift(person, shift, now=NOW)
    from volunteer_app.shifts.services import cancel_signup, signup_of

    cancel_signup(signup_of(cancelled, shift), now=NOW)
    db.session.commit()

    later = NOW + dt.timedelta(hours=2)
    result = scheduling.update_shift(
        shift,
        dataclasses.replace(scheduling.details_of(shift), start_time=dt.time(10, 0)),
        now=later,
    )
    db.session.commit()

    assert result.rescheduled == [shift]
    assert local(shift.starts_at, initiative.timezone).time() == dt.time(10, 0)
    queued = db.session.scalars(
        sa.select(Message).where(Message.kind == "shift_changed", Message.status == "queued")
    ).all()
    assert sorted(m.user_id for m in queued) == sorted([confirmed.id, waiting.id])
    assert all(m.shift_id == shift.id for m in queued)


def test_editing_without_changing_time_or_place_sends_nothing(db, full_shift):
    scheduling.update_shift(
        full_shift,
        dataclasses.replace(scheduling.details_of(full_shift), description="Bring gloves"),
        now=NOW,
    )
    db.session.commit()
    assert full_shift.description == "Bring gloves"
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 0
    )


def test_new_place_queues_change_notices(db, full_shift):
    scheduling.update_shift(
        full_shift,
        dataclasses.replace(scheduling.details_of(full_shift), location_name="Library"),
        now=NOW,
    )
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 5
    )


def test_a_started_shift_cannot_change_time(db, initiative):
    shift = scheduling.create_shift(initiative, details(), now=NOW)
    db.session.commit()
    during = shift.starts_at + dt.timedelta(minutes=30)
    with pytest.raises(ScheduleError, match="already started"):
        scheduling.update_shift(
            shift,
            dataclasses.replace(scheduling.details_of(shift), end_time=dt.time(13, 0)),
            now=during,
        )
    db.session.rollback()
    # Other details still can change, on the day.
    scheduling.update_shift(
        shift, dataclasses.replace(scheduling.details_of(shift), capacity=9), now=during
    )
    assert shift.capacity == 9


def test_moving_a_shift_into_the_past_is_refused(db, initiative):
    shift = scheduling.create_shift(initiative, details(), now=NOW)
    with pytest.raises(ScheduleError, match="already passed"):
        scheduling.update_shift(
            shift,
            dataclasses.replace(scheduling.details_of(shift), starts_on=dt.date(2026, 8, 1)),
            now=NOW,
        )


def test_this_and_following_moves_the_rest_of_the_series_keeping_their_dates(db, initiative):
    shifts = scheduling.create_series(
        initiative,
        details(starts_on=dt.date(2026, 10, 17)),
        weekdays=[5],
        until_on=dt.date(2026, 11, 14),
        now=NOW,
    )
    db.session.commit()
    third = shifts[2]
    result = scheduling.update_shift(
        third,
        dataclasses.replace(
            scheduling.details_of(third), start_time=dt.time(10, 0), end_time=dt.time(13, 0)
        ),
        now=NOW,
        scope=scheduling.THIS_AND_FOLLOWING,
    )
    db.session.commit()

    assert result.shifts == shifts[2:]
    tz = initiative.timezone
    times = [local(s.starts_at, tz).time() for s in shifts]
    assert times == [dt.time(9)] * 2 + [dt.time(10)] * 3
    assert [local(s.starts_at, tz).date() for s in shifts][2:] == [
        dt.date(2026, 10, 31),
        dt.date(2026, 11, 7),
        dt.date(2026, 11, 14),
    ]


def test_this_and_following_refuses_all_when_one_cannot_shrink(db, initiative):
    shifts = scheduling.create_series(
        initiative,
        details(starts_on=dt.date(2026, 10, 17), capacity=3),
        weekdays=[5],
        until_on=dt.date(2026, 10, 31),
        now=NOW,
    )
    for _ in range(2):
        signup_for_shift(make_user(), shifts[2], now=NOW)
    db.session.commit()
    with pytest.raises(scheduling.CapacityBelowConfirmed, match="2026-10-31"):
        scheduling.update_shift(
            shifts[0],
            dataclasses.replace(scheduling.details_of(shifts[0]), capacity=1),
            now=NOW,
            scope=scheduling.THIS_AND_FOLLOWING,
        )
    db.session.rollback()
    db.session.expire_all()
    assert [db.session.get(Shift, s.id).capacity for s in shifts] == [3, 3, 3]


# ---------------------------------------------------------------------------------------------
# Cancelling and duplicating


def test_cancelling_notifies_everyone_and_keeps_the_signups(db, full_shift):
    later = NOW + dt.timedelta(days=1)
    scheduling.cancel_shift(full_shift, now=later)
    db.session.commit()

    assert full_shift.status == ShiftStatus.CANCELLED
    assert full_shift.cancelled_at == later
    assert [s.status for s in _signups(full_shift)] == [SignupStatus.CONFIRMED] * 2 + [
        SignupStatus.WAITLISTED
    ] * 3
    notified = db.session.scalars(
        sa.select(Message.user_id).where(Message.kind == "shift_cancelled")
    ).all()
    assert len(notified) == 5

    with pytest.raises(ScheduleError, match="already cancelled"):
        scheduling.cancel_shift(full_shift, now=later)
    with pytest.raises(ScheduleError, match="cancelled"):
        scheduling.change_capacity(full_shift, 10, now=later)


def test_a_finished_shift_cannot_be_cancelled(db, full_shift):
    with pytest.raises(ScheduleError, match="over"):
        scheduling.cancel_shift(full_shift, now=full_shift.ends_at)


def test_duplicate_gets_a_new_code_same_local_times_and_nobody_signed_up(db, full_shift):
    copy = scheduling.duplicate_shift(full_shift, dt.date(2026, 12, 5), now=NOW)
    db.session.commit()

    tz = full_shift.initiative.timezone
    assert copy.id != full_shift.id and copy.code != full_shift.code
    assert local(copy.starts_at, tz).date() == dt.date(2026, 12, 5)
    assert local(copy.starts_at, tz).time() == dt.time(9, 0)  # EST now, still 9:00
    assert copy.starts_at.hour == 14
    assert (copy.capacity, copy.location_name, copy.spots_taken) == (2, "Riverside Park", 0)
    assert copy.series_id is None and copy.team_lead_id is None


def test_duplicating_into_the_past_is_refused(db, full_shift):
    with pytest.raises(ScheduleError, match="already passed"):
        scheduling.duplicate_shift(full_shift, dt.date(2026, 8, 1), now=NOW)


def test_stray_seconds_are_not_a_change_of_time(db, initiative):
    shift = make_shift(initiative, starts_at=dt.datetime(2026, 10, 3, 13, 0, 42, tzinfo=dt.UTC))
    signup_for_shift(texted_person(7), shift, now=NOW)
    result = scheduling.update_shift(
        shift, dataclasses.replace(scheduling.details_of(shift), description="Gloves"), now=NOW
    )
    assert result.rescheduled == []
    assert shift.starts_at.second == 42
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 0
    )
