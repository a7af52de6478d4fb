"""Self check-in by phone or login, check-out crediting rounded hours, no roster enumeration."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_shift, make_signup, make_user
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts.models import Signup, SignupStatus

WRONG_NUMBER = "We could not find that phone number on this shift"


@pytest.fixture
def shift(db, initiative, clock):
    # Starts in ten minutes: check-in is open.
    return make_shift(initiative, starts_at=clock + dt.timedelta(minutes=10), hours=2)


@pytest.fixture
def volunteer(db, clock):
    return make_user(name="Vera Volunteer", phone="+12025550142", consent_at=clock)


def checkin_url(shift) -> str:
    return f"/checkin/{shift.code}"


def post(auth, shift, **data):
    return auth.post(checkin_url(shift), data)


def test_check_in_by_phone(db, client, auth, shift, volunteer):
    signup = make_signup(volunteer, shift)
    db.session.commit()

    response = post(auth, shift, phone="(202) 555-0142", check_in="1")

    assert response.status_code == 303
    page = client.get(checkin_url(shift)).get_data(as_text=True)
    assert "checked in. Thank you for coming!" in page
    db.session.expire_all()
    signup = db.session.get(Signup, signup.id)
    assert signup.status == SignupStatus.ATTENDED and signup.checked_in_at is not None
    assert signup.check_in_method == "web"


@pytest.mark.parametrize("status", [None, "waitlisted", "cancelled"])
def test_wrong_or_unconfirmed_phone_gets_one_generic_message(
    db, client, auth, shift, volunteer, status
):
    if status == "cancelled":
        make_signup(volunteer, shift, "cancelled")
    elif status:
        make_signup(volunteer, shift, status)
    make_signup(make_user(phone="+12025550143"), shift)  # somebody else is on the roster
    db.session.commit()

    post(auth, shift, phone="2025550142", check_in="1")

    page = client.get(checkin_url(shift)).get_data(as_text=True)
    assert WRONG_NUMBER in page
    assert "Vera" not in page and "waitlist" not in page.lower()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Signup).where(Signup.checked_in_at.is_not(None))
        )
        == 0
    )


def test_unparseable_phone_says_so(db, client, auth, shift):
    db.session.commit()
    post(auth, shift, phone="call me maybe", check_in="1")
    assert "Please enter a valid phone number" in client.get(checkin_url(shift)).get_data(
        as_text=True
    )


def test_guessing_is_slowed_down(db, client, auth, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    for i in range(5):
        post(auth, shift, phone=f"20255501{50 + i}", check_in="1")

    post(auth, shift, phone="2025550142", check_in="1")  # the right number, too late

    assert "Too many tries" in client.get(checkin_url(shift)).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None


def test_check_in_with_one_button_when_logged_in(db, client, auth, login, shift, volunteer):
    volunteer.email = "vera@example.org"
    make_signup(volunteer, shift)
    login(volunteer)

    page = client.get(checkin_url(shift)).get_data(as_text=True)
    assert "Check me in" in page
    post(auth, shift, check_in="1")

    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.status)) == SignupStatus.ATTENDED
    assert "You checked in at" in client.get(checkin_url(shift)).get_data(as_text=True)


def test_logged_in_without_a_spot_is_told_plainly(db, client, auth, login, shift):
    stranger = make_user()
    login(stranger)
    post(auth, shift, check_in="1")
    assert "You do not have a confirmed spot" in client.get(checkin_url(shift)).get_data(
        as_text=True
    )


def test_check_out_credits_rounded_hours(db, client, auth, initiative, clock, volunteer):
    started = make_shift(initiative, starts_at=clock - dt.timedelta(minutes=110), hours=3)
    signup = make_signup(volunteer, started, "attended")
    signup.checked_in_at = clock - dt.timedelta(minutes=100)
    db.session.commit()

    response = post(auth, started, phone="202-555-0142", check_out="1")

    assert response.status_code == 303
    entry = db.session.scalar(sa.select(HoursEntry).where(HoursEntry.signup_id == signup.id))
    assert entry.minutes == 105  # about 100 minutes, to the nearest quarter hour
    assert entry.status == HoursStatus.APPROVED
    assert "1.75 hours are credited" in client.get(checkin_url(started)).get_data(as_text=True)


def test_check_out_without_check_in_is_the_generic_miss(db, client, auth, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    post(auth, shift, phone="2025550142", check_out="1")
    assert WRONG_NUMBER in client.get(checkin_url(shift)).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursEntry)) == 0


def test_check_in_too_early_says_when(db, client, auth, initiative, clock, volunteer):
    tomorrow = make_shift(initiative, starts_at=clock + dt.timedelta(days=1))
    make_signup(volunteer, tomorrow)
    db.session.commit()
    assert "Check-in opens shortly before" in client.get(checkin_url(tomorrow)).get_data(
        as_text=True
    )
    # The page offers no form yet; a stale form posted anyway is refused with the time.
    auth.post(checkin_url(tomorrow), {"phone": "2025550142", "check_in": "1"}, page="/login")
    assert "Check-in opens 30 minutes before" in client.get(checkin_url(tomorrow)).get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None


@pytest.mark.parametrize("code", ["0000", "abc", "12345678901"])
def test_unknown_codes_are_404(db, client, code):
    assert client.get(f"/checkin/{code}").status_code == 404


def test_draft_initiative_shifts_are_not_public(db, client, org, clock):
    draft = make_initiative(org, status=InitiativeStatus.DRAFT)
    shift = make_shift(draft, starts_at=clock)
    db.session.commit()
    assert client.get(checkin_url(shift)).status_code == 404
    assert client.get(f"{checkin_url(shift)}/qr.svg").status_code == 404


def test_missing_csrf_is_refused(db, client, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    response = client.post(checkin_url(shift), data={"phone": "2025550142", "check_in": "1"})
    assert response.status_code == 400
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None


def test_only_wrong_numbers_count_towards_the_brake(db, client, auth, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    for _ in range(6):
        post(auth, shift, phone="typo", check_in="1")  # unparseable: not a guess at a number

    post(auth, shift, phone="2025550142", check_in="1")

    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is not None
