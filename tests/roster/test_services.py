"""Roster services on their own: last texts, attendance, outcomes, hours. (Walk-ins and moves
between the waitlist and spots are in tests/shifts/test_walk_ins.py.)"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_hours_entry,
    make_initiative,
    make_message,
    make_metric,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.core.errors import DomainError
from volunteer_app.hours import services as hours
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.roster import services
from volunteer_app.sms.models import MessageStatus


@pytest.fixture
def shift(db, now):
    return make_shift(starts_at=now + dt.timedelta(days=1), capacity=1)


def test_last_texts_takes_each_persons_latest_outbound_message(db, now):
    ana, ben, cy = make_user(phone="+12025550101"), make_user(phone="+12025550102"), make_user()
    make_message(ana, "delivered", created_at=now - dt.timedelta(days=1))
    make_message(ana, "failed", error_code="30003", created_at=now)
    make_message(ana, "received", direction="inbound", created_at=now + dt.timedelta(hours=1))
    make_message(ben, "queued", created_at=now)

    texts = services.last_texts([ana.id, ben.id, cy.id])

    assert texts[ana.id].status == MessageStatus.FAILED and texts[ana.id].error_code == "30003"
    assert texts[ben.id].status == MessageStatus.QUEUED
    assert cy.id not in texts
    assert services.last_texts([]) == {}


def test_consent_states(db, now):
    assert services.consent_state(make_user()) == "no"
    agreed = make_user(consent_at=now)
    assert services.consent_state(agreed) == "yes"
    agreed.sms_opted_out_at = now
    assert services.consent_state(agreed) == "opted_out"


def test_mark_attendance_rejects_unknown_marks(db, now):
    shift = make_shift(starts_at=now - dt.timedelta(hours=1))
    signup = make_signup(make_user(), shift)
    with pytest.raises(DomainError):
        services.mark_attendance(shift, {signup.id: "late"}, by=make_user(), now=now)


def test_forgotten_check_outs_skip_people_marked_absent_and_can_be_scoped(db, now):
    initiative = make_initiative()
    one = make_shift(initiative, starts_at=now - dt.timedelta(hours=4), hours=2)
    two = make_shift(initiative, starts_at=now - dt.timedelta(hours=4), hours=2)
    absent = make_signup(make_user(), one, "no_show", checked_in_at=one.starts_at)
    here = make_signup(make_user(), one, "attended", checked_in_at=one.starts_at)
    elsewhere = make_signup(make_user(), two, "attended", checked_in_at=two.starts_at)

    assert hours.close_forgotten_check_outs(now=now, shift_id=one.id) == 1
    assert here.checked_out_at == one.ends_at and absent.checked_out_at is None
    assert elsewhere.checked_out_at is None
    assert hours.close_forgotten_check_outs(now=now) == 1
    assert (
        db.session.scalar(sa.select(HoursEntry.id).where(HoursEntry.signup_id == absent.id)) is None
    )


def test_record_shift_outcomes_validates_everything_before_writing(db, now):
    initiative = make_initiative()
    trees, litter = make_metric(initiative, "Trees"), make_metric(initiative, "Litter")
    shift = make_shift(initiative, starts_at=now - dt.timedelta(hours=4))
    with pytest.raises(DomainError):
        services.record_shift_outcomes(
            shift, {trees.id: "3", litter.id: "lots"}, by=make_user(), now=now
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeRecord)) == 0


def test_record_shift_outcomes_leaves_texted_values_alone(db, now):
    from tests.factories import make_outcome_record
    from volunteer_app.impact.models import OutcomeSource

    initiative = make_initiative()
    trees = make_metric(initiative, "Trees")
    shift = make_shift(initiative, starts_at=now - dt.timedelta(hours=4))
    texted = make_outcome_record(trees, 4, shift_id=shift.id, source=OutcomeSource.SMS)
    services.record_shift_outcomes(shift, {trees.id: "10"}, by=make_user(), now=now)
    assert texted.voided_at is None
    assert len(services.shift_outcome_records(shift)) == 2


def test_review_hours_passes_over_entries_already_reviewed(db, now):
    initiative = make_initiative()
    person, coordinator = make_user(), make_user()
    waiting = make_hours_entry(person, initiative, status=HoursStatus.PENDING)
    done = make_hours_entry(person, initiative, status=HoursStatus.APPROVED)
    reviewed = hours.review_hours([waiting, done], approve=True, by=coordinator, reason="", now=now)
    assert reviewed == [waiting] and waiting.status == HoursStatus.APPROVED
    with pytest.raises(DomainError):
        hours.review_hours([waiting], approve=False, by=coordinator, reason=" ", now=now)


def test_report_hours_counts_days_in_the_initiatives_timezone(db):
    initiative = make_initiative(timezone="Pacific/Auckland")
    # 20:00 UTC on 1 June is already 2 June in Auckland.
    late = dt.datetime(2026, 6, 1, 20, 0, tzinfo=dt.UTC)
    entry = hours.report_hours(
        make_user(), initiative, served_on=dt.date(2026, 6, 2), minutes=60, note="", now=late
    )
    assert entry.source == HoursSource.SELF_REPORT and entry.status == HoursStatus.PENDING


def test_correct_hours_refuses_no_change_and_no_reason(db, now):
    entry = make_hours_entry(make_user(), make_initiative(), minutes=60)
    with pytest.raises(DomainError):
        hours.correct_hours(entry, minutes=90, by=make_user(), reason="", now=now)
    with pytest.raises(DomainError):
        hours.correct_hours(entry, minutes=60, by=make_user(), reason="same", now=now)
