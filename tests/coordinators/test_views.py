"""Coordinator screens through real HTTP: who may see what, initiatives from blueprints,
goals, shifts and series, and bad input answered with messages rather than errors."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED, csrf_token
from tests.coordinators.conftest import text, words
from tests.factories import (
    make_cause,
    make_hours_entry,
    make_metric,
    make_outcome_record,
    make_shift,
    make_user,
)
from volunteer_app.core.db import utcnow
from volunteer_app.core.time import local
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.services import signup_for_shift
from volunteer_app.sms.models import Message


@pytest.fixture
def world(db, initiative, soon):
    """Organization A's initiative with a goal, a shift and a recorded outcome."""
    metric = make_metric(initiative, "Trees planted", target=100)
    shift = make_shift(initiative, starts_at=soon, capacity=4)
    record = make_outcome_record(metric, 3)
    db.session.commit()
    return {"initiative": initiative, "metric": metric, "shift": shift, "record": record}


def coordinator_urls(world) -> list[tuple[str, str]]:
    i, m, s = world["initiative"].id, world["metric"].id, world["shift"].id
    return [
        ("GET", f"/coordinate/initiatives/{i}"),
        ("GET", f"/coordinate/initiatives/{i}/edit"),
        ("POST", f"/coordinate/initiatives/{i}/edit"),
        ("POST", f"/coordinate/initiatives/{i}/publish"),
        ("POST", f"/coordinate/initiatives/{i}/close"),
        ("POST", f"/coordinate/initiatives/{i}/draft"),
        ("GET", f"/coordinate/initiatives/{i}/goals/new"),
        ("POST", f"/coordinate/initiatives/{i}/goals/new"),
        ("GET", f"/coordinate/goals/{m}/edit"),
        ("POST", f"/coordinate/goals/{m}/edit"),
        ("POST", f"/coordinate/goals/{m}/delete"),
        ("GET", f"/coordinate/initiatives/{i}/shifts/new"),
        ("POST", f"/coordinate/initiatives/{i}/shifts/new"),
        ("GET", f"/coordinate/shifts/{s}"),
        ("POST", f"/coordinate/shifts/{s}"),
        ("POST", f"/coordinate/shifts/{s}/cancel"),
        ("POST", f"/coordinate/shifts/{s}/duplicate"),
        *[("GET", f"/coordinate/initiatives/{i}/export/{k}.csv") for k in EXPORTS],
    ]


EXPORTS = ("shifts", "signups", "hours", "outcomes")


def admin_urls(org_id: int, user_id: int) -> list[tuple[str, str]]:
    return [
        ("GET", "/coordinate/admin/organizations"),
        ("GET", "/coordinate/admin/organizations/new"),
        ("POST", "/coordinate/admin/organizations/new"),
        ("GET", f"/coordinate/admin/organizations/{org_id}"),
        ("GET", f"/coordinate/admin/organizations/{org_id}/edit"),
        ("POST", f"/coordinate/admin/organizations/{org_id}/edit"),
        ("POST", f"/coordinate/admin/organizations/{org_id}/invite"),
        ("POST", f"/coordinate/admin/organizations/{org_id}/members/{user_id}/remove"),
    ]


def request(client, method: str, url: str, token: str):
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": token, "capacity": "1"})


def assert_nothing_changed(db, world):
    db.session.expire_all()
    initiative = db.session.get(Initiative, world["initiative"].id)
    shift = db.session.get(Shift, world["shift"].id)
    assert initiative.status == InitiativeStatus.DRAFT
    assert shift.status == ShiftStatus.SCHEDULED and shift.capacity == 4
    assert db.session.get(OutcomeMetric, world["metric"].id) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 1


# ---------------------------------------------------------------------------------------------
# Who may see what


def test_a_volunteer_is_refused_every_coordinator_and_admin_route(
    client, login, db, world, volunteer, coordinator, org
):
    login(volunteer)
    token = csrf_token(client, "/")
    urls = [
        ("GET", "/coordinate/"),
        ("GET", "/coordinate/initiatives"),
        ("GET", "/coordinate/initiatives/new"),
        ("POST", "/coordinate/initiatives/new"),
        *coordinator_urls(world),
        *admin_urls(org.id, coordinator.id),
    ]
    for method, url in urls:
        assert request(client, method, url, token).status_code == 403, (method, url)
    assert_nothing_changed(db, world)


