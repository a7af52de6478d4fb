"""Every coordinator and admin route, walked as people who must not get in.

The walk is built from the app's own URL map, so a route added later is covered without
editing this file; an argument name it does not know fails the test instead of being skipped.
The owner of the data walks the same GET routes and must get in, so a 404 below means
"refused", not "the test built a bad URL".
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import AuthActions, csrf_token
from tests.factories import (
    make_coordinator,
    make_initiative,
    make_metric,
    make_organization,
    make_shift,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core.db import utcnow
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource, VolunteerHourRate
from volunteer_app.shifts import services as shift_services

GUARDED_PREFIXES = (
    "/coordinate",
    "/sms/log",
    "/sms/simulator",
    "/sms/broadcast",
    "/impact/program",
    "/impact/admin",
    "/impact/organizations",
)
# Reached by a link sent to a person; it checks the token, not a role.
NOT_ROLE_GUARDED = {"coordinators.invitation"}


def _admin_only(rule: str) -> bool:
    return "/admin" in rule or rule.startswith(("/sms/simulator", "/impact/program"))


@pytest.fixture
def world(db):
    """Organization A's data, a volunteer, A's coordinator, B's coordinator and an admin."""
    now = utcnow()
    org_a, org_b = make_organization("A"), make_organization("B")
    coordinator_a = make_coordinator(org_a)
    coordinator_b = make_coordinator(org_b)
    admin = make_user(role=Role.ADMIN)
    volunteer = make_user(name="Quentin Privatevolunteer", phone="+12025550188")
    initiative = make_initiative(org_a, title="Orchard of Organization A")
    metric = make_metric(initiative)
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    signup = shift_services.signup_for_shift(volunteer, shift, now=now).signup
    entry = HoursEntry(
        user_id=volunteer.id,
        initiative_id=initiative.id,
        served_on=now.date(),
        minutes=60,
        source=HoursSource.SELF_REPORT,
        status=HoursStatus.PENDING,
    )
    record = OutcomeRecord(
        metric_id=metric.id, value=3, period_start_on=now.date(), source=OutcomeSource.WEB
    )
    rate = VolunteerHourRate(year=2024, region="US", cents=3479)
    db.session.add_all([entry, record, rate])
    db.session.commit()
    return {
        "people": {
            "volunteer": volunteer.email,
            "coordinator_b": coordinator_b.email,
            "coordinator_a": coordinator_a.email,
            "admin": admin.email,
        },
        "args": {
            "org_id": org_a.id,
            "organization_id": org_a.id,
            "user_id": coordinator_a.id,
            "initiative_id": initiative.id,
            "metric_id": metric.id,
            "shift_id": shift.id,
            "signup_id": signup.id,
            "entry_id": entry.id,
            "record_id": record.id,
            "rate_id": rate.id,
            "kind": "shifts",
            "table": "summary",
        },
        # What nobody outside organization A may read on any page.
        "secrets": ["Orchard of Organization A", "Quentin", volunteer.email, "555-0188"],
    }


def _guarded_routes(app, args):
    routes = []  # (method, url, rule, names an object of organization A)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(GUARDED_PREFIXES) or rule.endpoint in NOT_ROLE_GUARDED:
            continue
        unknown = set(rule.arguments) - set(args)
        assert not unknown, f"{rule.rule}: teach this test the argument(s) {unknown}"
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{k: args[k] for k in rule.arguments})
        for method in sorted(rule.methods & {"GET", "POST"}):
            routes.append((method, url, rule.rule, bool(rule.arguments)))
    assert len(routes) > 40, "the URL map lost its coordinator routes"
    return routes


def _walk(app, client, email, routes):
    AuthActions(client).login(email)
    token = csrf_token(client, "/")
    answers = {}
    for method, url, rule, _names_object in routes:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token})
        answers[(method, url)] = (response.status_code, response.get_data(as_text=True), rule)
    return answers


def test_volunteers_are_refused_everywhere(app, world):
    routes = _guarded_routes(app, world["args"])
    answers = _walk(app, app.test_client(), world["people"]["volunteer"], routes)

    let_in = {key: code for key, (code, _, _) in answers.items() if code not in (403, 404)}
    assert let_in == {}


def test_another_organizations_coordinator_sees_nothing_of_it(app, world):
    """Pages about one of A's objects refuse; B's own lists open but show nothing of A."""
    routes = _guarded_routes(app, world["args"])
    answers = _walk(app, app.test_client(), world["people"]["coordinator_b"], routes)
    names_object = {(method, url): named for method, url, _, named in routes}

    let_in = {
        key: code
        for key, (code, _, _) in answers.items()
        if names_object[key] and code not in (403, 404)
    }
    leaks = {
        key: secret
        for key, (_, body, _) in answers.items()
        for secret in world["secrets"]
        if secret in body
    }
    assert let_in == {}
    assert leaks == {}
    assert any(code == 200 for code, _, _ in answers.values()), "B's own pages should open"


def test_the_owner_gets_in_on_every_page(app, world):
    """The same URLs are real: A's coordinator opens the coordinator pages, the admin the
    admin pages."""
    routes = [r for r in _guarded_routes(app, world["args"]) if r[0] == "GET"]
    coordinator_routes = [r for r in routes if not _admin_only(r[2])]
    admin_routes = [r for r in routes if _admin_only(r[2])]

    answers = _walk(app, app.test_client(), world["people"]["coordinator_a"], coordinator_routes)
    answers |= _walk(app, app.test_client(), world["people"]["admin"], admin_routes)

    refused = {key: code for key, (code, _, _) in answers.items() if code >= 400}
    assert refused == {}
    # The secrets B must never see are really on A's pages (the leak check above is live).
    pages = " ".join(body for _, body, _ in answers.values())
    assert all(secret in pages for secret in world["secrets"])
