"""Every form that creates rows is saved once, however often it is sent (core/submissions.py):
two posts of the same form at the same instant (real threads, each its own connection) and
the same two one after the other both store one row and get the first result's page; a form
shown again is a new submission. Through real HTTP with real tokens, on every backend."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token, form_fields
from tests.factories import (
    PASSWORD,
    make_coordinator,
    make_initiative,
    make_metric,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Organization, Role, User
from volunteer_app.core.db import utcnow
from volunteer_app.core.submissions import SubmissionToken
from volunteer_app.hours.models import HoursEntry
from volunteer_app.impact.models import OutcomeRecord, VolunteerHourRate
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.matching.models import Invitation
from volunteer_app.shifts.models import Shift, Signup


@dataclass
class Case:
    """Who sends which form, read from which page, and how many rows of its kind exist."""

    email: str | None
    page: str
    url: str
    data: dict
    rows: Callable[[], int]


def count(db, model, *where) -> Callable[[], int]:
    def rows() -> int:
        db.session.expire_all()
        found = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.commit()  # the test holds no transaction (on SQLite, no lock) while posting
        return found

    return rows


@pytest.fixture
def world(db):
    now = utcnow().replace(microsecond=0)
    org = make_organization("Parks Department")
    coordinator = make_coordinator(org, "coord@example.org")
    admin = make_user("admin@example.org", role=Role.ADMIN)
    volunteer = make_user("vol@example.org", phone="+12025550111", consent_at=now)
    initiative = make_initiative(org, title="Tree Crew")
    metric = make_metric(initiative, "Trees planted", unit="trees")
    upcoming = make_shift(initiative, starts_at=now + dt.timedelta(days=3))
    ended = make_shift(initiative, starts_at=now - dt.timedelta(hours=5), hours=3)
    make_signup(volunteer, ended, status="attended")
    db.session.commit()
    return {
        "now": now,
        "coordinator": coordinator,
        "volunteer": volunteer,
        "initiative": initiative,
        "metric": metric,
        "upcoming": upcoming,
        "ended": ended,
        "admin": admin,
    }


def _day(world, days: int) -> str:
    return (world["now"] + dt.timedelta(days=days)).date().isoformat()


def hours_report(db, world) -> Case:
    return Case(
        "vol@example.org",
        "/me/hours/report",
        "/me/hours/report",
        {
            "initiative_id": str(world["initiative"].id),
            "served_on": _day(world, -2),
            "hours": "2.5",
            "note": "Weeding",
        },
        count(db, HoursEntry),
    )


def new_shift(db, world) -> Case:
    url = f"/coordinate/initiatives/{world['initiative'].id}/shifts/new"
    data = {
        "starts_on": _day(world, 10),
        "start_time": "09:00",
        "end_time": "12:00",
        "capacity": "10",
        "location_name": "Riverside Park",
        "address": "1 River Rd",
        **dict.fromkeys(
            ("latitude", "longitude", "neighborhood", "role", "description", "effort"), ""
        ),
        "team_lead": "",
    }
    return Case("coord@example.org", url, url, data, count(db, Shift))


def new_goal(db, world) -> Case:
    url = f"/coordinate/initiatives/{world['initiative'].id}/goals/new"
    data = {"name": "Blocks cleaned", "unit": "blocks", "kind": "output", "target": "40"}
    return Case("coord@example.org", url, url, data, count(db, OutcomeMetric))


def walk_in(db, world) -> Case:
    make_user("known@example.org")
    db.session.commit()
    page = f"/coordinate/shifts/{world['upcoming'].id}/roster"
    return Case(
        "coord@example.org",
        page,
        f"{page}/walk-in",
        {"find-lookup": "known@example.org"},
        count(db, Signup, Signup.shift_id == world["upcoming"].id),
    )


def new_walk_in(db, world) -> Case:
    page = f"/coordinate/shifts/{world['upcoming'].id}/roster"
    return Case(
        "coord@example.org",
        page,
        f"{page}/walk-in/new",
        {"new-name": "Walk In", "new-phone": "202-555-0199"},
        count(db, Signup, Signup.shift_id == world["upcoming"].id),
    )


def new_rate(db, world) -> Case:
    return Case(
        "admin@example.org",
        "/impact/admin/rates",
        "/impact/admin/rates",
        {"year": "2024", "region": "NY", "dollars": "41.20", "source": "IS state figure"},
        count(db, VolunteerHourRate),
    )


def shift_outcomes(db, world) -> Case:
    ended = world["ended"]
    return Case(
        "coord@example.org",
        f"/coordinate/shifts/{ended.id}/roster",
        f"/coordinate/shifts/{ended.id}/outcomes",
        {f"outcome-metric_{world['metric'].id}": "12"},
        count(db, OutcomeRecord),
    )


def partner_report(db, world) -> Case:
    url = f"/coordinate/initiatives/{world['initiative'].id}/outcomes"
    data = {
        "metric_id": str(world["metric"].id),
        "value": "30",
        "period_start_on": _day(world, -30),
        "period_end_on": _day(world, -1),
        "note": "Monthly count",
    }
    return Case("coord@example.org", url, url, data, count(db, OutcomeRecord))


def duplicate_shift(db, world) -> Case:
    page = f"/coordinate/shifts/{world['upcoming'].id}"
    return Case(
        "coord@example.org",
        page,
        f"{page}/duplicate",
        {"on_date": _day(world, 17)},
        count(db, Shift),
    )


def new_initiative(db, world) -> Case:
    org_id = world["coordinator"].organization_ids.pop()
    data = {
        "organization": str(org_id),
        "cause": str(world["initiative"].cause_id),
        "title": "Storm drains",
        "summary": "Keep the drains clear before the storms.",
        "timezone": "America/New_York",
        "minimum_age": "0",
    }
    url = "/coordinate/initiatives/new"
    return Case("coord@example.org", url, url, data, count(db, Initiative))


def new_organization(db, world) -> Case:
    url = "/coordinate/admin/organizations/new"
    data = {"name": "Friends of the Park", "slug": "", "kind": "nonprofit", "website": ""}
    return Case("admin@example.org", url, url, data, count(db, Organization))


def invite(db, world) -> Case:
    shift = world["upcoming"]
    world["initiative"].status = InitiativeStatus.PUBLISHED
    db.session.commit()
    page = f"/coordinate/shifts/{shift.id}/candidates"
    return Case(
        "coord@example.org",
        page,
        f"/coordinate/shifts/{shift.id}/invite",
        {"people": [str(world["volunteer"].id)], "confirmed": "yes"},
        count(db, Invitation),
    )


def register(db, world) -> Case:
    data = {
        "name": "Ana Lopez",
        "email": "ana@example.org",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
    }
    return Case(None, "/register", "/register", data, count(db, User))


CASES = [
    hours_report,
    new_shift,
    new_goal,
    walk_in,
    new_walk_in,
    new_rate,
    shift_outcomes,
    partner_report,
    duplicate_shift,
    new_initiative,
    new_organization,
    invite,
    register,
]


def browser(app, email: str | None):
    client = app.test_client()
    if email is not None:
        response = client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
        )
        assert response.status_code == 302, email
    return client


def same_browser(app, client):
    """A second connection from the same browser: the same cookies, sent at the same time."""
    twin = app.test_client()
    twin.set_cookie("session", client.get_cookie("session").value)
    return twin


def prepare(app, db, world, make_case) -> tuple[Case, object, dict]:
    case = make_case(db, world)
    client = browser(app, case.email)
    fields = form_fields(client, case.page)
    assert any(name.endswith("submission_token") for name in fields), case.page
    before = case.rows()
    return case, client, {**fields, **case.data}, before


def answered_as_a_redirect(response) -> str:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:800]
    return response.headers["Location"]


@pytest.mark.parametrize("make_case", CASES, ids=lambda case: case.__name__)
def test_the_same_form_sent_twice_in_a_row_is_saved_once(app, db, world, make_case):
    case, client, data, before = prepare(app, db, world, make_case)
    # The repeat comes from the browser as it was when it showed the form (a double click,
    # a retry after a slow answer): the first answer's cookies may never have reached it.
    retry = same_browser(app, client)
    first = answered_as_a_redirect(client.post(case.url, data=data))
    assert case.rows() == before + 1

    repeat = retry.post(case.url, data=data)
    assert answered_as_a_redirect(repeat) == first
    assert case.rows() == before + 1
    page = retry.get(first, follow_redirects=True).get_data(as_text=True)
    assert "That form was sent twice; it is saved once." in page


@pytest.mark.parametrize("make_case", CASES, ids=lambda case: case.__name__)
def test_the_same_form_sent_twice_at_once_is_saved_once(app, db, world, make_case):
    case, client, data, before = prepare(app, db, world, make_case)
    clients = [client, same_browser(app, client)]
    barrier = threading.Barrier(2)
    responses: list = [None, None]
    errors: list[BaseException] = []

    def send(i: int) -> None:
        barrier.wait()
        try:
            responses[i] = clients[i].post(case.url, data=data)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    locations = [answered_as_a_redirect(response) for response in responses]
    assert locations[0] == locations[1]
    assert case.rows() == before + 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SubmissionToken)) == 1


def test_a_form_shown_again_is_a_new_submission(app, db, world):
    case, client, data, before = prepare(app, db, world, hours_report)
    answered_as_a_redirect(client.post(case.url, data=data))
    again = {**form_fields(client, case.page), **case.data}
    assert again["submission_token"] != data["submission_token"]
    answered_as_a_redirect(client.post(case.url, data=again))
    assert case.rows() == before + 2


def test_a_refused_first_try_can_be_sent_again(app, db, world):
    case, client, data, before = prepare(app, db, world, hours_report)
    refused = client.post(case.url, data={**data, "served_on": _day(world, 2)})  # the future
    assert refused.status_code == 400 and case.rows() == before
    answered_as_a_redirect(client.post(case.url, data=data))
    assert case.rows() == before + 1


@pytest.mark.parametrize("token", [None, "", "short", "x" * 65, "<script>" * 6])
def test_a_form_without_a_good_token_is_refused_with_a_message(app, db, world, token):
    case, client, data, before = prepare(app, db, world, hours_report)
    if token is None:
        del data["submission_token"]
    else:
        data["submission_token"] = token
    response = client.post(case.url, data=data, headers={"Referer": "http://localhost/x"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/x")
    assert "This form is out of date." in client.get("/").get_data(as_text=True)
    refused = client.post(case.url, data=data)  # no page to go back to: the message alone
    assert refused.status_code == 400
    assert "This form is out of date." in refused.get_data(as_text=True)
    assert case.rows() == before