def test_a_coordinator_of_another_organization_gets_404_for_its_things(
    client, login, db, world, other_coordinator, coordinator, org
):
    login(other_coordinator)
    token = csrf_token(client, "/coordinate/")
    for method, url in coordinator_urls(world):
        assert request(client, method, url, token).status_code == 404, (method, url)
    for method, url in admin_urls(org.id, coordinator.id):
        assert request(client, method, url, token).status_code == 403, (method, url)
    assert_nothing_changed(db, world)
    # Their own lists do not mention organization A's initiative.
    assert "Tree Crew" not in text(client.get("/coordinate/initiatives"))
    assert "Tree Crew" not in text(client.get("/coordinate/"))


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    response = client.get(f"/coordinate/initiatives/{world['initiative'].id}")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_guessed_ids_are_404_even_for_admins(client, login, admin):
    login(admin)
    for url in (
        "/coordinate/initiatives/999999",
        "/coordinate/shifts/999999",
        "/coordinate/goals/999999/edit",
        "/coordinate/admin/organizations/999999",
        "/coordinate/initiatives/999999/export/shifts.csv",
    ):
        assert client.get(url).status_code == 404, url


def test_an_admin_manages_every_organizations_initiatives(client, login, world, admin):
    login(admin)
    page = client.get(f"/coordinate/initiatives/{world['initiative'].id}")
    assert page.status_code == 200
    assert "Tree Crew" in text(client.get("/coordinate/initiatives"))


# ---------------------------------------------------------------------------------------------
# Initiatives and goals


def initiative_form(org, cause, /, **changes) -> dict:
    data = {
        "organization": str(org.id),
        "cause": str(cause.id),
        "title": "Storm Busters Eastside",
        "summary": "Trees and rain gardens that soak up the rain.",
        "story": "",
        "timezone": "America/New_York",
        "timezone_other": "",
        "minimum_age": "0",
        "reminders": "24h, 2h",
    }
    data.update(changes)
    return data


def test_new_initiative_from_a_blueprint_prefills_its_goals_and_creates_them(
    client, auth, login, db, coordinator, org
):
    cause = make_cause("environment", "Environment")
    db.session.commit()
    login(coordinator)

    page = text(client.get("/coordinate/initiatives/new?blueprint=storm-busters"))
    assert 'value="Trees planted"' in page
    assert 'value="500"' in page
    assert 'value="Trees alive after one year"' in page
    assert f'<option selected value="{cause.id}">' in page or (
        re.search(rf'<option[^>]*value="{cause.id}"[^>]*selected', page)
    )

    names = ["Trees planted", "Rain gardens planted", "Riverbank restored", "Alive after a year"]
    data = initiative_form(org, cause, blueprint="storm-busters")
    for n, name in enumerate(names):
        data.update(
            {
                f"metrics-{n}-name": name,
                f"metrics-{n}-unit": "trees",
                f"metrics-{n}-kind": "output",
                f"metrics-{n}-target": "250" if n == 0 else "10",
                f"metrics-{n}-baseline": "",
                f"metrics-{n}-deadline_on": "2027-06-30" if n == 0 else "",
                f"metrics-{n}-sms_keyword": "TREES" if n == 0 else "",
            }
        )
        if n != 2:  # the coordinator unticks the riverbank goal
            data[f"metrics-{n}-include"] = "y"
    response = auth.post(
        "/coordinate/initiatives/new", data, page="/coordinate/initiatives/new?blueprint=x"
    )
    assert response.status_code == 303

    initiative = db.session.scalar(sa.select(Initiative).where(Initiative.title.like("Storm%")))
    assert initiative.status == InitiativeStatus.DRAFT
    assert initiative.blueprint == "storm-busters"
    assert initiative.reminder_minutes == [1440, 120]
    assert [(m.name, int(m.target)) for m in initiative.metrics] == [
        ("Trees planted", 250),
        ("Rain gardens planted", 10),
        ("Alive after a year", 10),
    ]
    assert initiative.metrics[0].deadline_on == dt.date(2027, 6, 30)
    assert response.headers["Location"].endswith(f"/coordinate/initiatives/{initiative.id}")


