"""The bounds of core/bounds.py, held at the edge for every route: ids past the id columns
(32 bits on PostgreSQL) are "no such thing", far dates a form error, control characters a
400, time zones real places."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil

import pytest
import sqlalchemy as sa
import wtforms
from flask_wtf import FlaskForm

from tests.conftest import AuthActions
from tests.factories import (
    make_coordinator,
    make_hours_entry,
    make_initiative,
    make_metric,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core import bounds
from volunteer_app.core.db import utcnow
from volunteer_app.hours.models import HoursStatus
from volunteer_app.impact.models import VolunteerHourRate
from volunteer_app.initiatives.models import Initiative, OutcomeMetric
from volunteer_app.shifts.models import Shift

HUGE = 2**63
SHIFT_FIELDS = {"start_time": "23:30", "end_time": "23:59", "capacity": "5", "effort": ""}
NEXT_YEAR = utcnow().year + 1


@pytest.fixture
def world(db):
    now = utcnow()
    org = make_organization("Parks")
    coordinator = make_coordinator(org)
    admin = make_user(role=Role.ADMIN)
    volunteer = make_user()
    initiative = make_initiative(org, slug="clean-parks")
    metric = make_metric(initiative)
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=3))
    past = make_shift(initiative, starts_at=now - dt.timedelta(days=2))
    make_signup(volunteer, shift)
    entry = make_hours_entry(volunteer, initiative, status=HoursStatus.PENDING, shift_id=past.id)
    db.session.add(VolunteerHourRate(year=2024, region="US", cents=3479))
    db.session.commit()
    return {
        "coordinator": coordinator.email,
        "admin": admin.email,
        "volunteer": volunteer.email,
        "initiative": initiative,
        "metric": metric,
        "shift": shift,
        "entry": entry,
    }


def logged_in(app, email: str) -> AuthActions:
    client = app.test_client()
    actions = AuthActions(client)
    assert actions.login(email).status_code in (302, 303)
    actions.client = client
    return actions


@pytest.mark.parametrize(
    "number", [str(2**31), str(HUGE), "1" + "0" * 30, "9" * 5000, "-1"], ids=len
)
def test_an_id_too_large_or_negative_in_any_address_is_not_found(app, world, number):
    as_admin = logged_in(app, world["admin"])
    client = as_admin.client
    gets = [
        f"/shifts/{number}",
        f"/shifts/{number}.ics",
        f"/signups/{number}/cancel",
        f"/coordinate/shifts/{number}",
        f"/coordinate/initiatives/{number}",
        f"/coordinate/hours/{number}/edit",
        f"/impact/admin/rates/{number}/edit",
        f"/coordinate/admin/organizations/{number}",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in (f"/shifts/{number}/signup", f"/signups/{number}/cancel"):
        assert as_admin.post(url, page="/").status_code == 404, url


@pytest.mark.parametrize("number", [str(2**31), str(HUGE), str(10**30), "0", "-5"])
def test_ids_too_large_in_forms_are_refused_not_500(app, world, number):
    coordinator = logged_in(app, world["coordinator"])
    response = coordinator.post(
        "/coordinate/hours", {"entry_ids": [str(world["entry"].id), number], "approve": "1"}
    )
    assert response.status_code < 500
    shift_id = world["shift"].id
    response = coordinator.post(
        f"/coordinate/shifts/{shift_id}/invite",
        {"people": [number]},
        page=f"/coordinate/shifts/{shift_id}/candidates",
    )
    assert response.status_code < 500


@pytest.mark.parametrize(
    "day", ["9999-12-31", "0001-01-01", "1899-12-31", f"{NEXT_YEAR + 10}-01-01"]
)
def test_a_date_outside_the_window_is_a_clear_form_error_and_stores_nothing(app, db, world, day):
    coordinator = logged_in(app, world["coordinator"])
    initiative_id, shift_id = world["initiative"].id, world["shift"].id
    message = f"Please give a date from 1900 to {utcnow().year + bounds.YEARS_AHEAD}."

    def refused(response) -> None:
        assert response.status_code < 500
        assert message in response.get_data(as_text=True)

    new_shift = f"/coordinate/initiatives/{initiative_id}/shifts/new"
    shift_fields = SHIFT_FIELDS
    refused(coordinator.post(new_shift, {"starts_on": day, **shift_fields}))
    series = {"starts_on": f"{NEXT_YEAR}-03-07", "repeat_weekdays": "5", "repeat_until": day}
    refused(coordinator.post(new_shift, {**shift_fields, **series}))
    refused(
        coordinator.post(
            f"/coordinate/shifts/{shift_id}/duplicate",
            {"on_date": day},
            page=f"/coordinate/shifts/{shift_id}",
            follow_redirects=True,
        )
    )
    goal = {"name": "Bags", "unit": "bags", "kind": "output", "target": "5", "deadline_on": day}
    refused(coordinator.post(f"/coordinate/initiatives/{initiative_id}/goals/new", goal))
    # Query-string filters: the SMS log and the shifts export.
    refused(coordinator.client.get(f"/sms/log?date_to={day}"))
    refused(
        coordinator.client.get(
            f"/coordinate/initiatives/{initiative_id}/export/shifts.csv?to={day}",
            follow_redirects=True,
        )
    )
    refused(coordinator.client.get(f"/initiatives?to={day}"))
    refused(coordinator.client.get(f"/impact/initiatives/clean-parks?from={day}"))
    # The simulator's "act as if it is", a local date and time.
    admin = logged_in(app, world["admin"])
    refused(
        admin.post(
            "/sms/simulator", {"phone": "2025550123", "body": "OUT", "sent_at": f"{day}T23:59"}
        )
    )

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeMetric)) == 1


def test_the_last_day_of_the_window_is_taken(app, db, world):
    coordinator = logged_in(app, world["coordinator"])
    last = bounds.date_window(utcnow().date())[1]
    response = coordinator.post(
        f"/coordinate/initiatives/{world['initiative'].id}/shifts/new",
        {"starts_on": last.isoformat(), **SHIFT_FIELDS},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 3


@pytest.mark.parametrize(
    "url",
    [
        "/initiatives?q=a%00b",
        "/initiatives?a%00=b",
        "/initiatives?q=a%0Ab",
        "/initiatives/x%00y",
        "/impact/initiatives/x%00y",
        "/shifts/1%00",
        "/login?next=/%1b[31m",
        "/initiatives?q=%C2%85",  # NEL, a control character of Latin-1
    ],
)
def test_a_control_character_in_an_address_is_a_clear_400(client, db, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)


def test_a_method_an_address_does_not_take_is_a_405_that_names_those_it_does(client, db):
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.headers["Allow"] == "OPTIONS, POST"
    assert client.open("/initiatives", method="TRACE").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_a_control_character_in_a_form_is_a_400_and_stores_nothing(app, db, world):
    coordinator = logged_in(app, world["coordinator"])
    initiative_id = world["initiative"].id
    fields = {"name": "Bags", "unit": "bags", "kind": "output", "target": "5"}
    url = f"/coordinate/initiatives/{initiative_id}/goals/new"
    for bad in ({"name": "Ba\x00gs"}, {"unit": "\x1b[2J"}, {"n\x00ame": "x"}):
        response = coordinator.post(url, {**fields, **bad})
        assert response.status_code == 400
        assert "control characters" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeMetric)) == 1
    # Tabs and line breaks are text: a story keeps its paragraphs.
    response = coordinator.post(url, {**fields, "name": "Bags\tof litter"})
    assert response.status_code == 303


@pytest.mark.parametrize(
    ("zone", "taken"),
    [
        ("localtime", False),
        ("Factory", False),
        ("posixrules", False),
        ("Etc/GMT+5", False),
        ("US/Eastern", False),
        ("Mars/Olympus", False),
        ("America/Detroit", True),
        ("America/Argentina/Buenos_Aires", True),
        ("UTC", True),
    ],
)
def test_initiatives_run_only_on_the_time_zone_of_a_place(app, db, world, zone, taken):
    coordinator = logged_in(app, world["coordinator"])
    initiative = world["initiative"]
    response = coordinator.post(
        f"/coordinate/initiatives/{initiative.id}/edit",
        {
            "organization": str(initiative.organization_id),
            "cause": str(initiative.cause_id),
            "title": initiative.title,
            "summary": initiative.summary,
            "timezone": "other",
            "timezone_other": zone,
            "minimum_age": "0",
        },
    )
    assert response.status_code < 500
    stored = db.session.scalar(sa.select(Initiative.timezone).filter_by(id=initiative.id))
    assert (stored == zone) is taken, response.get_data(as_text=True)[:300]


def _form_classes() -> list[type]:
    import volunteer_app

    seen, stack = [], [FlaskForm]
    # Every package's forms module, wherever a move has put it.
    for found in pkgutil.walk_packages(volunteer_app.__path__, "volunteer_app."):
        if found.name.endswith(".forms"):
            importlib.import_module(found.name)
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith(volunteer_app.__name__):
                seen.append(sub)
    return seen


def test_every_date_field_of_every_form_is_bounded():
    """A form added with wtforms' own DateField fails here instead of taking year 9999."""
    unbounded, bounded = [], 0
    for form in _form_classes():
        for name, unbound in inspect.getmembers(form, lambda m: hasattr(m, "field_class")):
            field_class = unbound.field_class
            if issubclass(field_class, (wtforms.DateField, wtforms.DateTimeLocalField)):
                if issubclass(field_class, (bounds.DateField, bounds.DateTimeLocalField)):
                    bounded += 1
                else:
                    unbounded.append(f"{form.__module__}.{form.__name__}.{name}")
    assert unbounded == []
    assert bounded >= 15
