"""Outcome values: per shift on the roster once it has ended, partner reports, voiding."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED
from tests.factories import (
    make_initiative,
    make_metric,
    make_organization,
    make_outcome_record,
    make_shift,
)
from volunteer_app.core.db import utcnow
from volunteer_app.core.time import local
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource

NEXT_YEAR = f"{utcnow().year + 1}-06-01"


@pytest.fixture
def trees(db, initiative):
    return make_metric(initiative, "Trees planted", unit="trees")


@pytest.fixture
def litter(db, initiative):
    return make_metric(initiative, "Litter collected", unit="lb")


@pytest.fixture
def ended(db, initiative, clock):
    return make_shift(initiative, starts_at=clock - dt.timedelta(hours=5), hours=3)


def roster(shift) -> str:
    return f"/coordinate/shifts/{shift.id}/roster"


def records(db):
    return db.session.scalars(sa.select(OutcomeRecord).order_by(OutcomeRecord.id)).all()


def test_roster_asks_for_outcomes_only_after_the_shift(
    db, client, login, coordinator, initiative, trees, ended, clock
):
    upcoming = make_shift(initiative, starts_at=clock + dt.timedelta(days=1))
    login(coordinator)
    assert "What did this shift achieve?" not in client.get(roster(upcoming)).get_data(as_text=True)
    page = client.get(roster(ended)).get_data(as_text=True)
    assert "What did this shift achieve?" in page and "Trees planted (trees)" in page


def test_values_per_shift_are_recorded_and_corrections_void_the_old_one(
    db, client, auth, login, coordinator, trees, litter, ended
):
    login(coordinator)
    url = f"/coordinate/shifts/{ended.id}/outcomes"
    form = {f"outcome-metric_{trees.id}": "12", f"outcome-metric_{litter.id}": ""}

    assert auth.post(url, form, page=roster(ended)).status_code == 303

    (record,) = records(db)
    assert (record.metric_id, record.value, record.shift_id) == (
        trees.id,
        decimal.Decimal("12.00"),
        ended.id,
    )
    assert record.source == OutcomeSource.WEB and record.recorded_by_id == coordinator.id
    assert record.period_start_on == local(ended.starts_at, ended.initiative.timezone).date()

    # The same value again changes nothing; a new one replaces it, keeping the old row.
    auth.post(url, form, page=roster(ended))
    assert len(records(db)) == 1
    auth.post(url, {f"outcome-metric_{trees.id}": "14"}, page=roster(ended))
    db.session.expire_all()
    old, new = records(db)
    assert old.voided_at is not None and old.void_reason and old.voided_by_id == coordinator.id
    assert new.value == 14 and new.voided_at is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("twelve", "Please give a number"),
        ("-3", "cannot be negative"),
        ("1e20", "too large"),
        ("NaN", "Please give a number"),
        ("9" * 40, "Field cannot be longer"),
    ],
)
def test_bad_values_get_clear_messages_and_no_row(
    db, client, auth, login, coordinator, trees, litter, ended, raw, message
):
    login(coordinator)
    response = auth.post(
        f"/coordinate/shifts/{ended.id}/outcomes",
        {f"outcome-metric_{trees.id}": "5", f"outcome-metric_{litter.id}": raw},
        page=roster(ended),
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert records(db) == [], "no half-written rows"


def test_values_for_a_future_shift_are_refused(
    db, client, auth, login, coordinator, initiative, trees, clock
):
    upcoming = make_shift(initiative, starts_at=clock + dt.timedelta(days=1))
    login(coordinator)
    auth.post(
        f"/coordinate/shifts/{upcoming.id}/outcomes",
        {f"outcome-metric_{trees.id}": "5"},
        page=roster(upcoming),
    )
    assert records(db) == []


def test_another_initiatives_metric_cannot_be_recorded_on_this_shift(
    db, client, auth, login, coordinator, org, trees, ended
):
    other_metric = make_metric(make_initiative(org), "Other")
    login(coordinator)
    auth.post(
        f"/coordinate/shifts/{ended.id}/outcomes",
        {f"outcome-metric_{other_metric.id}": "5"},
        page=roster(ended),
    )
    assert records(db) == []


def outcomes_url(initiative) -> str:
    return f"/coordinate/initiatives/{initiative.id}/outcomes"


def test_partner_report_for_a_date_range(
    db, client, auth, login, coordinator, initiative, trees, clock
):
    login(coordinator)
    start, end = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    response = auth.post(
        outcomes_url(initiative),
        {
            "metric_id": str(trees.id),
            "value": "1,250",
            "period_start_on": start.isoformat(),
            "period_end_on": end.isoformat(),
            "note": "Parks department count",
        },
    )
    assert response.status_code == 303
    (record,) = records(db)
    assert record.value == 1250 and record.source == OutcomeSource.PARTNER_REPORT
    assert (record.period_start_on, record.period_end_on) == (start, end)
    assert record.shift_id is None and record.note == "Parks department count"
    page = client.get(outcomes_url(initiative)).get_data(as_text=True)
    assert "Parks department count" in page and "1,250" in page


@pytest.mark.parametrize(
    ("start", "end", "value", "message"),
    [
        ("2026-02-01", "2026-01-01", "3", "end on or after its start"),
        ("2026-01-01", NEXT_YEAR, "3", "cannot end in the future"),
        ("2026-01-01", "2999-01-01", "3", "Please give a date from 1900"),
        ("0001-01-01", "2026-01-01", "3", "Please give a date from 1900"),
        ("2026-01-01", "not a date", "3", "Not a valid date"),
        ("2026-01-01", "2026-01-02", "-1", "cannot be negative"),
        ("2026-01-01", "2026-01-02", "", "This field is required"),
    ],
)
def test_partner_report_bad_input(
    db, client, auth, login, coordinator, initiative, trees, start, end, value, message
):
    login(coordinator)
    response = auth.post(
        outcomes_url(initiative),
        {
            "metric_id": str(trees.id),
            "value": value,
            "period_start_on": start,
            "period_end_on": end,
        },
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert records(db) == []


def test_partner_report_for_another_initiatives_metric_is_refused(
    db, client, auth, login, coordinator, org, initiative, trees
):
    foreign = make_metric(make_initiative(org), "Foreign")
    login(coordinator)
    response = auth.post(
        outcomes_url(initiative),
        {
            "metric_id": str(foreign.id),
            "value": "3",
            "period_start_on": "2026-01-01",
            "period_end_on": "2026-01-02",
        },
    )
    assert response.status_code == 400
    assert records(db) == []


def test_void_needs_a_reason_and_keeps_the_row(
    db, client, auth, login, coordinator, initiative, trees
):
    record = make_outcome_record(trees, 7)
    login(coordinator)
    url = f"/coordinate/outcomes/{record.id}/void"

    auth.post(url, {"reason": " ", **CONFIRMED}, page=outcomes_url(initiative))
    db.session.expire_all()
    assert db.session.get(OutcomeRecord, record.id).voided_at is None

    assert (
        auth.post(
            url, {"reason": "Double count", **CONFIRMED}, page=outcomes_url(initiative)
        ).status_code
        == 303
    )
    db.session.expire_all()
    kept = db.session.get(OutcomeRecord, record.id)
    assert kept is not None and kept.voided_at is not None
    assert kept.void_reason == "Double count" and kept.voided_by_id == coordinator.id
    page = client.get(outcomes_url(initiative)).get_data(as_text=True)
    assert "<del>" in page and "Double count" in page


def test_voiding_another_organizations_record_is_404(
    db, client, auth, login, coordinator, initiative
):
    foreign = make_outcome_record(make_metric(make_initiative(make_organization()), "X"), 3)
    login(coordinator)
    response = auth.post(
        f"/coordinate/outcomes/{foreign.id}/void",
        {"reason": "mine now"},
        page=outcomes_url(initiative),
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(OutcomeRecord, foreign.id).voided_at is None