def test_two_initiatives_with_one_title_get_different_slugs(
    client, auth, login, db, coordinator, org
):
    cause = make_cause()
    db.session.commit()
    login(coordinator)
    for _ in range(2):
        response = auth.post(
            "/coordinate/initiatives/new",
            initiative_form(org, cause, title="Clean Block"),
            page="/coordinate/initiatives/new",
        )
        assert response.status_code == 303
    slugs = db.session.scalars(sa.select(Initiative.slug).order_by(Initiative.id)).all()
    assert slugs == ["clean-block", "clean-block-2"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "x" * 10_000}, "at most 140 characters"),
        ({"summary": "x" * 10_000}, "at most 300 characters"),
        ({"story": "x" * 10_000}, "at most 5000 characters"),
        ({"timezone": "other", "timezone_other": "Mars/Olympus"}, "not a time zone we know"),
        ({"timezone": "other", "timezone_other": "x" * 10_000}, "at most 64 characters"),
        ({"timezone": "Not/Listed"}, "Not a valid choice"),
        ({"minimum_age": "-1"}, "between 0 and 120"),
        ({"minimum_age": "1000000000"}, "between 0 and 120"),
        ({"reminders": "whenever"}, "not a reminder time"),
        ({"title": ""}, "This field is required"),
        ({"organization": "999999"}, "Not a valid choice"),
        ({"cause": "abc"}, "Invalid Choice"),
    ],
)
def test_bad_initiative_input_is_a_form_error_and_writes_nothing(
    client, auth, login, db, coordinator, org, changes, message
):
    cause = make_cause()
    db.session.commit()
    login(coordinator)
    response = auth.post(
        "/coordinate/initiatives/new",
        initiative_form(org, cause, **changes),
        page="/coordinate/initiatives/new",
    )
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Initiative)) == 0


def test_a_free_text_timezone_that_exists_is_accepted(client, auth, login, db, coordinator, org):
    cause = make_cause()
    db.session.commit()
    login(coordinator)
    response = auth.post(
        "/coordinate/initiatives/new",
        initiative_form(org, cause, timezone="other", timezone_other="America/Detroit"),
        page="/coordinate/initiatives/new",
    )
    assert response.status_code == 303
    assert db.session.scalar(sa.select(Initiative.timezone)) == "America/Detroit"
    initiative_id = db.session.scalar(sa.select(Initiative.id))
    edit = text(client.get(f"/coordinate/initiatives/{initiative_id}/edit"))
    assert 'value="America/Detroit"' in edit


def test_publishing_without_a_goal_is_refused_with_a_message(
    client, auth, login, db, coordinator, initiative
):
    login(coordinator)
    page = f"/coordinate/initiatives/{initiative.id}"
    response = auth.post(
        f"{page}/publish", page=page, headers={"Referer": f"http://localhost{page}"}
    )
    assert response.status_code in (302, 303)
    assert "Add at least one goal before publishing." in text(client.get(page))
    db.session.expire_all()
    assert db.session.get(Initiative, initiative.id).status == InitiativeStatus.DRAFT

    goal = {"name": "Trees planted", "unit": "trees", "kind": "output", "target": "100"}
    assert auth.post(f"{page}/goals/new", goal).status_code == 303
    assert auth.post(f"{page}/publish", page=page).status_code == 303
    db.session.expire_all()
    assert db.session.get(Initiative, initiative.id).status == InitiativeStatus.PUBLISHED
    assert auth.post(f"{page}/close", page=page).status_code == 303
    db.session.expire_all()
    assert db.session.get(Initiative, initiative.id).status == InitiativeStatus.CLOSED


def test_goals_show_progress_pace_and_before_after(client, login, db, coordinator, initiative):
    make_metric(
        initiative,
        "Trees planted",
        target=100,
        # The page counts days in the initiative's zone, so the deadline is set in it too: from
        # the UTC date it would be a day further off every New York evening.
        deadline_on=local(utcnow(), initiative.timezone).date() + dt.timedelta(days=34),
    )
    reading = make_metric(
        initiative, "Reading at grade level", unit="percent", target=60, baseline=40, kind="outcome"
    )
    make_outcome_record(initiative.metrics[0], 40)
    make_outcome_record(reading, 55)
    db.session.commit()
    login(coordinator)
    page = text(client.get(f"/coordinate/initiatives/{initiative.id}"))
    assert "Needs 12 trees a week for 5 more weeks." in page
    assert "Before: 40 percent. Now: 55 percent." in page
    assert "5 percent to go; no deadline set." in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "0"}, "more than zero"),
        ({"target": "-5"}, "more than zero"),
        ({"target": "NaN"}, "Please give a number"),
        ({"target": "1e400"}, "more than zero"),
        ({"target": "lots"}, "Not a valid decimal"),
        ({"name": "x" * 10_000}, "at most 120 characters"),
        ({"sms_keyword": "TREES 12"}, "letters only"),
        ({"baseline": "-1"}, "zero or a positive"),
        ({"kind": "impact"}, "Not a valid choice"),
    ],
)
def test_bad_goal_input_is_a_form_error(
    client, auth, login, db, coordinator, initiative, changes, message
):
    login(coordinator)
    goal = {"name": "Trees planted", "unit": "trees", "kind": "output", "target": "100"}
    goal.update(changes)
    response = auth.post(f"/coordinate/initiatives/{initiative.id}/goals/new", goal)
    assert response.status_code == 400
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeMetric)) == 0


