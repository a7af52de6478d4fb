"""Calendars: the one-shift .ics download and the private subscription feed."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
import sqlalchemy as sa

from tests.factories import days_ahead, make_initiative, make_shift, make_user
from volunteer_app.accounts.models import User
from volunteer_app.core.db import utcnow
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts import services
from volunteer_app.shifts.models import ShiftStatus, Signup, SignupStatus


@pytest.fixture
def soon():
    """Views use the real clock, so shifts are placed relative to it."""
    return days_ahead(3)


@pytest.fixture
def login(client, auth):
    def log_in(user):
        assert auth.login(user.email).status_code in (302, 303)

    return log_in


def events(response) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(response.data)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


# ---------------------------------------------------------------------------------------------
# One shift


def test_shift_ics_is_one_event_in_utc(db, client):
    initiative = make_initiative(title="Tree Planting, Spring", timezone="America/Chicago")
    # 09:00 in Chicago on a summer day is 14:00 UTC.
    starts = dt.datetime(2031, 7, 1, 14, 0, tzinfo=dt.UTC)
    shift = make_shift(
        initiative,
        starts_at=starts,
        hours=2.5,
        location_name="Lincoln Park",
        address="2045 N Lincoln Park W",
        role="Team lead",
        description="Bring gloves; we bring the trees.",
    )
    db.session.commit()

    response = client.get(f"/shifts/{shift.id}.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="shift-{shift.id}.ics"'
    found = events(response)
    assert list(found) == [f"shift-{shift.id}@localhost"]
    event = found[f"shift-{shift.id}@localhost"]
    assert event.decoded("dtstart") == starts
    assert event.decoded("dtstart").utcoffset() == dt.timedelta(0)
    assert event.decoded("dtend") == starts + dt.timedelta(hours=2.5)
    assert b"DTSTART:20310701T140000Z" in response.data
    assert str(event["summary"]) == "Tree Planting, Spring: Team lead"
    assert str(event["location"]) == "Lincoln Park, 2045 N Lincoln Park W"
    description = str(event["description"])
    assert f"http://localhost/shifts/{shift.id}" in description
    assert "Bring gloves; we bring the trees." in description
    assert shift.code in description
    assert str(event["status"]) == "CONFIRMED"


def test_cancelled_shift_ics_says_cancelled(db, client, soon):
    shift = make_shift(starts_at=soon, status=ShiftStatus.CANCELLED)
    db.session.commit()
    event = next(iter(events(client.get(f"/shifts/{shift.id}.ics")).values()))
    assert str(event["status"]) == "CANCELLED"


def test_draft_and_unknown_shift_ics_are_not_found(db, client, soon):
    draft = make_shift(make_initiative(status=InitiativeStatus.DRAFT), starts_at=soon)
    db.session.commit()
    assert client.get(f"/shifts/{draft.id}.ics").status_code == 404
    assert client.get("/shifts/999999.ics").status_code == 404


# ---------------------------------------------------------------------------------------------
# The private feed


def _feed_path(db, user: User) -> str:
    db.session.expire_all()
    token = db.session.get(User, user.id).calendar_token
    assert token
    return f"/calendar/{token}.ics"


def test_feed_link_is_made_on_demand_and_shown_on_my_shifts(db, client, auth, login):
    person = make_user()
    db.session.commit()
    login(person)

    page = client.get("/me/shifts").get_data(as_text=True)
    assert "Create my calendar link" in page
    assert "webcal://" not in page and "localhost/calendar/" not in page

    response = auth.post("/me/calendar/rotate", page="/me/shifts")

    assert response.status_code == 303
    path = _feed_path(db, person)
    page = client.get("/me/shifts").get_data(as_text=True)
    assert f'value="http://localhost{path}"' in page
    assert f'href="webcal://localhost{path}"' in page


def test_feed_has_my_confirmed_upcoming_and_recent_shifts_only(db, client, auth, login, soon):
    person, other = make_user(), make_user()
    initiative = make_initiative()
    mine = make_shift(initiative, starts_at=soon, capacity=1)
    waited = make_shift(initiative, starts_at=soon + dt.timedelta(days=1), capacity=1)
    dropped = make_shift(initiative, starts_at=soon + dt.timedelta(days=2))
    theirs = make_shift(initiative, starts_at=soon + dt.timedelta(days=3))
    recent = make_shift(initiative, starts_at=utcnow() - dt.timedelta(days=5))
    long_ago = make_shift(initiative, starts_at=utcnow() - dt.timedelta(days=90))
    called_off = make_shift(initiative, starts_at=soon + dt.timedelta(days=4))
    db.session.commit()
    now = utcnow()
    services.signup_for_shift(person, mine, now=now)
    services.signup_for_shift(other, waited, now=now)
    services.signup_for_shift(person, waited, now=now)  # waitlisted
    services.cancel_signup(services.signup_for_shift(person, dropped, now=now).signup, now=now)
    services.signup_for_shift(other, theirs, now=now)
    services.signup_for_shift(person, called_off, now=now)
    called_off.status = ShiftStatus.CANCELLED
    for past in (recent, long_ago):
        db.session.add(Signup(shift_id=past.id, user_id=person.id, status=SignupStatus.ATTENDED))
        past.spots_taken += 1
    db.session.commit()
    login(person)
    auth.post("/me/calendar/rotate", page="/me/shifts")

    response = client.get(_feed_path(db, person))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response.headers["Cache-Control"]
    found = events(response)
    assert set(found) == {f"shift-{mine.id}@localhost", f"shift-{recent.id}@localhost"}
    assert found[f"shift-{mine.id}@localhost"].decoded("dtstart") == mine.starts_at
    assert other.name.encode() not in response.data


def test_feed_works_without_a_session_and_rotating_revokes_the_old_url(
    db, client, auth, login, soon
):
    person = make_user()
    shift = make_shift(starts_at=soon)
    db.session.commit()
    services.signup_for_shift(person, shift, now=utcnow())
    db.session.commit()
    login(person)
    auth.post("/me/calendar/rotate", page="/me/shifts")
    old_path = _feed_path(db, person)

    anonymous = client.application.test_client()
    assert anonymous.get(old_path).status_code == 200

    response = auth.post("/me/calendar/rotate", page="/me/shifts")
    assert response.status_code == 303
    new_path = _feed_path(db, person)

    assert new_path != old_path
    assert anonymous.get(old_path).status_code == 404
    assert anonymous.get(new_path).status_code == 200
    assert re.fullmatch(r"/calendar/[A-Za-z0-9_-]{43}\.ics", new_path)


def test_revoking_switches_the_feed_off(db, client, auth, login):
    person = make_user()
    db.session.commit()
    login(person)
    auth.post("/me/calendar/rotate", page="/me/shifts")
    path = _feed_path(db, person)

    response = auth.post("/me/calendar/revoke", page="/me/shifts")

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, person.id).calendar_token is None
    assert client.get(path).status_code == 404
    assert "Create my calendar link" in client.get("/me/shifts").get_data(as_text=True)


def test_rotate_without_csrf_changes_nothing(db, client, login):
    person = make_user(calendar_token="kept-token")
    db.session.commit()
    login(person)

    assert client.post("/me/calendar/rotate", data={}).status_code == 400
    db.session.expire_all()
    assert db.session.scalar(sa.select(User.calendar_token).filter_by(id=person.id)) == (
        "kept-token"
    )


@pytest.mark.parametrize("token", ["nope", "x" * 200, "%00", "a-real-token%00", "a-real-token.."])
def test_unknown_feed_tokens_are_not_found(db, client, token):
    make_user(calendar_token="a-real-token")
    db.session.commit()
    # A NUL in an address is refused before any view (web.py), so it never reaches SQL.
    expected = 400 if "%00" in token else 404
    assert client.get(f"/calendar/{token}.ics").status_code == expected


def test_deactivated_person_feed_is_not_found(db, client):
    make_user(calendar_token="inactive-token", active=False)
    db.session.commit()
    assert client.get("/calendar/inactive-token.ics").status_code == 404
