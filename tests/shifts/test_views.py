"""The shift page, signing up and cancelling on the web, and My shifts, through real HTTP."""

from __future__ import annotations

import datetime as dt
import html
import re
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from tests.conftest import AuthActions, csrf_token
from tests.factories import (
    days_ahead,
    make_coordinator,
    make_initiative,
    make_organization,
    make_shift,
    make_user,
)
from volunteer_app.core.db import utcnow
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts import queries, services
from volunteer_app.shifts.models import ShiftStatus, Signup, SignupSource, SignupStatus
from volunteer_app.sms.models import Message, MessageStatus


@pytest.fixture
def soon():
    """Views use the real clock, so shifts are placed relative to it."""
    return days_ahead(3)


@pytest.fixture
def shift(db, soon):
    initiative = make_initiative(title="Tree Planting Crew", timezone="America/New_York")
    shift = make_shift(initiative, starts_at=soon, capacity=2, location_name="Riverside Park")
    db.session.commit()
    return shift


@pytest.fixture
def login(client, auth):
    """Log a person in through the real login form."""

    def log_in(user):
        response = auth.login(user.email)
        assert response.status_code in (302, 303), "login failed"
        return response

    return log_in


def signup_count(db, **filters) -> int:
    query = sa.select(sa.func.count()).select_from(Signup).filter_by(**filters)
    return db.session.scalar(query)


def text(response) -> str:
    """The page as a person reads it: entities decoded, so "You're" matches either way."""
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------------------------------------
# The shift page


def test_anonymous_visitor_sees_the_shift_and_a_login_link_that_comes_back(client, shift):
    page = client.get(f"/shifts/{shift.id}")
    body = text(page)

    assert page.status_code == 200
    assert "Tree Planting Crew" in body
    assert f'href="/initiatives/{shift.initiative.slug}"' in body
    assert shift.initiative.organization.name in body
    assert "Riverside Park" in body
    assert "2 spots left" in body
    assert f"JOIN {shift.code}" in body
    assert f'href="/login?next=/shifts/{shift.id}"' in unquote(body)
    assert f'href="/register?next=/shifts/{shift.id}"' in unquote(body)
    assert f'action="/shifts/{shift.id}/signup"' not in body
    assert f'href="/shifts/{shift.id}.ics"' in body


@pytest.mark.parametrize(
    ("starts_at", "local_text", "zone"),
    [
        # 14:00 UTC is 10:00 in New York in summer and 09:00 in winter.
        (dt.datetime(2030, 7, 1, 14, 0, tzinfo=dt.UTC), "10:00", "EDT"),
        (dt.datetime(2030, 1, 7, 14, 0, tzinfo=dt.UTC), "9:00", "EST"),
    ],
)
def test_times_show_in_the_initiative_zone_with_its_abbreviation(
    db, client, starts_at, local_text, zone
):
    shift = make_shift(make_initiative(timezone="America/New_York"), starts_at=starts_at)
    db.session.commit()

    body = text(client.get(f"/shifts/{shift.id}"))

    assert re.search(rf"\b{local_text}\s*AM", body)
    assert f">{zone}</abbr>" in body


def test_one_spot_uses_the_singular(db, client, soon):
    shift = make_shift(starts_at=soon, capacity=1)
    db.session.commit()
    assert "1 spot left" in text(client.get(f"/shifts/{shift.id}"))


def test_unknown_and_draft_shifts_are_not_found_for_the_public(db, client, auth, login, soon):
    org = make_organization()
    draft = make_shift(make_initiative(org, status=InitiativeStatus.DRAFT), starts_at=soon)
    coordinator = make_coordinator(org)
    volunteer = make_user()
    db.session.commit()

    assert client.get("/shifts/999999").status_code == 404
    assert client.get(f"/shifts/{draft.id}").status_code == 404
    login(volunteer)
    assert client.get(f"/shifts/{draft.id}").status_code == 404
    auth.logout()
    login(coordinator)
    assert client.get(f"/shifts/{draft.id}").status_code == 200


def test_cancelled_shift_shows_as_cancelled_without_a_button(db, client, login, soon):
    shift = make_shift(starts_at=soon, status=ShiftStatus.CANCELLED)
    person = make_user()
    db.session.commit()
    login(person)

    body = text(client.get(f"/shifts/{shift.id}"))

    assert "This shift has been cancelled." in body
    assert f'action="/shifts/{shift.id}/signup"' not in body


# ---------------------------------------------------------------------------------------------
# Signing up