def test_a_goal_with_records_cannot_be_deleted(client, auth, login, db, coordinator, world):
    login(coordinator)
    metric_id = world["metric"].id
    response = auth.post(
        f"/coordinate/goals/{metric_id}/delete",
        CONFIRMED,
        page=f"/coordinate/goals/{metric_id}/edit",
    )
    assert response.status_code == 303
    assert "cannot be deleted" in text(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(OutcomeMetric, metric_id) is not None


def test_editing_a_goal(client, auth, login, db, coordinator, world):
    login(coordinator)
    metric_id = world["metric"].id
    response = auth.post(
        f"/coordinate/goals/{metric_id}/edit",
        {"name": "Trees in the ground", "unit": "trees", "kind": "output", "target": "150"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    metric = db.session.get(OutcomeMetric, metric_id)
    assert (metric.name, int(metric.target)) == ("Trees in the ground", 150)


# ---------------------------------------------------------------------------------------------
# Shifts


def shift_form(day: dt.date, **changes) -> dict:
    data = {
        "starts_on": day.isoformat(),
        "start_time": "09:00",
        "end_time": "12:00",
        "capacity": "10",
        "location_name": "Riverside Park",
        "address": "1 River Rd",
        "latitude": "",
        "longitude": "",
        "neighborhood": "",
        "role": "",
        "description": "",
        "effort": "",
        "team_lead": "",
    }
    data.update(changes)
    return data


def future_saturday() -> dt.date:
    day = utcnow().date() + dt.timedelta(days=14)
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


# Further than 200 weekly shifts, nearer than the end of the date window.
IN_FOUR_YEARS = (future_saturday() + dt.timedelta(weeks=4 * 52)).isoformat()


def test_scheduling_a_weekly_series_through_the_form(
    client, auth, login, db, coordinator, initiative
):
    login(coordinator)
    first = future_saturday()
    url = f"/coordinate/initiatives/{initiative.id}/shifts/new"
    data = shift_form(
        first, repeat_weekdays="5", repeat_until=(first + dt.timedelta(weeks=3)).isoformat()
    )
    response = auth.post(url, data)
    assert response.status_code == 303
    assert "4 shifts scheduled." in text(client.get(response.headers["Location"]))
    shifts = db.session.scalars(sa.select(Shift).order_by(Shift.starts_at)).all()
    assert len(shifts) == 4 and len({s.series_id for s in shifts}) == 1
    assert {local(s.starts_at, "America/New_York").strftime("%a %H:%M") for s in shifts} == {
        "Sat 09:00"
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_time": "08:00"}, "must end after it starts"),
        ({"capacity": "-1"}, "between 0 and 10000"),
        ({"capacity": "1000000000"}, "between 0 and 10000"),
        ({"capacity": "many"}, "Not a valid integer"),
        ({"location_name": "x" * 10_000}, "at most 140 characters"),
        ({"description": "x" * 10_000}, "at most 2000 characters"),
        ({"starts_on": "2026-02-30"}, "Not a valid date"),
        ({"start_time": "25:00"}, "Not a valid time"),
        ({"latitude": "40.7"}, "both latitude and longitude"),
        ({"latitude": "nan", "longitude": "1"}, "Please give a number"),
        ({"latitude": "95", "longitude": "1"}, "Between -90 and 90"),
        ({"neighborhood": "999999"}, "Not a valid choice"),
        ({"team_lead": "999999"}, "Not a valid choice"),
        ({"effort": "extreme"}, "Not a valid choice"),
        ({"repeat_weekdays": "5"}, "Give the last date of the series"),
        ({"repeat_weekdays": "9", "repeat_until": IN_FOUR_YEARS}, "not a valid choice"),
        ({"repeat_weekdays": "5", "repeat_until": IN_FOUR_YEARS}, "at most 200 shifts"),
        ({"starts_on": "2020-01-04"}, "already passed"),
        ({"starts_on": "9999-12-31", "start_time": "23:30", "end_time": "23:59"}, "from 1900"),
        ({"starts_on": "0001-01-01"}, "from 1900"),
        ({"repeat_weekdays": "5", "repeat_until": "9999-12-31"}, "from 1900"),
    ],
)
def test_bad_shift_input_is_a_form_error_and_writes_nothing(
    client, auth, login, db, coordinator, initiative, changes, message
):
    login(coordinator)
    url = f"/coordinate/initiatives/{initiative.id}/shifts/new"
    response = auth.post(url, shift_form(future_saturday(), **changes))
    assert response.status_code in (400, 409)
    assert message.lower() in text(response).lower()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0


def _full_shift(db, initiative, soon, capacity=2, people=3):
    initiative.status = InitiativeStatus.PUBLISHED
    shift = make_shift(initiative, starts_at=soon, capacity=capacity)
    for n in range(people):
        person = make_user(phone=f"+1202555{n:04d}", consent_at=soon - dt.timedelta(days=30))
        signup_for_shift(person, shift, now=soon - dt.timedelta(days=1))
    db.session.commit()
    return shift


def edit_data(shift, **changes) -> dict:
    tz = shift.initiative.timezone
    data = shift_form(
        local(shift.starts_at, tz).date(),
        start_time=local(shift.starts_at, tz).strftime("%H:%M"),
        end_time=local(shift.ends_at, tz).strftime("%H:%M"),
        capacity=str(shift.capacity),
        location_name=shift.location_name,
        address=shift.address,
        scope="this",
    )
    data.update(changes)
    return data


def test_lowering_capacity_below_confirmed_is_refused_on_the_page(
    client, auth, login, db, coordinator, initiative, soon
):
    shift = _full_shift(db, initiative, soon)
    place = shift.location_name
    login(coordinator)
    url = f"/coordinate/shifts/{shift.id}"
    response = auth.post(url, edit_data(shift, capacity="1", location_name="Library"))
    assert response.status_code == 409
    assert "2 people are already confirmed" in text(response)
    assert 'value="Library"' in text(response)  # what was typed is kept
    db.session.expire_all()
    shift = db.session.get(Shift, shift.id)
    assert (shift.capacity, shift.location_name) == (2, place)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )
        == 0
    )


