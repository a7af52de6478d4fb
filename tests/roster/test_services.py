"""Roster services on their own: last texts, walk-ins, moves, attendance, outcomes, hours."""

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
from volunteer_app.shifts.models import Signup, SignupSource, SignupStatus
from volunteer_app.sms.models import Message, MessageStatus


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


def test_walk_in_on_a_full_shift(db, shift, now):
    make_signup(make_user(), shift)
    person = make_user()
    with pytest.raises(services.ShiftFull):
        services.add_walk_in(person, shift, now=now)
    assert shift.spots_taken == 1

    waiting = services.add_walk_in(person, shift, now=now, when_full="waitlist")
    assert waiting.waitlisted and waiting.signup.waitlist_position == 1
    assert waiting.signup.source == SignupSource.WALK_IN

    raised = services.add_walk_in(make_user(), shift, now=now, when_full="raise")
    assert raised.capacity_raised and (shift.capacity, shift.spots_taken) == (2, 2)


def test_walk_in_reuses_a_cancelled_signup_and_queues_no_text(db, shift, now):
    person = make_user(phone="+12025550120", consent_at=now)
    old = make_signup(person, shift, "cancelled")
    result = services.add_walk_in(person, shift, now=now)
    assert result.signup.id == old.id and result.signup.status == SignupStatus.CONFIRMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_walk_in_person_never_resubscribes_someone_who_said_stop(db, now, app):
    stopped = make_user(phone="+12025550121")
    stopped.sms_opted_out_at = now
    person, created = services.walk_in_person(
        "Someone", "202-555-0121", agreed_to_texts=True, now=now
    )
    assert person.id == stopped.id and not created
    assert person.sms_consent_at is None


def test_walk_in_to_a_cancelled_shift_is_refused(db, shift, now):
    shift.status = "cancelled"
    with pytest.raises(DomainError):
        services.add_walk_in(make_user(), shift, now=now)


def test_confirm_from_waitlist_texts_the_person(db, now):
    shift = make_shift(starts_at=now + dt.timedelta(days=1), capacity=2)
    waiting = make_signup(make_user(phone="+12025550122", consent_at=now), shift, "waitlisted")
    services.confirm_from_waitlist(waiting, now=now)
    assert waiting.status == SignupStatus.CONFIRMED and shift.spots_taken == 1
    text = db.session.scalar(sa.select(Message).where(Message.kind == "waitlist_promoted"))
    assert text is not None and text.signup_id == waiting.id


def test_move_to_waitlist_refuses_people_who_attended(db, now):
    shift = make_shift(starts_at=now - dt.timedelta(hours=1))
    attended = make_signup(make_user(), shift, "attended")
    with pytest.raises(DomainError):
        services.move_to_waitlist(attended, now=now)


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


def test_a_refused_move_leaves_the_roster_as_it_was(db, now):
    shift = make_shift(starts_at=now + dt.timedelta(days=1), capacity=1)
    make_signup(make_user(), shift)
    waiting = make_signup(make_user(), shift, "waitlisted")
    db.session.commit()
    with pytest.raises(services.ShiftFull):
        services.confirm_from_waitlist(waiting, now=now)
    db.session.rollback()
    assert db.session.get(Signup, waiting.id).status == SignupStatus.WAITLISTED
    assert shift.spots_taken == 1
