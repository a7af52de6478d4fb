"""Check-in, check-out, hours credited, corrections kept in the trail."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_shift, make_user
from volunteer_app.hours import services
from volunteer_app.hours.models import HoursAudit, HoursStatus
from volunteer_app.shifts import services as shift_services
from volunteer_app.shifts.models import SignupStatus


@pytest.fixture
def signup(db, now):
    shift = make_shift(starts_at=now + dt.timedelta(days=1), hours=3)
    return shift_services.signup_for_shift(make_user(), shift, now=now).signup


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(0, 0), (7, 0), (8, 15), (52, 45), (53, 60), (181, 180), (172.5, 180)],
)
def test_rounding_to_nearest_quarter_hour(app, minutes, expected):
    assert services.round_minutes(minutes) == expected


def test_check_in_window_opens_thirty_minutes_before(db, signup):
    start = signup.shift.starts_at
    with pytest.raises(services.AttendanceError):
        services.check_in(signup, now=start - dt.timedelta(minutes=31), method="sms")
    services.check_in(signup, now=start - dt.timedelta(minutes=30), method="sms")
    assert signup.status == SignupStatus.ATTENDED
    assert signup.checked_in_at == start - dt.timedelta(minutes=30)


def test_check_out_credits_time_inside_the_shift_rounded(db, signup):
    start = signup.shift.starts_at
    services.check_in(signup, now=start + dt.timedelta(minutes=10), method="web")
    entry = services.check_out(signup, now=start + dt.timedelta(minutes=113), method="web")
    db.session.commit()
    assert entry.minutes == 105  # 103 minutes, nearest quarter hour
    assert entry.status == HoursStatus.APPROVED
    assert entry.served_on == (start - dt.timedelta(hours=4)).date()


def test_check_out_twice_credits_once(db, signup):
    start = signup.shift.starts_at
    services.check_in(signup, now=start, method="sms")
    first = services.check_out(signup, now=start + dt.timedelta(hours=1), method="sms")
    second = services.check_out(signup, now=start + dt.timedelta(hours=2), method="sms")
    assert first.id == second.id and second.minutes == 60


def test_forgotten_check_outs_close_at_the_scheduled_end(db, signup):
    shift = signup.shift
    services.check_in(signup, now=shift.starts_at, method="kiosk")
    assert services.close_forgotten_check_outs(now=shift.ends_at - dt.timedelta(minutes=1)) == 0
    assert services.close_forgotten_check_outs(now=shift.ends_at + dt.timedelta(hours=5)) == 1
    assert signup.checked_out_at == shift.ends_at
    entry = services.credit_attendance(signup, now=shift.ends_at)
    assert entry.minutes == 180


def test_corrections_keep_the_trail(db, signup):
    coordinator = make_user()
    services.check_in(signup, now=signup.shift.starts_at, method="web")
    entry = services.check_out(signup, now=signup.shift.ends_at, method="web")
    services.change_hours(
        entry, minutes=150, by=coordinator, reason="left early", now=signup.shift.ends_at
    )
    db.session.commit()
    trail = db.session.scalars(sa.select(HoursAudit)).all()
    assert [(a.minutes_before, a.minutes_after, a.reason) for a in trail] == [
        (180, 150, "left early")
    ]
    assert trail[0].changed_by_id == coordinator.id