def test_login_with_next_returns_to_the_shift_then_one_click_signs_up(db, client, auth, shift):
    person = make_user()
    db.session.commit()

    # Click 1: "Log in to sign up" -> the login form posts back with next=the shift page.
    token_page = f"/login?next=/shifts/{shift.id}"
    response = auth.post(
        token_page,
        {"email": person.email, "password": "correct horse battery"},
    )
    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith(f"/shifts/{shift.id}")

    page = text(client.get(f"/shifts/{shift.id}"))
    assert f'action="/shifts/{shift.id}/signup"' in page
    assert ">Sign up</button>" in page

    # Click 2: the one button.
    response = auth.post(f"/shifts/{shift.id}/signup", page=f"/shifts/{shift.id}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/shifts/{shift.id}")

    signup = db.session.scalar(sa.select(Signup).filter_by(user_id=person.id))
    assert signup.status == SignupStatus.CONFIRMED
    assert signup.source == SignupSource.WEB
    body = text(client.get(f"/shifts/{shift.id}"))
    assert "You're signed up. See you there!" in body
    assert "You're signed up for this shift." in body
    assert "1 spot left" in body


def test_full_shift_offers_the_waitlist_and_shows_the_position(db, client, auth, login, soon):
    shift = make_shift(starts_at=soon, capacity=1)
    holder = make_user()
    first_waiting, second_waiting = make_user(), make_user()
    db.session.commit()
    services.signup_for_shift(holder, shift, now=utcnow())
    services.signup_for_shift(first_waiting, shift, now=utcnow())
    db.session.commit()

    login(second_waiting)
    page = text(client.get(f"/shifts/{shift.id}"))
    assert ">Join the waitlist</button>" in page
    assert "Full" in page

    response = auth.post(f"/shifts/{shift.id}/signup", page=f"/shifts/{shift.id}")
    assert response.status_code == 303

    body = text(client.get(f"/shifts/{shift.id}"))
    assert "The shift is full: you are #2 on the waitlist." in body
    assert "You are #2 on the waitlist." in body
    signup = db.session.scalar(sa.select(Signup).filter_by(user_id=second_waiting.id))
    assert signup.status == SignupStatus.WAITLISTED


def test_anonymous_post_goes_to_login_and_writes_nothing(db, client, shift):
    token = _anonymous_csrf_token(client)

    response = client.post(f"/shifts/{shift.id}/signup", data={"csrf_token": token})

    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == f"/login?next=/shifts/{shift.id}"
    assert signup_count(db) == 0


def _anonymous_csrf_token(client) -> str:
    return csrf_token(client, "/login")


def test_missing_csrf_token_is_refused_and_writes_nothing(db, client, login, shift):
    login(make_user())

    response = client.post(f"/shifts/{shift.id}/signup", data={})

    assert response.status_code == 400
    assert signup_count(db) == 0


def test_unknown_shift_signup_is_not_found(db, client, auth, login, shift):
    login(make_user())
    db.session.commit()
    response = auth.post("/shifts/999999/signup", page=f"/shifts/{shift.id}")
    assert response.status_code == 404
    assert signup_count(db) == 0


def test_draft_shift_signup_is_not_found(db, client, auth, login, shift, soon):
    draft = make_shift(make_initiative(status=InitiativeStatus.DRAFT), starts_at=soon)
    login(make_user())
    db.session.commit()
    response = auth.post(f"/shifts/{draft.id}/signup", page=f"/shifts/{shift.id}")
    assert response.status_code == 404
    assert signup_count(db) == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: make_shift(starts_at=utcnow() - dt.timedelta(hours=1)),
            "This shift has already started.",
        ),
        (
            lambda: make_shift(
                starts_at=utcnow() + dt.timedelta(days=2), status=ShiftStatus.CANCELLED
            ),
            "This shift has been cancelled.",
        ),
        (
            lambda: make_shift(
                make_initiative(minimum_age=18), starts_at=utcnow() + dt.timedelta(days=2)
            ),
            "Add your date of birth to your profile to sign up.",
        ),
    ],
    ids=["past", "cancelled", "too-young"],
)
def test_refused_signup_flashes_the_reason_and_writes_nothing(
    db, client, auth, login, shift, make, message
):
    refused = make()
    person = make_user()
    db.session.commit()
    login(person)

    # The token comes from a page with a form; the refused shift may show none.
    response = auth.post(f"/shifts/{refused.id}/signup", page=f"/shifts/{shift.id}")

    assert response.status_code in (302, 303)
    assert response.headers["Location"].endswith(f"/shifts/{refused.id}")
    assert signup_count(db) == 0
    assert message in text(client.get(f"/shifts/{refused.id}"))


