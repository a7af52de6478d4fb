"""A coordinator's signup changes (shifts/services): walk-ins, confirming from the waitlist,
moving back to it, and the one eligibility check walk-ins pass like every other signup."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_shift, make_signup, make_user
from volunteer_app.core.errors import DomainError
from volunteer_app.shifts import services
from volunteer_app.shifts.models import Signup, SignupSource, SignupStatus
from volunteer_app.sms.models import Message


@pytest.fixture
def shift(db, now):
    return make_shift(starts_at=now + dt.timedelta(days=1), capacity=1)


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


# ---------------------------------------------------------------------------------------------
# The minimum age holds for walk-ins too


@pytest.fixture
def teens_only(db, now):
    """A shift of an initiative for volunteers of 16 and over, starting in an hour."""
    initiative = make_initiative(minimum_age=16)
    return make_shift(initiative, starts_at=now + dt.timedelta(hours=1), capacity=3)


def _born_years_before(now: dt.datetime, years: int) -> dt.date:
    return now.date().replace(year=now.year - years) - dt.timedelta(days=30)


def test_an_under_age_walk_in_is_refused(db, teens_only, now):
    child = make_user(phone="+12025550131")
    child.birth_date = _born_years_before(now, 12)
    with pytest.raises(services.TooYoung, match="at least 16 years old"):
        services.add_walk_in(child, teens_only, now=now)
    with pytest.raises(services.TooYoung, match="at least 16 years old"):
        services.add_new_walk_in(
            "A Child",
            "202-555-0132",
            teens_only,
            agreed_to_texts=False,
            now=now,
            birth_date=_born_years_before(now, 12),
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0
    assert teens_only.spots_taken == 0


def test_a_walk_in_without_a_birth_date_is_refused_until_one_is_given(db, teens_only, now):
    person = make_user(phone="+12025550133", name="Dana")
    with pytest.raises(services.TooYoung, match="Dana has no birth date on file"):
        services.add_walk_in(person, teens_only, now=now)

    # The same person, by phone under "Someone new", with a birth date typed at the table.
    result, found, created = services.add_new_walk_in(
        "Dana",
        "(202) 555-0133",
        teens_only,
        agreed_to_texts=False,
        now=now,
        birth_date=_born_years_before(now, 30),
    )
    assert found.id == person.id and not created
    assert person.birth_date == _born_years_before(now, 30)
    assert result.signup.status == SignupStatus.CONFIRMED


def test_a_birth_date_on_file_is_not_overwritten_at_the_table(db, teens_only, now):
    child = make_user(phone="+12025550134")
    child.birth_date = _born_years_before(now, 12)
    with pytest.raises(services.TooYoung):
        services.add_new_walk_in(
            "Child",
            "202-555-0134",
            teens_only,
            agreed_to_texts=False,
            now=now,
            birth_date=_born_years_before(now, 30),
        )
    assert child.birth_date == _born_years_before(now, 12)


def test_confirming_from_the_waitlist_checks_the_age_again(db, teens_only, now):
    waiting = make_signup(make_user(), teens_only, "waitlisted")
    with pytest.raises(services.TooYoung):
        services.confirm_from_waitlist(waiting, now=now)
    assert waiting.status == SignupStatus.WAITLISTED
