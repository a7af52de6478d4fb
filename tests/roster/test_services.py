"""Roster services on their own: last texts, walk-ins, moves, attendance, outcomes, hours."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_message,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.core.errors import DomainError
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
