"""Self check-in by phone or login, check-out crediting rounded hours, no roster enumeration."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from tests.conftest import form_fields
from tests.factories import (
    make_coordinator,
    make_initiative,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.hours import attendance
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.roster import services
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
    """Post the check-in form as someone who scanned the sign-in sheet's QR code (so with the
    sheet's code), unless the test says otherwise."""
    data.setdefault("sheet", attendance.sheet_code(shift))
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

    late = post(auth, shift, phone="2025550142", check_in="1")  # the right number, too late

    assert late.status_code == 429
    assert "Too many tries" in late.get_data(as_text=True)
    assert int(late.headers["Retry-After"]) <= 600
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
    stale = {"phone": "2025550142", "check_in": "1", "sheet": attendance.sheet_code(tomorrow)}
    auth.post(checkin_url(tomorrow), stale, page="/login")
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


# --- Checking in someone by phone needs the sign-in sheet, and misses are counted on the server


def fresh_browser(app, url: str, **data):
    """One try from a browser that keeps no cookie between tries (what a guesser does)."""
    browser = app.test_client()
    return browser.post(url, data={**form_fields(browser, url), **data})


def test_fresh_cookies_do_not_reset_the_brake(app, db, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    code = attendance.sheet_code(shift)
    answers = [
        fresh_browser(app, checkin_url(shift), phone=f"202555{1000 + i}", sheet=code, check_in="1")
        for i in range(30)
    ]
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 25, "five misses per shift and address, then every try is refused"
    right = fresh_browser(app, checkin_url(shift), phone="2025550142", sheet=code, check_in="1")
    assert right.status_code == 429
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None


def test_the_brake_counts_per_shift_and_per_address(app, db, initiative, clock, shift, volunteer):
    other = make_shift(initiative, starts_at=clock + dt.timedelta(minutes=5), hours=2)
    make_signup(volunteer, other)
    db.session.commit()
    for i in range(5):
        fresh_browser(
            app,
            checkin_url(shift),
            phone=f"202555{1000 + i}",
            check_in="1",
            sheet=attendance.sheet_code(shift),
        )
    assert (
        fresh_browser(
            app, checkin_url(shift), phone="2025550199", sheet=attendance.sheet_code(shift)
        ).status_code
        == 429
    )
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    page = checkin_url(shift)
    response = elsewhere.post(
        page,
        data={
            **form_fields(elsewhere, page),
            "phone": "2025550199",
            "check_in": "1",
            "sheet": attendance.sheet_code(shift),
        },
    )
    assert response.status_code == 303, "another address has its own count"
    on_other_shift = fresh_browser(
        app,
        checkin_url(other),
        phone="2025550142",
        sheet=attendance.sheet_code(other),
        check_in="1",
    )
    assert on_other_shift.status_code == 303, "another shift has its own count"
    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(Signup.checked_in_at).where(Signup.shift_id == other.id))
        is not None
    )


@pytest.mark.parametrize("sheet", ["", "WRONGONE", "ABCD-EFGH"])
def test_a_stranger_without_the_sheet_code_cannot_check_someone_in(
    db, client, auth, shift, volunteer, sheet
):
    make_signup(volunteer, shift)
    db.session.commit()
    post(auth, shift, phone="2025550142", sheet=sheet, check_in="1")
    page = html.unescape(client.get(checkin_url(shift)).get_data(as_text=True))
    if sheet:
        assert "not the code on this shift's sign-in sheet" in page
    else:
        assert "Enter the code printed on the sign-in sheet" in page
    assert WRONG_NUMBER not in page, "the phone number is not even tried"
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None


def test_wrong_sheet_codes_count_towards_the_brake_but_a_missing_one_does_not(
    db, client, auth, shift, volunteer
):
    make_signup(volunteer, shift)
    db.session.commit()
    for _ in range(6):
        post(auth, shift, phone="2025550142", sheet="", check_in="1")
    assert post(auth, shift, phone="2025550142", check_in="1").status_code == 303
    for _ in range(5):
        post(auth, shift, phone="2025550142", sheet="WRONGONE", check_out="1")
    assert post(auth, shift, phone="2025550142", check_out="1").status_code == 429


def test_the_sheet_code_is_spaced_and_cased_any_way(db, auth, shift, volunteer):
    make_signup(volunteer, shift)
    db.session.commit()
    code = attendance.sheet_code(shift)
    post(auth, shift, phone="2025550142", sheet=f" {code[:4].lower()} - {code[4:]} ", check_in="1")
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is not None


def test_the_sheets_qr_code_fills_in_the_code_and_the_public_one_carries_none(
    app, db, client, login, coordinator, shift
):
    code = attendance.sheet_code(shift)
    page = client.get(f"{checkin_url(shift)}?sheet={code}").get_data(as_text=True)
    assert f'value="{code}"' in page
    public = client.get(f"{checkin_url(shift)}/qr.svg").get_data()
    assert public == services.qr_svg(
        f"http://localhost{checkin_url(shift)}", title=f"Check in: shift {shift.code}"
    )

    login(coordinator)
    sheet = client.get(f"/coordinate/shifts/{shift.id}/sign-in-sheet").get_data(as_text=True)
    with app.test_request_context():
        with_code = services.check_in_url(shift, with_sheet_code=True)
    assert with_code == f"http://localhost{checkin_url(shift)}?sheet={code}"
    assert services.qr_svg_inline(with_code) in sheet
    assert attendance.display_sheet_code(shift) in sheet
    printed = client.get(f"/coordinate/shifts/{shift.id}/qr.svg").get_data()
    assert printed == services.qr_svg(with_code, title=f"Check in: shift {shift.code}")


def test_a_coordinators_device_checks_in_by_phone_alone_without_a_brake(
    db, client, auth, login, coordinator, shift, volunteer
):
    make_signup(volunteer, shift)
    login(coordinator)
    page = client.get(checkin_url(shift)).get_data(as_text=True)
    assert "this device is the sign-in table" in page and 'name="sheet"' not in page
    for i in range(8):  # typos at a busy table are not guesses
        assert (
            post(auth, shift, phone=f"202555{1000 + i}", sheet="", check_in="1").status_code == 303
        )
    assert post(auth, shift, phone="2025550142", sheet="", check_in="1").status_code == 303
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is not None


def test_another_organizations_coordinator_needs_the_sheet_code(
    db, client, auth, login, shift, volunteer
):
    outsider = make_coordinator(make_organization(), "outsider@example.org")
    make_signup(volunteer, shift)
    login(outsider)
    post(auth, shift, phone="2025550142", sheet="", check_in="1")
    db.session.expire_all()
    assert db.session.scalar(sa.select(Signup.checked_in_at)) is None
