"""Signing up, the waitlist, cancelling and promotion, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_shift, make_user
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts import queries, services
from volunteer_app.shifts.models import ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.models import Message, MessageStatus


@pytest.fixture
def shift(db, now):
    return make_shift(starts_at=now + dt.timedelta(days=3), capacity=2)


def test_signup_confirms_while_spots_last_then_waitlists_in_order(db, shift, now):
    people = [make_user() for _ in range(4)]
    results = [services.signup_for_shift(p, shift, now=now) for p in people]
    db.session.commit()

    assert [r.waitlisted for r in results] == [False, False, True, True]
    assert [r.position for r in results[2:]] == [1, 2]
    assert shift.spots_taken == 2
    assert shift.spots_left == 0


def test_cancelling_frees_the_spot_and_promotes_the_first_waiting(db, shift, now):
    first, second, waiting, later = (
        make_user(phone=f"+1202555010{i}", consent_at=now) for i in range(4)
    )
    services.signup_for_shift(first, shift, now=now)
    services.signup_for_shift(second, shift, now=now)
    waiting_signup = services.signup_for_shift(waiting, shift, now=now).signup
    later_signup = services.signup_for_shift(later, shift, now=now).signup
    db.session.commit()

    cancel_at = now + dt.timedelta(hours=1)
    promoted = services.cancel_signup(queries.signup_of(first, shift), now=cancel_at)
    db.session.commit()

    assert promoted == [waiting_signup]
    assert waiting_signup.status == SignupStatus.CONFIRMED
    assert waiting_signup.waitlist_position is None
    assert queries.waitlist_rank(later_signup) == 1
    assert shift.spots_taken == 2
    promotion = db.session.scalar(
        sa.select(Message).where(Message.kind == "waitlist_promoted", Message.user_id == waiting.id)
    )
    assert promotion is not None and promotion.status == MessageStatus.QUEUED
    assert shift.code in promotion.body


def test_signing_up_twice_is_refused(db, shift, now):
    person = make_user()
    services.signup_for_shift(person, shift, now=now)
    with pytest.raises(services.AlreadySignedUp):
        services.signup_for_shift(person, shift, now=now)


def test_signing_up_again_after_cancelling_reuses_the_row(db, shift, now):
    person = make_user()
    signup = services.signup_for_shift(person, shift, now=now).signup
    services.cancel_signup(signup, now=now)
    again = services.signup_for_shift(person, shift, now=now).signup
    db.session.commit()
    assert again.id == signup.id and again.status == SignupStatus.CONFIRMED
    assert shift.spots_taken == 1


def test_overlapping_confirmed_shift_is_refused(db, shift, now):
    person = make_user()
    services.signup_for_shift(person, shift, now=now)
    overlapping = make_shift(starts_at=shift.starts_at + dt.timedelta(hours=1))
    back_to_back = make_shift(starts_at=shift.ends_at)

    with pytest.raises(services.ScheduleClash):
        services.signup_for_shift(person, overlapping, now=now)
    assert services.signup_for_shift(person, back_to_back, now=now).waitlisted is False


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"status": ShiftStatus.CANCELLED}, services.ShiftUnavailable),
        ({"starts_at": "past"}, services.ShiftUnavailable),
    ],
)
def test_unavailable_shifts_are_refused(db, now, change, error):
    starts = (
        now - dt.timedelta(hours=1)
        if change.get("starts_at") == "past"
        else now + dt.timedelta(days=1)
    )
    shift = make_shift(starts_at=starts, **{k: v for k, v in change.items() if k != "starts_at"})
    with pytest.raises(error):
        services.signup_for_shift(make_user(), shift, now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0


def test_draft_initiative_is_refused(db, now):
    shift = make_shift(
        make_initiative(status=InitiativeStatus.DRAFT), starts_at=now + dt.timedelta(days=1)
    )
    with pytest.raises(services.ShiftUnavailable):
        services.signup_for_shift(make_user(), shift, now=now)


def test_minimum_age_uses_the_shift_local_date(db, now):
    initiative = make_initiative(minimum_age=18, timezone="America/Los_Angeles")
    # 2026-06-05 10:00 local; the volunteer turns 18 that very day.
    starts = dt.datetime(2026, 6, 5, 17, 0, tzinfo=dt.UTC)
    shift = make_shift(initiative, starts_at=starts)
    turns_18_that_day = make_user(birth_date=dt.date(2008, 6, 5))
    turns_18_next_day = make_user(birth_date=dt.date(2008, 6, 6))
    unknown_age = make_user()

    assert services.signup_for_shift(turns_18_that_day, shift, now=now).waitlisted is False
    with pytest.raises(services.TooYoung):
        services.signup_for_shift(turns_18_next_day, shift, now=now)
    with pytest.raises(services.TooYoung):
        services.signup_for_shift(unknown_age, shift, now=now)


def test_promotion_passes_over_someone_now_busy_at_that_time(db, now):
    shift = make_shift(starts_at=now + dt.timedelta(days=2), capacity=1)
    holder, busy, free = make_user(), make_user(), make_user()
    services.signup_for_shift(holder, shift, now=now)
    busy_wait = services.signup_for_shift(busy, shift, now=now).signup
    free_wait = services.signup_for_shift(free, shift, now=now).signup
    elsewhere = make_shift(starts_at=shift.starts_at, capacity=5)
    services.signup_for_shift(busy, elsewhere, now=now)

    promoted = services.cancel_signup(queries.signup_of(holder, shift), now=now)

    assert promoted == [free_wait]
    assert busy_wait.status == SignupStatus.WAITLISTED


def test_cannot_cancel_after_the_shift_started(db, shift, now):
    signup = services.signup_for_shift(make_user(), shift, now=now).signup
    with pytest.raises(services.CannotCancel):
        services.cancel_signup(signup, now=shift.starts_at + dt.timedelta(minutes=5))


def test_confirmation_text_is_queued_only_with_consent(db, shift, now):
    consenting = make_user(phone="+12025550111", consent_at=now)
    no_consent = make_user(phone="+12025550112")
    no_phone = make_user()
    for person in (consenting, no_consent, no_phone):
        services.signup_for_shift(person, shift, now=now)
    db.session.commit()

    rows = {m.user_id: m for m in db.session.scalars(sa.select(Message))}
    assert rows[consenting.id].status == MessageStatus.QUEUED
    assert rows[no_consent.id].status == MessageStatus.DROPPED
    assert rows[no_consent.id].error == "no SMS consent"
    assert no_phone.id not in rows


def test_capacity_constraint_backs_the_service(db, shift):
    shift.spots_taken = shift.capacity + 1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
