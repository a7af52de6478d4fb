"""Whatever is posted to a roster route, the answer is a page or a redirect, never a 500, and a
refused post writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_hours_entry,
    make_metric,
    make_outcome_record,
    make_shift,
    make_signup,
    make_user,
)
from tests.roster.test_scoping import coordinator_routes
from volunteer_app.hours.models import HoursStatus
from volunteer_app.impact.models import OutcomeRecord

GARBAGE = [
    {},
    {"find-lookup": "x" * 5000, "new-name": "\x00", "new-phone": "+" * 50},
    {"find-lookup": "a@b", "find-when_full": "explode", "new-when_full": "1"},
    {"entry_ids": ["-1", "1.5", "NaN"], "approve": "1", "reject": "1"},
    {"hours": "1" * 200, "reason": "r" * 5000},
    {"metric_id": "abc", "value": "∞", "period_start_on": "2026-02-30", "period_end_on": "0"},
    {"outcome-metric_1": "1e400", "outcome-metric_999": "3", "mark_abc": "present"},
    {"hours_rounding_minutes": "-15"},
    # NUL characters: PostgreSQL refuses them in text columns.
    {"new-name": "Nul\x00Person", "new-phone": "2025550160", "reason": "x\x00y", "note": "\x00"},
    {"find-lookup": "\x00@example.org", "hours": "1\x00", "value": "3\x00"},
]


@pytest.fixture
def things(db, initiative, clock):
    shift = make_shift(initiative, starts_at=clock - dt.timedelta(hours=4), hours=2, capacity=1)
    person = make_user(phone="+12025550150")
    signup = make_signup(person, shift)
    make_signup(make_user(), shift, "waitlisted")
    entry = make_hours_entry(person, initiative, status=HoursStatus.PENDING)
    record = make_outcome_record(make_metric(initiative))
    return {
        "shift_id": shift.id,
        "signup_id": signup.id,
        "entry_id": entry.id,
        "initiative_id": initiative.id,
        "record_id": record.id,
        "code": shift.code,
    }


@pytest.mark.parametrize("payload", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_never_500s(db, app, client, auth, login, org, things, payload):
    from tests.factories import make_coordinator
    from volunteer_app.accounts.models import Role

    admin = make_coordinator(org)
    admin.role = Role.ADMIN
    login(admin)
    records_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeRecord))
    for method, url, _endpoint in coordinator_routes(app, things):
        if method != "POST":
            continue
        response = auth.post(url, payload, page="/")
        assert response.status_code < 500, (url, payload, response.status_code)
    response = auth.post(f"/checkin/{things['code']}", {"phone": "\x00" * 3, **payload}, page="/")
    assert response.status_code < 500
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeRecord)) == records_before
    )


def test_nul_characters_are_refused_and_nothing_is_stored(
    db, client, auth, login, coordinator, initiative, clock
):
    from volunteer_app.accounts.models import User

    shift = make_shift(initiative, starts_at=clock + dt.timedelta(days=1))
    login(coordinator)
    response = auth.post(
        f"/coordinate/shifts/{shift.id}/roster/walk-in/new",
        {"new-name": "Nul\x00Person", "new-phone": "2025550161"},
        page=f"/coordinate/shifts/{shift.id}/roster",
    )
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User.id).where(User.phone == "+12025550161")) is None
