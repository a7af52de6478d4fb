"""The tables behind a dashboard, as plain rows, for CSV export."""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from flask_babel import gettext as _

from volunteer_app.impact.reports.basics import (
    Ratio,
)
from volunteer_app.impact.reports.program import (
    Report,
)

# ---------------------------------------------------------------------------------------------
# The tables behind a dashboard, for CSV export


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[object]]


PUBLIC_TABLES = ("summary", "months", "goals", "neighborhoods")
ALL_TABLES = ("summary", "months", "value", "goals", "neighborhoods", "zips")


def _percent(ratio: Ratio | None):
    return None if ratio is None else ratio.percent


def _summary(r: Report) -> Table:
    compare = r.request.compare
    summary_rows = [
        [_("Volunteers"), r.volunteers.current, r.volunteers.previous],
        [_("New volunteers"), r.new_volunteers.current, r.new_volunteers.previous],
        [_("Hours served"), r.hours.current, r.hours.previous],
        [
            _("Value of volunteer time (USD)"),
            decimal.Decimal(r.value_cents.current) / 100,
            None
            if r.value_cents.previous is None
            else decimal.Decimal(r.value_cents.previous) / 100,
        ],
        [_("Retention (%)"), _percent(r.retention.current), _percent(r.retention.previous)],
        [_("Show-up rate (%)"), _percent(r.show_up.current), _percent(r.show_up.previous)],
        [_("Fill rate (%)"), _percent(r.fill.current), _percent(r.fill.previous)],
        [_("Shifts"), r.shifts.current, r.shifts.previous],
    ]
    period_label = f"{r.period.from_on.isoformat()}/{r.period.to_on.isoformat()}"
    previous_label = f"{r.previous.from_on.isoformat()}/{r.previous.to_on.isoformat()}"
    return Table(
        _("Summary"),
        [_("Figure"), period_label] + ([previous_label] if compare else []),
        [row if compare else row[:2] for row in summary_rows],
    )


def _months(r: Report) -> Table:
    return Table(
        _("By year") if r.by_year else _("By month"),
        [
            _("From"),
            _("To"),
            _("Hours"),
            _("Volunteers"),
            _("Shifts"),
            _("Spots taken"),
            _("Capacity"),
            _("Fill rate (%)"),
        ],
        [
            [
                b.from_on.isoformat(),
                b.to_on.isoformat(),
                b.hours,
                b.volunteers,
                b.shifts,
                b.spots_taken,
                b.capacity,
                b.fill.percent,
            ]
            for b in r.buckets
        ],
    )


def _goals(r: Report) -> Table:
    return Table(
        _("Goals"),
        [
            _("Initiative"),
            _("Goal"),
            _("Unit"),
            _("Target"),
            _("In this period"),
            _("Total so far"),
            _("Percent of target"),
            _("Deadline"),
            _("Needed per week"),
        ],
        [
            [
                g.initiative_title,
                g.name,
                g.unit,
                g.target,
                g.in_period,
                g.to_date,
                g.percent,
                g.deadline_on.isoformat() if g.deadline_on else None,
                g.pace.per_week,
            ]
            for g in r.goals
        ],
    )


def _public_neighborhoods(r: Report) -> Table:
    return Table(
        _("Service by neighborhood"),
        [_("Neighborhood"), _("Priority"), _("Hours served there"), _("Shifts there")],
        [
            [n.name, _("yes") if n.is_priority else _("no"), n.service_hours, n.shifts]
            for n in r.equity.neighborhoods
        ],
    )


def _value(r: Report) -> Table:
    return Table(
        _("Value of volunteer time"),
        [
            _("Year of service"),
            _("Hours"),
            _("Rate year"),
            _("Rate region"),
            _("Rate (USD)"),
            _("Value (USD)"),
        ],
        [
            [
                y.year,
                y.hours,
                y.rate.rate_year if y.rate else None,
                y.rate.region if y.rate else None,
                y.rate.dollars if y.rate else None,
                decimal.Decimal(y.cents) / 100,
            ]
            for y in r.years
        ],
    )


def _equity(r: Report) -> Table:
    return Table(
        _("Equity by neighborhood"),
        [
            _("Neighborhood"),
            _("Priority"),
            _("Volunteers living there"),
            _("Hours by residents"),
            _("Hours served there"),
            _("Volunteers serving there"),
            _("Shifts there"),
        ],
        [
            [
                n.name,
                _("yes") if n.is_priority else _("no"),
                n.resident_volunteers,
                n.resident_hours,
                n.service_hours,
                n.service_volunteers,
                n.shifts,
            ]
            for n in r.equity.neighborhoods
        ],
    )


def _zips(r: Report) -> Table:
    return Table(
        _("Volunteers by ZIP code (no neighborhood given)"),
        [_("ZIP code"), _("Volunteers"), _("Hours")],
        [[z.zip_code, z.volunteers, z.hours] for z in r.equity.zips],
    )


def report_tables(report: Report, *, public: bool = False) -> dict[str, Table]:
    """Every table a dashboard shows, as plain rows (numbers stay numbers). The public ones
    leave out where volunteers live and the rates used."""
    tables = {"summary": _summary(report), "months": _months(report), "goals": _goals(report)}
    if public:
        tables["neighborhoods"] = _public_neighborhoods(report)
        return tables
    tables["value"] = _value(report)
    tables["neighborhoods"] = _equity(report)
    tables["zips"] = _zips(report)
    return tables