def test_schedule_clash_is_refused_with_a_message(db, client, auth, login, shift):
    person = make_user()
    overlapping = make_shift(starts_at=shift.starts_at + dt.timedelta(hours=1))
    db.session.commit()
    services.signup_for_shift(person, shift, now=utcnow())
    db.session.commit()
    login(person)

    response = auth.post(f"/shifts/{overlapping.id}/signup", page=f"/shifts/{overlapping.id}")

    assert response.status_code == 303
    assert signup_count(db, shift_id=overlapping.id) == 0
    body = text(client.get(f"/shifts/{overlapping.id}"))
    assert "You are already signed up for Tree Planting Crew at that time" in body


def test_signing_up_twice_is_refused_without_a_second_row(db, client, auth, login, shift):
    person = make_user()
    db.session.commit()
    login(person)
    auth.post(f"/shifts/{shift.id}/signup", page=f"/shifts/{shift.id}")
    # A second tab still showing the button.
    response = auth.post(f"/shifts/{shift.id}/signup", page="/me/shifts")

    assert response.status_code == 303
    assert signup_count(db, user_id=person.id) == 1
    assert "You are already signed up for this shift." in text(client.get(f"/shifts/{shift.id}"))


# ---------------------------------------------------------------------------------------------
# Cancelling


def test_cancel_asks_first_then_promotes_the_first_waiting(db, client, auth, login, soon):
    shift = make_shift(starts_at=soon, capacity=1)
    holder = make_user()
    first = make_user(phone="+12025550181", consent_at=utcnow())
    second = make_user()
    db.session.commit()
    held = services.signup_for_shift(holder, shift, now=utcnow()).signup
    first_wait = services.signup_for_shift(first, shift, now=utcnow()).signup
    second_wait = services.signup_for_shift(second, shift, now=utcnow()).signup
    db.session.commit()
    login(holder)

    shift_page = text(client.get(f"/shifts/{shift.id}"))
    assert f'href="/signups/{held.id}/cancel"' in shift_page
    confirm = client.get(f"/signups/{held.id}/cancel")
    assert confirm.status_code == 200
    assert "Cancel your signup?" in text(confirm)
    assert held.status == SignupStatus.CONFIRMED  # asking changes nothing

    response = auth.post(f"/signups/{held.id}/cancel")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/me/shifts")
    db.session.expire_all()
    assert held.status == SignupStatus.CANCELLED
    assert first_wait.status == SignupStatus.CONFIRMED
    assert second_wait.status == SignupStatus.WAITLISTED
    assert queries.waitlist_rank(second_wait) == 1
    promotion = db.session.scalar(
        sa.select(Message).where(Message.kind == "waitlist_promoted", Message.user_id == first.id)
    )
    assert promotion is not None and promotion.status == MessageStatus.QUEUED
    assert "Your signup is cancelled." in text(client.get("/me/shifts"))


def test_leaving_the_waitlist(db, client, auth, login, soon):
    shift = make_shift(starts_at=soon, capacity=0)
    person = make_user()
    db.session.commit()
    waiting = services.signup_for_shift(person, shift, now=utcnow()).signup
    db.session.commit()
    login(person)

    assert "You are #1 on the waitlist." in text(client.get(f"/signups/{waiting.id}/cancel"))
    auth.post(f"/signups/{waiting.id}/cancel")

    db.session.expire_all()
    assert waiting.status == SignupStatus.CANCELLED
    assert waiting.waitlist_position is None


def test_cancelling_someone_elses_signup_is_not_found(db, client, auth, login, shift):
    owner, stranger = make_user(), make_user()
    db.session.commit()
    theirs = services.signup_for_shift(owner, shift, now=utcnow()).signup
    db.session.commit()
    login(stranger)

    assert client.get(f"/signups/{theirs.id}/cancel").status_code == 404
    response = auth.post(f"/signups/{theirs.id}/cancel", page="/me/shifts")
    assert response.status_code == 404
    assert auth.post("/signups/999999/cancel", page="/me/shifts").status_code == 404
    db.session.expire_all()
    assert theirs.status == SignupStatus.CONFIRMED


def test_cancel_without_csrf_is_refused(db, client, login, shift):
    person = make_user()
    db.session.commit()
    mine = services.signup_for_shift(person, shift, now=utcnow()).signup
    db.session.commit()
    login(person)

    assert client.post(f"/signups/{mine.id}/cancel", data={}).status_code == 400
    db.session.expire_all()
    assert mine.status == SignupStatus.CONFIRMED