def test_raising_capacity_on_the_page_promotes_and_says_so(
    client, auth, login, db, coordinator, initiative, soon
):
    shift = _full_shift(db, initiative, soon)
    login(coordinator)
    response = auth.post(f"/coordinate/shifts/{shift.id}", edit_data(shift, capacity="3"))
    assert response.status_code == 303
    assert "1 person moved up from the waitlist." in text(client.get(response.headers["Location"]))
    statuses = db.session.scalars(sa.select(Signup.status).order_by(Signup.id)).all()
    assert statuses == [SignupStatus.CONFIRMED] * 3


def test_moving_a_shift_notifies_people_on_it(
    client, auth, login, db, coordinator, initiative, soon
):
    shift = _full_shift(db, initiative, soon)
    login(coordinator)
    start = local(shift.starts_at, initiative.timezone) + dt.timedelta(hours=1)
    end = local(shift.ends_at, initiative.timezone) + dt.timedelta(hours=1)
    if start.date() != end.date():  # the real clock put the shift across midnight
        pytest.skip("shift crosses local midnight")
    moved = edit_data(shift, start_time=start.strftime("%H:%M"), end_time=end.strftime("%H:%M"))
    starts_at = shift.starts_at

    def notices() -> int:
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_changed")
        )

    # The first click asks, saying who will be told, and changes nothing.
    asked = auth.post(f"/coordinate/shifts/{shift.id}", moved)
    assert asked.status_code == 200
    page = text(asked)
    assert "Move this shift and tell everyone on it?" in page
    assert "2 people hold a spot on it." in page and "1 person is on its waitlist." in page
    assert 'name="confirmed" value="yes"' in page
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).starts_at == starts_at and notices() == 0

    response = auth.post(f"/coordinate/shifts/{shift.id}", {**moved, "confirmed": "yes"})
    assert response.status_code == 303
    assert notices() == 3
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).starts_at == starts_at + dt.timedelta(hours=1)


