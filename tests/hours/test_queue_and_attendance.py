"""Hours and attendance services moved from the roster: marking attendance, forgotten
check-outs, reviewing, reporting and correcting hours."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_hours_entry, make_initiative, make_shift, make_signup, make_user
from volunteer_app.core.errors import DomainError
from volunteer_app.hours import attendance, services
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus


def test_mark_attendance_rejects_unknown_marks(db, now):
    shift = make_shift(starts_at=now - dt.timedelta(hours=1))
    signup = make_signup(make_user(), shift)
    with pytest.raises(DomainError):
        attendance.mark_attendance(shift, {signup.id: "late"}, by=make_user(), now=now)


def test_forgotten_check_outs_skip_people_marked_absent_and_can_be_scoped(db, now):
    initiative = make_initiative()
    one = make_shift(initiative, starts_at=now - dt.timedelta(hours=4), hours=2)
    two = make_shift(initiative, starts_at=now - dt.timedelta(hours=4), hours=2)
    absent = make_signup(make_user(), one, "no_show", checked_in_at=one.starts_at)
    here = make_signup(make_user(), one, "attended", checked_in_at=one.starts_at)
    elsewhere = make_signup(make_user(), two, "attended", checked_in_at=two.starts_at)

    assert services.close_forgotten_check_outs(now=now, shift_id=one.id) == 1
    assert here.checked_out_at == one.ends_at and absent.checked_out_at is None
    assert elsewhere.checked_out_at is None
    assert services.close_forgotten_check_outs(now=now) == 1
    assert (
        db.session.scalar(sa.select(HoursEntry.id).where(HoursEntry.signup_id == absent.id)) is None
    )


def test_review_hours_passes_over_entries_already_reviewed(db, now):
    initiative = make_initiative()
    person, coordinator = make_user(), make_user()
    waiting = make_hours_entry(person, initiative, status=HoursStatus.PENDING)
    done = make_hours_entry(person, initiative, status=HoursStatus.APPROVED)
    reviewed = services.review_hours(
        [waiting, done], approve=True, by=coordinator, reason="", now=now
    )
    assert reviewed == [waiting] and waiting.status == HoursStatus.APPROVED
    with pytest.raises(DomainError):
        services.review_hours([waiting], approve=False, by=coordinator, reason=" ", now=now)


def test_report_hours_counts_days_in_the_initiatives_timezone(db):
    initiative = make_initiative(timezone="Pacific/Auckland")
    # 20:00 UTC on 1 June is already 2 June in Auckland.
    late = dt.datetime(2026, 6, 1, 20, 0, tzinfo=dt.UTC)
    entry = services.report_hours(
        make_user(), initiative, served_on=dt.date(2026, 6, 2), minutes=60, note="", now=late
    )
    assert entry.source == HoursSource.SELF_REPORT and entry.status == HoursStatus.PENDING


def test_correct_hours_refuses_no_change_and_no_reason(db, now):
    entry = make_hours_entry(make_user(), make_initiative(), minutes=60)
    with pytest.raises(DomainError):
        services.correct_hours(entry, minutes=90, by=make_user(), reason="", now=now)
    with pytest.raises(DomainError):
        services.correct_hours(entry, minutes=60, by=make_user(), reason="same", now=now)
