"""Taking attendance in bulk: present credits hours, absent rejects them, never deleting."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_shift, make_signup, make_user
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursStatus
from volunteer_app.shifts.models import Shift, Signup, SignupStatus


@pytest.fixture
def shift(db, initiative, clock):
    # Started an hour ago, three hours long.
    return make_shift(initiative, starts_at=clock - dt.timedelta(hours=1), hours=3, capacity=5)


def url(shift) -> str:
    return f"/coordinate/shifts/{shift.id}/attendance"


def mark(auth, shift, marks: dict, **extra):
    data = {f"mark_{signup.id}": value for signup, value in marks.items()}
    return auth.post(url(shift), {**data, "save": "1", **extra})


def entry_of(db, signup) -> HoursEntry | None:
    return db.session.scalar(sa.select(HoursEntry).where(HoursEntry.signup_id == signup.id))


def test_page_offers_a_toggle_per_person(db, client, login, coordinator, shift):
    signup = make_signup(make_user(name="Toggle Person"), shift)
    make_signup(make_user(name="Waiting Person"), shift, "waitlisted")
    login(coordinator)
    page = client.get(url(shift)).get_data(as_text=True)
    assert "Toggle Person" in page and "Waiting Person" not in page
    assert page.count(f'name="mark_{signup.id}"') == 2
    assert 'value="present"' in page and 'value="absent"' in page


def test_bulk_present_and_absent(db, client, auth, login, coordinator, shift):
    here = make_signup(make_user(), shift)
    away = make_signup(make_user(), shift)
    unmarked = make_signup(make_user(), shift)
    login(coordinator)

    response = mark(auth, shift, {here: "present", away: "absent"})

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Signup, here.id).status == SignupStatus.ATTENDED
    assert db.session.get(Signup, away.id).status == SignupStatus.NO_SHOW
    assert db.session.get(Signup, unmarked.id).status == SignupStatus.CONFIRMED
    credited = entry_of(db, here)
    assert credited.minutes == 180 and credited.status == HoursStatus.APPROVED
    assert credited.reviewed_by_id == coordinator.id
    assert entry_of(db, away) is None
    assert db.session.get(Shift, shift.id).spots_taken == 3


def test_mark_everyone_present(db, client, auth, login, coordinator, shift):
    signups = [make_signup(make_user(), shift) for _ in range(3)]
    login(coordinator)
    auth.post(url(shift), {f"mark_{signups[0].id}": "absent", "all_present": "1"})
    db.session.expire_all()
    statuses = [db.session.get(Signup, s.id).status for s in signups]
    assert statuses == [SignupStatus.NO_SHOW, SignupStatus.ATTENDED, SignupStatus.ATTENDED]


def test_remarking_rejects_then_restores_hours_with_a_trail(
    db, client, auth, login, coordinator, shift
):
    signup = make_signup(make_user(), shift)
    login(coordinator)

    mark(auth, shift, {signup: "present"})
    mark(auth, shift, {signup: "absent"})
    db.session.expire_all()
    entry = entry_of(db, signup)
    assert entry is not None, "a mistaken mark's hours are rejected, not deleted"
    assert entry.status == HoursStatus.REJECTED and entry.minutes == 180

    mark(auth, shift, {signup: "present"})
    db.session.expire_all()
    assert entry_of(db, signup).status == HoursStatus.APPROVED
    trail = db.session.scalars(
        sa.select(HoursAudit).where(HoursAudit.hours_entry_id == entry.id).order_by(HoursAudit.id)
    ).all()
    assert [(a.status_before, a.status_after, a.changed_by_id) for a in trail] == [
        ("approved", "rejected", coordinator.id),
        ("rejected", "approved", coordinator.id),
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursEntry)) == 1


def test_present_after_self_check_in_uses_the_check_in_time(
    db, client, auth, login, coordinator, shift
):
    signup = make_signup(make_user(), shift)
    signup.checked_in_at = shift.starts_at + dt.timedelta(minutes=30)
    signup.checked_out_at = shift.starts_at + dt.timedelta(minutes=122)
    signup.status = SignupStatus.ATTENDED
    login(coordinator)
    mark(auth, shift, {signup: "present"})
    assert entry_of(db, signup).minutes == 90  # 92 minutes to the nearest quarter hour


def test_attendance_before_check_in_opens_is_refused(
    db, client, auth, login, coordinator, initiative, clock
):
    later = make_shift(initiative, starts_at=clock + dt.timedelta(hours=5))
    signup = make_signup(make_user(), later)
    login(coordinator)
    assert "Attendance opens at" in client.get(url(later)).get_data(as_text=True)
    response = mark(auth, later, {signup: "present"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).status == SignupStatus.CONFIRMED
    assert entry_of(db, signup) is None
    assert "Attendance can be taken from" in client.get(url(later)).get_data(as_text=True)


@pytest.mark.parametrize("value", ["maybe", "", "present' OR 1=1"])
def test_bad_marks_never_500_and_change_nothing(db, client, auth, login, coordinator, shift, value):
    signup = make_signup(make_user(), shift)
    login(coordinator)
    response = auth.post(url(shift), {f"mark_{signup.id}": value, "save": "1"})
    assert response.status_code in (303, 400)
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).status == SignupStatus.CONFIRMED


def test_marks_for_other_shifts_signups_are_ignored(
    db, client, auth, login, coordinator, shift, initiative, clock
):
    other = make_shift(initiative, starts_at=clock - dt.timedelta(hours=2))
    stranger = make_signup(make_user(), other)
    login(coordinator)
    auth.post(url(shift), {f"mark_{stranger.id}": "present", "save": "1"})
    db.session.expire_all()
    assert db.session.get(Signup, stranger.id).status == SignupStatus.CONFIRMED


def test_opening_an_ended_shift_closes_forgotten_check_outs(
    db, client, login, coordinator, initiative, clock
):
    ended = make_shift(initiative, starts_at=clock - dt.timedelta(hours=4), hours=2)
    signup = make_signup(make_user(), ended, "attended")
    signup.checked_in_at = ended.starts_at + dt.timedelta(minutes=15)
    login(coordinator)

    assert client.get(f"/coordinate/shifts/{ended.id}/roster").status_code == 200

    db.session.expire_all()
    assert db.session.get(Signup, signup.id).checked_out_at == ended.ends_at
    assert entry_of(db, signup).minutes == 105
