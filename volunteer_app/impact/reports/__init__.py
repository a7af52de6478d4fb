"""Impact reports: every figure the dashboards, the public impact pages, the exports and the
open data API show, computed in SQL.

Each figure is an aggregate query (GROUP BY, COUNT DISTINCT, SUM over CASE) that gives the same
answers on SQLite and PostgreSQL, and a report runs a fixed number of them however much data
there is. Figures that read the same rows share one pass (everything about people: see
people_by_home). Python only combines a handful of already-aggregated rows (hours per year
times that year's rate, months into a chart, home groups into totals).

Speed at city scale is measured by benchmarks/impact_dashboard.py; the covering indexes the
queries rely on are on hours_entries and shifts.

Periods are local dates, both ends included, in the report's timezone: the initiative's own for
an initiative, the program's (PROGRAM_TIMEZONE) otherwise. Hours are dated by `served_on`,
which is already a local date; shifts by the local date their start falls on.

Definitions, as the pages explain them:
- volunteers: people with approved hours served in the period;
- new volunteers: people whose first approved hours (in the report's scope) fall in the period;
- hours: approved minutes / 60; value: hours times the rate of the year they were served;
- retention: of the volunteers of the period, the share who served again (in scope) within
  90 days after one of their services in the period;
- show-up rate: attended / (attended + no-show) among signups on shifts of the period that
  have ended (signups nobody marked are left out);
- fill rate: spots taken / capacity on the scheduled shifts of the period;
- goals: outcome records that are not voided, by `period_start_on`.

The package, by seam: `basics` (periods, scopes, ratios, buckets, shared SQL helpers),
`figures` (people, hours and shift queries), `goals`, `neighborhoods` (equity), `program`
(the whole report and per-initiative totals) and `tables` (CSV). The names the pages, the API
and the exports use are importable from here.
"""

from volunteer_app.impact.reports.basics import (
    MAX_MONTH_BUCKETS,
    PUBLIC_STATUSES,
    RETENTION_DAYS,
    Bucket,
    Comparison,
    Period,
    Ratio,
    ReportRequest,
    Scope,
    YearValue,
    default_period,
    first_service_on,
    local_start,
    minutes_to_hours,
    period_buckets,
    program_timezone,
)
from volunteer_app.impact.reports.figures import HomeGroup, people_by_home
from volunteer_app.impact.reports.goals import GoalRow, goal_rows
from volunteer_app.impact.reports.neighborhoods import Equity, NeighborhoodRow, ZipRow, equity
from volunteer_app.impact.reports.program import (
    InitiativeTotals,
    Report,
    build_report,
    initiative_totals,
)
from volunteer_app.impact.reports.tables import ALL_TABLES, PUBLIC_TABLES, Table, report_tables

__all__ = [
    "ALL_TABLES",
    "MAX_MONTH_BUCKETS",
    "PUBLIC_STATUSES",
    "PUBLIC_TABLES",
    "RETENTION_DAYS",
    "Bucket",
    "Comparison",
    "Equity",
    "GoalRow",
    "HomeGroup",
    "InitiativeTotals",
    "NeighborhoodRow",
    "Period",
    "Ratio",
    "Report",
    "ReportRequest",
    "Scope",
    "Table",
    "YearValue",
    "ZipRow",
    "build_report",
    "default_period",
    "equity",
    "first_service_on",
    "goal_rows",
    "initiative_totals",
    "local_start",
    "minutes_to_hours",
    "people_by_home",
    "period_buckets",
    "program_timezone",
    "report_tables",
]