@pytest.mark.parametrize(
    "url", ["/me/shifts", "/signups/1/cancel", "/me/calendar/rotate", "/me/calendar/revoke"]
)
def test_login_required(client, url):
    response = client.get(url) if "calendar" not in url else client.post(url)
    # POSTs without a session are stopped by CSRF first; either way nothing runs.
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]


# ---------------------------------------------------------------------------------------------
# My shifts


def _past_signup(db, user, shift, status: SignupStatus) -> Signup:
    signup = Signup(shift_id=shift.id, user_id=user.id, status=status, created_at=shift.starts_at)
    if status in services.SPOT_HOLDING:
        shift.spots_taken += 1
    db.session.add(signup)
    db.session.flush()
    return signup


def test_my_shifts_lists_upcoming_past_and_hours(db, client, login, soon):
    person = make_user()
    initiative = make_initiative(title="Reading Buddies")
    confirmed = make_shift(initiative, starts_at=soon, capacity=5)
    full = make_shift(initiative, starts_at=soon + dt.timedelta(days=1), capacity=1)
    attended = make_shift(initiative, starts_at=soon - dt.timedelta(days=30))
    missed = make_shift(initiative, starts_at=soon - dt.timedelta(days=20))
    other_person = make_user()
    db.session.commit()
    now = utcnow()
    services.signup_for_shift(person, confirmed, now=now)
    services.signup_for_shift(other_person, full, now=now)
    waiting = services.signup_for_shift(person, full, now=now).signup
    served = _past_signup(db, person, attended, SignupStatus.ATTENDED)
    _past_signup(db, person, missed, SignupStatus.NO_SHOW)
    db.session.add(
        HoursEntry(
            user_id=person.id,
            initiative_id=initiative.id,
            shift_id=attended.id,
            signup_id=served.id,
            served_on=attended.starts_at.date(),
            minutes=150,
            source=HoursSource.ATTENDANCE,
            status=HoursStatus.APPROVED,
        )
    )
    db.session.commit()
    login(person)

    body = text(client.get("/me/shifts"))

    upcoming, past = body.split('id="past-heading"')
    assert "Confirmed" in upcoming
    assert "#1 on the waitlist" in upcoming
    assert f'href="/signups/{waiting.id}/cancel"' in upcoming
    assert f'href="/shifts/{confirmed.id}.ics"' in upcoming
    assert "Attended" in past and "Did not attend" in past
    assert f'href="/shifts/{attended.id}"' in past
    assert "<strong>2.5</strong>" in body
    assert other_person.name not in body


def test_my_shifts_runs_a_constant_number_of_queries(app, db, count_queries, soon):
    initiative = make_initiative()
    db.session.commit()

    def person_with_history(size: int):
        person, holder = make_user(), make_user()
        now = utcnow()
        for i in range(size):
            starts = soon + dt.timedelta(days=i)
            if i % 4 == 0:  # full: the person waits behind someone
                shift = make_shift(initiative, starts_at=starts, capacity=1)
                services.signup_for_shift(holder, shift, now=now)
                services.signup_for_shift(person, shift, now=now)
            elif i % 4 == 1:
                shift = make_shift(initiative, starts_at=starts - dt.timedelta(days=60))
                _past_signup(db, person, shift, SignupStatus.ATTENDED)
            else:
                shift = make_shift(initiative, starts_at=starts, capacity=3)
                services.signup_for_shift(person, shift, now=now)
        db.session.commit()
        return person

    counts = {}
    for size in (2, 40):
        person = person_with_history(size)
        browser = app.test_client()
        assert AuthActions(browser).login(person.email).status_code in (302, 303)
        db.session.expire_all()
        with count_queries() as queries:
            body = text(browser.get("/me/shifts"))
        counts[size] = len(queries)
        assert "#1 on the waitlist" in body

    assert counts[2] == counts[40], counts
    assert counts[40] <= 6, counts


def test_my_shifts_shows_waitlist_ranks_for_many_shifts(db, soon):
    """The one-query ranks agree with the one-signup rank."""
    initiative = make_initiative()
    people = [make_user() for _ in range(4)]
    signups = []
    for day in range(3):
        shift = make_shift(initiative, starts_at=soon + dt.timedelta(days=day), capacity=1)
        for person in people:
            signups.append(services.signup_for_shift(person, shift, now=utcnow()).signup)
    # A gap in positions: ranks count people, not position numbers.
    services.cancel_signup(signups[1], now=utcnow())
    db.session.flush()

    ranks = queries.waitlist_ranks(signups)

    assert ranks == {
        s.id: queries.waitlist_rank(s) for s in signups if s.status == SignupStatus.WAITLISTED
    }
    assert sorted(ranks.values()) == [1, 1, 1, 2, 2, 2, 3, 3]
