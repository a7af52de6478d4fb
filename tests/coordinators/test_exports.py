"""CSV exports of an initiative's shifts, signups, hours and outcomes."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.factories import (
    make_hours_entry,
    make_initiative,
    make_metric,
    make_outcome_record,
    make_shift,
    make_user,
)
from volunteer_app.coordinators import services
from volunteer_app.core.time import local
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts.models import Signup, SignupStatus

BOM = "\ufeff".encode()


def rows_of(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def exported(db, initiative, soon):
    """A shift with an awkward place name, a volunteer whose name looks like a formula, their
    hours and an outcome; all on the shift's local date, plus a shift a month later."""
    initiative.status = InitiativeStatus.PUBLISHED
    metric = make_metric(initiative, "Árboles plantados", unit="árboles")
    shift = make_shift(
        initiative, starts_at=soon, capacity=3, location_name='=HYPERLINK("http://x")'
    )
    later = make_shift(initiative, starts_at=soon + dt.timedelta(days=30), location_name="Later")
    person = make_user("ana@example.org", name="+Ana Peña", phone="+12025550123")
    db.session.add(Signup(shift_id=shift.id, user_id=person.id, status=SignupStatus.CONFIRMED))
    shift.spots_taken = 1
    day = local(soon, initiative.timezone).date()
    make_hours_entry(person, initiative, minutes=90, served_on=day, note="@note", shift_id=shift.id)
    make_outcome_record(metric, 12, period_start_on=day, shift_id=shift.id, note="-1+1")
    db.session.commit()
    return {"shift": shift, "later": later, "person": person, "metric": metric}


def test_shifts_export_opens_cleanly(client, login, coordinator, initiative, exported):
    login(coordinator)
    response = client.get(f"/coordinate/initiatives/{initiative.id}/export/shifts.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"{initiative.slug}-shifts.csv" in disposition
    header, *rows = rows_of(response)
    assert "Start (America/New_York)" in header
    assert [r[0] for r in rows] == [exported["shift"].code, exported["later"].code]
    place = header.index("Place")
    assert rows[0][place] == '\'=HYPERLINK("http://x")'
    assert rows[0][header.index("Confirmed")] == "1"


def test_signups_export_names_people_safely(client, login, coordinator, initiative, exported):
    login(coordinator)
    response = client.get(f"/coordinate/initiatives/{initiative.id}/export/signups.csv")
    header, *rows = rows_of(response)
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["Name"] == "'+Ana Peña"
    assert row["Email"] == "ana@example.org"
    assert row["Phone"] == "'+12025550123"
    assert row["Status"] == "confirmed"


def test_hours_and_outcomes_exports(client, login, coordinator, initiative, exported):
    login(coordinator)
    hours_header, hours_row = rows_of(
        client.get(f"/coordinate/initiatives/{initiative.id}/export/hours.csv")
    )
    hours = dict(zip(hours_header, hours_row, strict=True))
    assert (hours["Minutes"], hours["Hours"], hours["Note"]) == ("90", "1.5", "'@note")
    assert hours["Shift code"] == exported["shift"].code

    outcome_header, outcome_row = rows_of(
        client.get(f"/coordinate/initiatives/{initiative.id}/export/outcomes.csv")
    )
    outcome = dict(zip(outcome_header, outcome_row, strict=True))
    assert (outcome["Goal"], outcome["Unit"], outcome["Value"]) == (
        "Árboles plantados",
        "árboles",
        "12",
    )
    assert outcome["Note"] == "'-1+1"


def test_a_date_range_in_local_dates_narrows_the_export(
    client, login, coordinator, initiative, exported
):
    login(coordinator)
    later_day = local(exported["later"].starts_at, initiative.timezone)
    url = f"/coordinate/initiatives/{initiative.id}/export/shifts.csv"
    response = client.get(url, query_string={"from": later_day.date().isoformat()})
    _header, *rows = rows_of(response)
    assert [r[0] for r in rows] == [exported["later"].code]
    assert f"-{later_day.date().isoformat()}.csv" in response.headers["Content-Disposition"]

    response = client.get(url, query_string={"to": (later_day.date() - dt.timedelta(days=1))})
    _header, *rows = rows_of(response)
    assert [r[0] for r in rows] == [exported["shift"].code]

    hours_url = f"/coordinate/initiatives/{initiative.id}/export/hours.csv"
    _header, *rows = rows_of(client.get(hours_url, query_string={"from": later_day.date()}))
    assert rows == []


@pytest.mark.parametrize(
    "query", [{"from": "yesterday"}, {"from": "2026-12-31", "to": "2026-01-01"}]
)
def test_a_bad_range_goes_back_with_a_message(client, login, coordinator, initiative, query):
    login(coordinator)
    response = client.get(
        f"/coordinate/initiatives/{initiative.id}/export/shifts.csv", query_string=query
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/coordinate/initiatives/{initiative.id}#export")


def test_unknown_exports_and_other_organizations_are_404(
    client, login, db, coordinator, org_b, initiative
):
    theirs = make_initiative(org_b)
    db.session.commit()
    login(coordinator)
    assert (
        client.get(f"/coordinate/initiatives/{initiative.id}/export/people.csv").status_code == 404
    )
    assert client.get(f"/coordinate/initiatives/{theirs.id}/export/hours.csv").status_code == 404


def test_export_runs_one_query_per_file(db, initiative, exported, count_queries):
    for kind in services.EXPORT_KINDS:
        db.session.expire_all()
        with count_queries() as queries:
            header, rows = services.export_rows(initiative, kind, services.ExportRange())
            list(rows)
        # The initiative reloads after expire_all; the export itself is one query.
        assert len(queries) <= 2, kind
