"""Every coordinator route of the roster blueprint, walked as the wrong people: volunteers get
403, another organization's coordinators get 404, anonymous visitors are sent to log in."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_coordinator,
    make_hours_entry,
    make_metric,
    make_organization,
    make_outcome_record,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.hours.models import HoursAudit, HoursStatus
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.shifts.models import Signup


@pytest.fixture
def things(db, initiative, clock):
    """One of everything a coordinator route can name, all in the coordinator's organization."""
    shift = make_shift(initiative, starts_at=clock - dt.timedelta(hours=4), hours=2)
    person = make_user()
    signup = make_signup(person, shift, "waitlisted")
    entry = make_hours_entry(person, initiative, status=HoursStatus.PENDING)
    record = make_outcome_record(make_metric(initiative))
    return {
        "shift_id": shift.id,
        "signup_id": signup.id,
        "entry_id": entry.id,
        "initiative_id": initiative.id,
        "record_id": record.id,
    }


def coordinator_routes(app, things):
    """(method, url) for every roster route under /coordinate, ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("roster.") or not rule.rule.startswith("/coordinate"):
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(things[name]))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, rule.endpoint))
    assert len(routes) >= 18
    return routes


def request(client, auth, method, url, things):
    if method == "GET":
        return client.get(url)
    # A form that would act if the guard let it through (the queue gets the org's own entry).
    data = {"entry_ids": [str(things["entry_id"])], "approve": "1", "reason": "x", "hours": "1"}
    return auth.post(url, {**data, "save": "1"}, page="/")


def nothing_changed(db, things) -> None:
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursAudit)) == 0
    assert db.session.get(Signup, things["signup_id"]).waitlist_position == 1
    assert db.session.get(OutcomeRecord, things["record_id"]).voided_at is None


def test_volunteers_get_403_everywhere(db, app, client, auth, login, things):
    login(make_user())
    for method, url, endpoint in coordinator_routes(app, things):
        assert request(client, auth, method, url, things).status_code == 403, (
            method,
            url,
            endpoint,
        )
    nothing_changed(db, things)


def test_other_organizations_coordinators_get_404(db, app, client, auth, login, things):
    login(make_coordinator(make_organization()))
    for method, url, endpoint in coordinator_routes(app, things):
        expected = {403} if endpoint == "roster.settings" else {404}
        if endpoint == "roster.hours_queue":
            # The queue has no id in its URL: it answers, listing nothing of theirs.
            expected = {200, 303}
        response = request(client, auth, method, url, things)
        assert response.status_code in expected, (method, url, endpoint, response.status_code)
    nothing_changed(db, things)


def test_anonymous_visitors_are_sent_to_log_in(db, app, client, things):
    db.session.commit()
    for method, url, endpoint in coordinator_routes(app, things):
        if method != "GET":
            continue
        response = client.get(url)
        assert response.status_code == 302, (url, endpoint)
        assert "/login" in response.headers["Location"]


def test_my_hours_pages_need_a_login(db, client):
    for url in ("/me/hours", "/me/hours/report"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_own_coordinator_reaches_every_get_page(db, app, client, login, coordinator, things):
    login(coordinator)
    for method, url, endpoint in coordinator_routes(app, things):
        if method == "GET" and endpoint != "roster.settings":
            assert client.get(url).status_code == 200, (url, endpoint)
