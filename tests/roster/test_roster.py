"""The roster page: who is on the shift, their texts, walk-ins, moving people, CSV, sheet, QR."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED
from tests.factories import make_initiative, make_message, make_shift, make_signup, make_user
from volunteer_app.accounts.models import User
from volunteer_app.shifts.models import Signup, SignupSource, SignupStatus


@pytest.fixture
def shift(db, initiative, clock):
    return make_shift(initiative, starts_at=clock + dt.timedelta(days=2), capacity=3)


def roster_url(shift) -> str:
    return f"/coordinate/shifts/{shift.id}/roster"


def test_roster_lists_people_with_contact_consent_and_last_text(
    db, client, login, coordinator, shift, clock
):
    texted = make_user(name="Ana Texted", phone="+12025550101", consent_at=clock)
    failed = make_user(name="Ben Failed", phone="+12025550102", consent_at=clock)
    stopped = make_user(name="Cy Stopped", phone="+12025550103", consent_at=clock)
    stopped.sms_opted_out_at = clock
    waiting = make_user(name="Dee Waiting", email="dee@example.org")
    for person in (texted, failed, stopped):
        make_signup(person, shift)
    make_signup(waiting, shift, "waitlisted")
    earlier = clock - dt.timedelta(hours=2)
    make_message(texted, "failed", error_code="30003", created_at=earlier)
    make_message(texted, "delivered", created_at=clock)  # the latest one counts
    make_message(failed, "undelivered", error_code="30005", created_at=clock)
    login(coordinator)

    page = client.get(roster_url(shift)).get_data(as_text=True)

    assert "(202) 555-0101" in page and "dee@example.org" in page
    ana = page[page.index("Ana Texted") : page.index("Ben Failed")]
    assert "delivered" in ana and "30003" not in ana
    ben = page[page.index("Ben Failed") : page.index("Cy Stopped")]
    assert "undelivered" in ben and "30005" in ben and "Texts: yes" in ben
    cy = page[page.index("Cy Stopped") : page.index("Waitlist")]
    assert "opted out" in cy and "No text sent yet" in cy
    waitlist = page[page.index('id="waitlist"') :]
    assert "#1" in waitlist and "Dee Waiting" in waitlist and "Texts: no consent" in waitlist


def _fill(shift, count: int, clock, first_phone: int) -> None:
    for i in range(count):
        person = make_user(phone=f"+1202555{first_phone + i:04d}", consent_at=clock)
        make_signup(person, shift, "confirmed" if i < shift.capacity else "waitlisted")
        make_message(person, "delivered", created_at=clock)


@pytest.mark.parametrize("page", ["roster", "attendance", "sign-in-sheet"])
def test_roster_pages_run_a_constant_number_of_queries(
    db, client, login, coordinator, initiative, clock, count_queries, page
):
    small = make_shift(initiative, starts_at=clock + dt.timedelta(days=2), capacity=2)
    big = make_shift(initiative, starts_at=clock + dt.timedelta(days=3), capacity=20)
    _fill(small, 3, clock, 1000)
    _fill(big, 30, clock, 2000)
    login(coordinator)

    counts = []
    for shift_id in (small.id, big.id):
        db.session.close()  # nothing cached from the test's own rows
        with count_queries() as queries:
            response = client.get(f"/coordinate/shifts/{shift_id}/{page}")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_ended_shift_roster_with_outcomes_runs_a_constant_number_of_queries(
    db, client, login, coordinator, initiative, clock, count_queries
):
    from tests.factories import make_metric, make_outcome_record

    trees = make_metric(initiative, "Trees planted")
    make_metric(initiative, "Pounds of litter", unit="lb")
    counts = []
    shift_ids = []
    for size, first_phone in ((3, 3000), (30, 4000)):
        shift = make_shift(initiative, starts_at=clock - dt.timedelta(days=1), capacity=size)
        _fill(shift, size, clock, first_phone)
        for _ in range(size):
            make_outcome_record(trees, 2, shift_id=shift.id, recorded_by_id=coordinator.id)
        shift_ids.append(shift.id)
    login(coordinator)
    for shift_id in shift_ids:
        db.session.close()
        with count_queries() as queries:
            page = client.get(f"/coordinate/shifts/{shift_id}/roster")
        assert page.status_code == 200
        assert "What did this shift achieve?" in page.get_data(as_text=True)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_walk_in_by_email_and_by_phone_joins_as_walk_in(
    db, client, auth, login, coordinator, shift, clock
):
    by_email = make_user(email="known@example.org", name="Known Person")
    by_phone = make_user(name="Phone Person", phone="+12025550177")
    login(coordinator)

    for lookup in ("KNOWN@example.org", "(202) 555-0177"):
        response = auth.post(
            f"{roster_url(shift)}/walk-in", {"find-lookup": lookup}, page=roster_url(shift)
        )
        assert response.status_code == 303

    signups = db.session.scalars(sa.select(Signup).order_by(Signup.id)).all()
    assert [(s.user_id, s.status, s.source) for s in signups] == [
        (by_email.id, SignupStatus.CONFIRMED, SignupSource.WALK_IN),
        (by_phone.id, SignupStatus.CONFIRMED, SignupSource.WALK_IN),
    ]
    assert db.session.get(type(shift), shift.id).spots_taken == 2


def test_walk_in_lookup_that_matches_nobody_says_so(db, client, auth, login, coordinator, shift):
    login(coordinator)
    response = auth.post(
        f"{roster_url(shift)}/walk-in",
        {"find-lookup": "nobody@example.org"},
        page=roster_url(shift),
    )
    assert response.status_code == 400
    assert "Add them as a new volunteer" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0


def test_new_walk_in_with_paper_consent(db, client, auth, login, coordinator, shift, app):
    login(coordinator)
    response = auth.post(
        f"{roster_url(shift)}/walk-in/new",
        {"new-name": "Walk In", "new-phone": "202-555-0199", "new-agreed_to_texts": "y"},
        page=roster_url(shift),
    )
    assert response.status_code == 303
    person = db.session.scalar(sa.select(User).where(User.phone == "+12025550199"))
    assert person.name == "Walk In" and person.email is None and person.password_hash is None
    assert person.sms_consent_source == "paper"
    assert person.sms_consent_version == app.config["SMS_CONSENT_VERSION"]
    signup = db.session.scalar(sa.select(Signup).where(Signup.user_id == person.id))
    assert signup.source == SignupSource.WALK_IN and signup.status == SignupStatus.CONFIRMED


def test_new_walk_in_without_the_tick_has_no_consent(db, client, auth, login, coordinator, shift):
    login(coordinator)
    auth.post(
        f"{roster_url(shift)}/walk-in/new",
        {"new-name": "Quiet One", "new-phone": "2025550198"},
        page=roster_url(shift),
    )
    person = db.session.scalar(sa.select(User).where(User.phone == "+12025550198"))
    assert person is not None and person.sms_consent_at is None and not person.can_text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"new-name": "X", "new-phone": "12"}, "valid phone number"),
        ({"new-name": "", "new-phone": "2025550197"}, "This field is required"),
        ({"new-name": "X" * 500, "new-phone": "2025550197"}, "Field cannot be longer"),
    ],
)
def test_new_walk_in_bad_input_gets_a_message_and_writes_nothing(
    db, client, auth, login, coordinator, shift, data, message
):
    login(coordinator)
    users_before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = auth.post(f"{roster_url(shift)}/walk-in/new", data, page=roster_url(shift))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users_before


def test_walk_in_on_a_full_shift_needs_a_choice(
    db, client, auth, login, coordinator, initiative, clock
):
    shift = make_shift(initiative, starts_at=clock - dt.timedelta(minutes=20), capacity=1)
    make_signup(make_user(), shift)
    late = make_user(email="late@example.org")
    later = make_user(email="later@example.org")
    login(coordinator)
    url = f"/coordinate/shifts/{shift.id}/roster/walk-in"

    page = client.get(roster_url(shift)).get_data(as_text=True)
    assert "Raise the capacity by one" in page

    refused = auth.post(url, {"find-lookup": "late@example.org"}, page=roster_url(shift))
    assert refused.status_code == 303
    assert "The shift is full" in client.get(roster_url(shift)).get_data(as_text=True)
    assert db.session.get(type(shift), shift.id).capacity == 1

    auth.post(
        url, {"find-lookup": "late@example.org", "find-when_full": "raise"}, page=roster_url(shift)
    )
    auth.post(
        url,
        {"find-lookup": "later@example.org", "find-when_full": "waitlist"},
        page=roster_url(shift),
    )

    db.session.expire_all()
    shift = db.session.get(type(shift), shift.id)
    assert (shift.capacity, shift.spots_taken) == (2, 2)
    statuses = {
        s.user_id: (s.status, s.waitlist_position)
        for s in db.session.scalars(sa.select(Signup).where(Signup.shift_id == shift.id))
    }
    assert statuses[late.id] == (SignupStatus.CONFIRMED, None)
    assert statuses[later.id] == (SignupStatus.WAITLISTED, 1)


def test_walk_in_already_on_the_roster_is_refused(db, client, auth, login, coordinator, shift):
    person = make_user(email="twice@example.org")
    make_signup(person, shift)
    login(coordinator)
    auth.post(
        f"{roster_url(shift)}/walk-in", {"find-lookup": "twice@example.org"}, page=roster_url(shift)
    )
    assert "already on this shift" in client.get(roster_url(shift)).get_data(as_text=True)
    assert db.session.get(type(shift), shift.id).spots_taken == 1


def test_moving_between_waitlist_and_confirmed_keeps_spots_right(
    db, client, auth, login, coordinator, initiative, clock
):
    shift = make_shift(initiative, starts_at=clock + dt.timedelta(days=1), capacity=2)
    first, second, waiting_a, waiting_b = (make_user() for _ in range(4))
    first_signup = make_signup(first, shift)
    make_signup(second, shift)
    a = make_signup(waiting_a, shift, "waitlisted")
    b = make_signup(waiting_b, shift, "waitlisted")
    login(coordinator)
    base = roster_url(shift)

    # Full: confirming from the waitlist is refused.
    auth.post(f"{base}/{b.id}/confirm", page=base)
    db.session.expire_all()
    assert db.session.get(Signup, b.id).status == SignupStatus.WAITLISTED

    # Moving a confirmed person back frees a spot, puts them last, promotes nobody.
    moving = auth.post(f"{base}/{first_signup.id}/waitlist", CONFIRMED, page=base)
    assert moving.status_code == 303
    db.session.expire_all()
    shift = db.session.get(type(shift), shift.id)
    assert shift.spots_taken == 1
    moved = db.session.get(Signup, first_signup.id)
    assert moved.status == SignupStatus.WAITLISTED
    assert moved.waitlist_position > db.session.get(Signup, b.id).waitlist_position
    assert db.session.get(Signup, a.id).status == SignupStatus.WAITLISTED

    # The coordinator picks the second in line, ahead of the first.
    assert auth.post(f"{base}/{b.id}/confirm", page=base).status_code == 303
    db.session.expire_all()
    assert db.session.get(Signup, b.id).status == SignupStatus.CONFIRMED
    assert db.session.get(type(shift), shift.id).spots_taken == 2

    page = client.get(base).get_data(as_text=True)
    waitlist = page[page.index('id="waitlist"') :]
    assert waitlist.index(waiting_a.name) < waitlist.index(first.name)


def test_move_of_another_shifts_signup_is_404(
    db, client, auth, login, coordinator, initiative, clock
):
    shift = make_shift(initiative, starts_at=clock + dt.timedelta(days=1))
    other = make_shift(initiative, starts_at=clock + dt.timedelta(days=2))
    signup = make_signup(make_user(), other)
    login(coordinator)
    response = auth.post(f"{roster_url(shift)}/{signup.id}/waitlist", page=roster_url(shift))
    assert response.status_code == 404


def test_csv_export_has_bom_zone_and_neutralised_formulas(
    db, client, login, coordinator, shift, clock
):
    evil = make_user(name='=HYPERLINK("http://x")', email="@evil@example.org", phone="+12025550111")
    make_signup(evil, shift)
    make_signup(make_user(name="-2+3"), shift, "waitlisted")
    login(coordinator)

    response = client.get(f"{roster_url(shift)}.csv")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert "America/New_York" in rows[0][8]
    assert rows[1][0] == '\'=HYPERLINK("http://x")'
    assert rows[1][2] == "'@evil@example.org"
    assert rows[1][1] == "(202) 555-0111"
    assert rows[2][0] == "'-2+3" and rows[2][4] == "1"


def test_sign_in_sheet_has_names_code_and_qr(db, client, login, coordinator, shift):
    make_signup(make_user(name="Sheet Person"), shift)
    login(coordinator)
    page = client.get(f"/coordinate/shifts/{shift.id}/sign-in-sheet").get_data(as_text=True)
    assert "Sheet Person" in page and shift.code in page
    assert "<svg" in page and "Signature" in page and "Time out" in page


@pytest.mark.parametrize("which", ["coordinator", "public"])
def test_qr_code_is_a_valid_svg(db, client, login, coordinator, shift, which):
    login(coordinator)
    url = (
        f"/coordinate/shifts/{shift.id}/qr.svg"
        if which == "coordinator"
        else f"/checkin/{shift.code}/qr.svg"
    )
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type.startswith("image/svg+xml")
    root = ET.fromstring(response.get_data())  # noqa: S314 - the app's own SVG
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


def test_an_under_age_walk_in_is_refused_on_the_roster_page(
    db, client, auth, login, coordinator, org, clock
):
    initiative = make_initiative(org, timezone="America/New_York", minimum_age=18)
    shift = make_shift(initiative, starts_at=clock + dt.timedelta(hours=2), capacity=3)
    teen = make_user(email="teen@example.org", phone="+12025550161")
    teen.birth_date = clock.date().replace(year=clock.year - 15) - dt.timedelta(days=30)
    login(coordinator)

    page = client.get(roster_url(shift)).get_data(as_text=True)
    assert "Birth date (optional)" in page

    existing = auth.post(
        f"{roster_url(shift)}/walk-in", {"find-lookup": "teen@example.org"}, page=roster_url(shift)
    )
    assert existing.status_code == 303
    refusal = "Volunteers for this initiative must be at least 18 years old."
    assert refusal in client.get(roster_url(shift)).get_data(as_text=True)

    young = clock.date().replace(year=clock.year - 14) - dt.timedelta(days=30)
    new = auth.post(
        f"{roster_url(shift)}/walk-in/new",
        {"new-name": "Young One", "new-phone": "202-555-0162", "new-birth_date": young.isoformat()},
        page=roster_url(shift),
    )
    assert new.status_code == 303
    assert refusal in client.get(roster_url(shift)).get_data(as_text=True)

    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0
    assert db.session.scalar(sa.select(User).where(User.phone == "+12025550162")) is None
    assert db.session.get(type(shift), shift.id).spots_taken == 0