def test_editing_a_shift_without_moving_it_asks_nothing(
    client, auth, login, db, coordinator, initiative, soon
):
    shift = _full_shift(db, initiative, soon)
    login(coordinator)
    response = auth.post(f"/coordinate/shifts/{shift.id}", edit_data(shift, description="Gloves"))
    assert response.status_code == 303


def test_cancel_and_duplicate_through_the_page(
    client, auth, login, db, coordinator, initiative, soon
):
    shift = _full_shift(db, initiative, soon)
    login(coordinator)
    url = f"/coordinate/shifts/{shift.id}"
    new_day = local(shift.starts_at, initiative.timezone).date() + dt.timedelta(days=7)
    response = auth.post(f"{url}/duplicate", {"on_date": new_day.isoformat()}, page=url)
    assert response.status_code == 303
    copy = db.session.scalar(sa.select(Shift).where(Shift.id != shift.id))
    assert response.headers["Location"].endswith(f"/coordinate/shifts/{copy.id}")
    assert copy.code != shift.code and copy.spots_taken == 0
    assert f"Its text code is {copy.code}" in text(client.get(response.headers["Location"]))

    response = auth.post(f"{url}/cancel", CONFIRMED, page=url)
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).status == ShiftStatus.CANCELLED
    page = text(client.get(url))
    assert "Everyone signed up is being told" in page
    assert "This shift was cancelled on" in page
    cancelled_notices = db.session.scalar(
        sa.select(sa.func.count()).select_from(Message).where(Message.kind == "shift_cancelled")
    )
    assert cancelled_notices == 3


def test_duplicate_needs_a_valid_date(client, auth, login, db, coordinator, world):
    login(coordinator)
    url = f"/coordinate/shifts/{world['shift'].id}"
    response = auth.post(f"{url}/duplicate", {"on_date": "soon"}, page=url)
    assert response.status_code == 303
    assert "Not a valid date" in text(client.get(response.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 1


# ---------------------------------------------------------------------------------------------
# The coordinator home


def test_home_shows_what_needs_attention(client, login, db, coordinator, initiative, soon):
    metric = make_metric(initiative)
    empty = make_shift(initiative, starts_at=soon, capacity=10, role="Planters")
    past = make_shift(initiative, starts_at=soon - dt.timedelta(days=10), role="Diggers")
    recorded = make_shift(initiative, starts_at=soon - dt.timedelta(days=11))
    make_outcome_record(metric, 5, shift_id=recorded.id)
    volunteer = make_user()
    make_hours_entry(volunteer, initiative, status="pending")
    make_hours_entry(volunteer, initiative, status="approved")
    db.session.commit()

    login(coordinator)
    response = client.get("/coordinate/")
    page, said = text(response), words(response)
    assert "1 hours entry waiting for approval" in said
    assert "1 shift in the next 7 days is under 50% full" in said
    assert "1 past shift has no outcome recorded" in said
    assert f"/coordinate/shifts/{empty.id}" in page
    assert f"/coordinate/shifts/{past.id}/roster" in page or f"/coordinate/shifts/{past.id}" in page
    assert f"/coordinate/shifts/{recorded.id}/roster" not in page
    assert "0 of 10" in said


def test_home_runs_a_constant_number_of_queries(
    client, login, db, coordinator, initiative, soon, count_queries
):
    make_metric(initiative)
    make_shift(initiative, starts_at=soon)
    make_shift(initiative, starts_at=soon - dt.timedelta(days=5))
    db.session.commit()
    login(coordinator)
    db.session.expire_all()  # the test shares the request's session: start both cold
    with count_queries() as few:
        assert client.get("/coordinate/").status_code == 200

    for n in range(15):
        shift = make_shift(initiative, starts_at=soon + dt.timedelta(hours=n + 1), capacity=5)
        make_shift(initiative, starts_at=soon - dt.timedelta(days=2, hours=n))
        make_hours_entry(make_user(), initiative, status="pending")
        for _ in range(2):
            db.session.add(Signup(shift_id=shift.id, user_id=make_user().id, status="confirmed"))
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        assert client.get("/coordinate/").status_code == 200
    assert len(many) == len(few)
