"""A whole dashboard report for one period and scope, and the all-time totals of each
initiative (the public summary and the open data API)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from volunteer_app.core.sql import year_of
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact.rates import RateBook, rate_book
from volunteer_app.impact.reports.basics import (
    Bucket,
    Comparison,
    Figure,
    Period,
    Ratio,
    ReportRequest,
    Scope,
    YearValue,
    local_start,
    minutes_to_hours,
    period_buckets,
)
from volunteer_app.impact.reports.figures import (
    hours_by_year_and_bucket,
    people_by_home,
    shifts_by_bucket,
    show_up_rates,
)
from volunteer_app.impact.reports.goals import (
    GoalRow,
    goal_rows,
)
from volunteer_app.impact.reports.neighborhoods import (
    Equity,
    equity,
)


@dataclass
class Report:
    request: ReportRequest
    today: dt.date
    volunteers: Comparison[int]
    new_volunteers: Comparison[int]
    minutes: Comparison[int]
    value_cents: Comparison[int]
    retention: Comparison[Ratio]
    show_up: Comparison[Ratio]
    fill: Comparison[Ratio]
    years: list[YearValue]
    buckets: list[Bucket]
    goals: list[GoalRow]
    equity: Equity
    rates: RateBook
    shifts: Comparison[int] = field(default_factory=lambda: Comparison(0, 0))

    @property
    def period(self) -> Period:
        return self.request.period

    @property
    def previous(self) -> Period:
        return self.request.period.previous()

    @property
    def hours(self) -> Comparison[decimal.Decimal]:
        return Comparison(
            minutes_to_hours(self.minutes.current),
            None if self.minutes.previous is None else minutes_to_hours(self.minutes.previous),
        )

    @property
    def fallback_years(self) -> list[YearValue]:
        """Years of service whose rate came from an earlier year or from the nation."""
        return [
            y
            for y in self.years
            if y.rate is not None and (y.rate.is_fallback or y.rate.region != self.rates.region)
        ]

    @property
    def unrated_years(self) -> list[int]:
        return [y.year for y in self.years if y.rate is None and y.minutes]

    @property
    def by_year(self) -> bool:
        return bool(self.buckets) and self.buckets[0].by_year


# ---------------------------------------------------------------------------------------------
# The whole report


def _hours_by_year(
    request: ReportRequest, previous: Period, buckets: list[Bucket], rates: RateBook
) -> tuple[list[YearValue], list[YearValue]]:
    """Hours of the period and of the previous one, per calendar year at that year's rate; the
    period's minutes and volunteers also go into `buckets`."""
    minutes_by_year: dict[int, int] = defaultdict(int)
    previous_minutes_by_year: dict[int, int] = defaultdict(int)
    for year, bucket_index, minutes, bucket_volunteers in hours_by_year_and_bucket(
        request.scope, request.period, previous, buckets
    ):
        if bucket_index < 0:
            previous_minutes_by_year[year] += minutes
            continue
        minutes_by_year[year] += minutes
        buckets[bucket_index].minutes += minutes
        # A bucket never spans two years, so its one row holds its distinct volunteers.
        buckets[bucket_index].volunteers += bucket_volunteers

    def values(by_year: dict[int, int]) -> list[YearValue]:
        return [YearValue(y, by_year[y], rates.applied(y)) for y in sorted(by_year)]

    return values(minutes_by_year), values(previous_minutes_by_year)


def _shift_totals(
    scope: Scope, buckets: list[Bucket], tz: str, previous_start: dt.datetime, end: dt.datetime
) -> dict[str, list[int]]:
    """[shifts, spots taken, capacity] of the period ("current") and the previous period; each
    bucket gets its own."""
    totals = {"current": [0, 0, 0], "previous": [0, 0, 0]}
    bucket_starts = [local_start(b.from_on, tz) for b in buckets]
    for bucket_index, shifts, taken, capacity in shifts_by_bucket(
        scope, bucket_starts, previous_start, end
    ):
        row = totals["previous" if bucket_index < 0 else "current"]
        row[0] += shifts
        row[1] += taken
        row[2] += capacity
        if bucket_index >= 0:
            b = buckets[bucket_index]
            b.shifts, b.spots_taken, b.capacity = shifts, taken, capacity
    return totals


def build_report(request: ReportRequest, *, now: dt.datetime) -> Report:
    """Every figure of a dashboard for one period and scope (and the previous period of equal
    length), in a fixed number of queries."""
    period, scope, tz = request.period, request.scope, request.timezone
    previous = period.previous()
    today = local(now, tz).date()
    buckets = period_buckets(period)
    homes = people_by_home(scope, period, previous)

    def people(figure: str) -> int:
        return sum(getattr(home, figure) for home in homes)

    volunteers, previous_volunteers = people("volunteers"), people("previous_volunteers")
    rates = rate_book(request.region)
    years, previous_years = _hours_by_year(request, previous, buckets, rates)
    current_start = local_start(period.from_on, tz)
    previous_start = local_start(previous.from_on, tz)
    end = local_start(period.to_on + dt.timedelta(days=1), tz)
    show_up, previous_show_up = show_up_rates(scope, (previous_start, current_start, end), now)
    shifts = _shift_totals(scope, buckets, tz, previous_start, end)
    total_minutes = sum(y.minutes for y in years)

    def pair(current: Figure, previous_value: Figure) -> Comparison[Figure]:
        return Comparison(current, previous_value if request.compare else None)

    return Report(
        request=request,
        today=today,
        volunteers=pair(volunteers, previous_volunteers),
        new_volunteers=pair(people("new"), people("previous_new")),
        minutes=pair(total_minutes, sum(y.minutes for y in previous_years)),
        value_cents=pair(sum(y.cents for y in years), sum(y.cents for y in previous_years)),
        retention=pair(
            Ratio(people("retained"), volunteers),
            Ratio(people("previous_retained"), previous_volunteers),
        ),
        show_up=pair(show_up, previous_show_up),
        fill=pair(
            Ratio(shifts["current"][1], shifts["current"][2]),
            Ratio(shifts["previous"][1], shifts["previous"][2]),
        ),
        shifts=pair(shifts["current"][0], shifts["previous"][0]),
        years=years,
        buckets=buckets,
        goals=goal_rows(scope, period, today=today),
        equity=equity(
            scope,
            period,
            shift_range=(current_start, end),
            total_minutes=total_minutes,
            homes=homes,
        ),
        rates=rates,
    )


# ---------------------------------------------------------------------------------------------
# Per-initiative totals (the public summary and the open data API)


@dataclass
class InitiativeTotals:
    initiative_id: int
    volunteers: int = 0
    minutes: int = 0
    value_cents: int = 0
    goals: list[GoalRow] = field(default_factory=list)

    @property
    def hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.minutes)

    @property
    def headline_goal(self) -> GoalRow | None:
        return self.goals[0] if self.goals else None


def initiative_totals(
    initiative_ids: Iterable[int], *, today: dt.date, region: str | None = None
) -> dict[int, InitiativeTotals]:
    """All-time volunteers, hours, value and goals of each initiative, in four queries
    whatever the number of initiatives (none when the list is empty)."""
    ids = sorted(set(initiative_ids))
    totals = {i: InitiativeTotals(i) for i in ids}
    if not ids:
        return totals
    approved = [HoursEntry.status == HoursStatus.APPROVED, HoursEntry.initiative_id.in_(ids)]
    for initiative_id, volunteers in db.session.execute(
        sa.select(HoursEntry.initiative_id, sa.func.count(sa.distinct(HoursEntry.user_id)))
        .where(*approved)
        .group_by(HoursEntry.initiative_id)
    ):
        totals[initiative_id].volunteers = int(volunteers)
    rates = rate_book(region)
    year = year_of(HoursEntry.served_on).label("year")
    for initiative_id, served_year, minutes in db.session.execute(
        sa.select(HoursEntry.initiative_id, year, sa.func.sum(HoursEntry.minutes))
        .where(*approved)
        .group_by(HoursEntry.initiative_id, year)
    ):
        row = totals[initiative_id]
        row.minutes += int(minutes or 0)
        row.value_cents += YearValue(
            int(served_year), int(minutes or 0), rates.applied(int(served_year))
        ).cents
    all_time = Period(dt.date(1, 1, 1), today)
    for goal in goal_rows(Scope(public_only=True), all_time, today=today, initiative_ids=ids):
        totals[goal.initiative_id].goals.append(goal)
    return totals
