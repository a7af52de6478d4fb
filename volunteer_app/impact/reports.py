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
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from volunteer_app.accounts.models import User
from volunteer_app.core.sql import day_number, month_key, plus_days, year_of
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.impact.outcomes import Pace, goal_pace, latest_record_value, progress_percent
from volunteer_app.impact.rates import AppliedRate, RateBook, rate_book
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, MetricKind, OutcomeMetric
from volunteer_app.reference.models import Neighborhood
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus

RETENTION_DAYS = 90
# Longer periods are charted by year instead of by month.
MAX_MONTH_BUCKETS = 36
PUBLIC_STATUSES = (InitiativeStatus.PUBLISHED, InitiativeStatus.CLOSED)
ZERO = decimal.Decimal(0)


# ---------------------------------------------------------------------------------------------
# Portable SQL helpers


def _count_if(condition, value=1):
    return sa.func.coalesce(sa.func.sum(sa.case((condition, value), else_=0)), 0)


# ---------------------------------------------------------------------------------------------
# What a report is about


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    from_on: dt.date
    to_on: dt.date

    @property
    def days(self) -> int:
        return (self.to_on - self.from_on).days + 1

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        to_on = self.from_on - dt.timedelta(days=1)
        return Period(to_on - dt.timedelta(days=self.days - 1), to_on)

    def contains(self, day: dt.date) -> bool:
        return self.from_on <= day <= self.to_on


@dataclass(frozen=True)
class Scope:
    """Which initiatives a report covers; None means any. `public_only` keeps published and
    closed initiatives (what the public may see)."""

    organization_id: int | None = None
    initiative_id: int | None = None
    cause_id: int | None = None
    public_only: bool = False

    def initiative_ids(self) -> sa.Select | None:
        """A subquery of the initiatives in scope, or None when every initiative is."""
        conditions = []
        if self.organization_id is not None:
            conditions.append(Initiative.organization_id == self.organization_id)
        if self.cause_id is not None:
            conditions.append(Initiative.cause_id == self.cause_id)
        if self.public_only:
            conditions.append(Initiative.status.in_(PUBLIC_STATUSES))
        if self.initiative_id is not None:
            conditions.append(Initiative.id == self.initiative_id)
        if not conditions:
            return None
        return sa.select(Initiative.id).where(*conditions)

    def on(self, initiative_column) -> list[sa.ColumnElement[bool]]:
        """Conditions keeping rows whose initiative is in scope."""
        if self.initiative_id is not None and not (
            self.organization_id or self.cause_id or self.public_only
        ):
            return [initiative_column == self.initiative_id]
        ids = self.initiative_ids()
        return [] if ids is None else [initiative_column.in_(ids)]


@dataclass(frozen=True)
class ReportRequest:
    period: Period
    scope: Scope = Scope()
    timezone: str = "America/New_York"
    region: str | None = None
    compare: bool = True  # also compute the previous period of equal length


def program_timezone() -> str:
    return current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")


def default_period(today: dt.date) -> Period:
    """The last twelve months: from the first day of the month eleven months ago to today."""
    month = today.month - 11
    year = today.year
    if month <= 0:
        month += 12
        year -= 1
    return Period(dt.date(year, month, 1), today)


def first_service_on(scope: Scope) -> dt.date | None:
    """The first day anyone served with approved hours in scope (one indexed query)."""
    return db.session.scalar(
        sa.select(sa.func.min(HoursEntry.served_on)).where(
            HoursEntry.status == HoursStatus.APPROVED, *scope.on(HoursEntry.initiative_id)
        )
    )


# ---------------------------------------------------------------------------------------------
# What a report holds


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> int | None:
        """Whole percent, rounded half up; None when there is nothing to divide by."""
        if not self.denominator:
            return None
        return math.floor(self.numerator * 100 / self.denominator + 0.5)


@dataclass(frozen=True)
class Comparison:
    """A figure for the period and for the previous period of equal length."""

    current: object
    previous: object = None

    @staticmethod
    def _number(value):
        if isinstance(value, Ratio):
            return value.percent
        return value

    @property
    def change(self):
        """Current minus previous (percentage points for ratios); None when unknown."""
        current, previous = self._number(self.current), self._number(self.previous)
        if current is None or previous is None:
            return None
        return current - previous

    @property
    def percent_change(self) -> int | None:
        """Relative change in whole percent, for counts and amounts (not ratios)."""
        if isinstance(self.current, Ratio):
            return None
        current, previous = self.current, self.previous
        if current is None or not previous:
            return None
        return math.floor(
            (decimal.Decimal(current) - previous) * 100 / decimal.Decimal(previous)
            + decimal.Decimal("0.5")
        )

    @property
    def direction(self) -> str:
        change = self.change
        if change is None:
            return "unknown"
        if change == 0:
            return "same"
        return "up" if change > 0 else "down"


@dataclass(frozen=True)
class YearValue:
    """Hours served in one calendar year and what they are worth at that year's rate."""

    year: int
    minutes: int
    rate: AppliedRate | None

    @property
    def hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.minutes)

    @property
    def cents(self) -> int:
        if self.rate is None:
            return 0
        return int(
            (decimal.Decimal(self.minutes) * self.rate.cents / 60).to_integral_value(
                rounding=decimal.ROUND_HALF_UP
            )
        )


@dataclass
class Bucket:
    """One bar of the charts: a month (or a year for long periods) of the period."""

    label_on: dt.date  # first day of the month or year, for labels
    from_on: dt.date
    to_on: dt.date
    by_year: bool = False
    minutes: int = 0
    volunteers: int = 0
    shifts: int = 0
    spots_taken: int = 0
    capacity: int = 0

    @property
    def hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.minutes)

    @property
    def fill(self) -> Ratio:
        return Ratio(self.spots_taken, self.capacity)


@dataclass(frozen=True)
class GoalRow:
    """A goal of an initiative in scope with what was recorded against it."""

    metric_id: int
    initiative_id: int
    initiative_slug: str
    initiative_title: str
    name: str
    unit: str
    kind: str
    target: decimal.Decimal
    baseline: decimal.Decimal | None
    deadline_on: dt.date | None
    in_period: decimal.Decimal  # records whose period starts in the report's period
    to_date: decimal.Decimal  # every record up to the end of the report's period
    pace: Pace  # as of the end of the period

    @property
    def percent(self) -> int:
        return progress_percent(self.to_date, self.target)

    @property
    def is_met(self) -> bool:
        return self.to_date >= self.target


@dataclass
class NeighborhoodRow:
    """A neighborhood with who lives there and served, and the service that happened there."""

    id: int
    slug: str
    name: str
    is_priority: bool
    resident_volunteers: int = 0
    resident_minutes: int = 0
    service_minutes: int = 0
    service_volunteers: int = 0
    shifts: int = 0

    @property
    def resident_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.resident_minutes)

    @property
    def service_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.service_minutes)

    @property
    def is_idle(self) -> bool:
        return not (self.service_minutes or self.shifts)


@dataclass(frozen=True)
class ZipRow:
    """Volunteers who gave a ZIP code but no neighborhood."""

    zip_code: str
    volunteers: int
    minutes: int

    @property
    def hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.minutes)


@dataclass
class Equity:
    neighborhoods: list[NeighborhoodRow]
    zips: list[ZipRow]
    total_minutes: int
    unplaced_minutes: int  # hours not tied to a shift in a known neighborhood
    unknown_home_volunteers: int  # volunteers with neither neighborhood nor ZIP

    @property
    def unplaced_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.unplaced_minutes)

    @property
    def priority_minutes(self) -> int:
        return sum(row.service_minutes for row in self.neighborhoods if row.is_priority)

    @property
    def priority_share(self) -> Ratio:
        """Share of all hours served in priority neighborhoods."""
        return Ratio(self.priority_minutes, self.total_minutes)

    @property
    def priority_residents_share(self) -> Ratio:
        volunteers = sum(r.resident_volunteers for r in self.neighborhoods) + sum(
            z.volunteers for z in self.zips
        )
        priority = sum(r.resident_volunteers for r in self.neighborhoods if r.is_priority)
        return Ratio(priority, volunteers + self.unknown_home_volunteers)

    @property
    def idle_priority(self) -> list[NeighborhoodRow]:
        """Priority neighborhoods where nothing happened in the period: the need is there,
        the service is not."""
        return [row for row in self.neighborhoods if row.is_priority and row.is_idle]

    @property
    def max_service_minutes(self) -> int:
        return max((row.service_minutes for row in self.neighborhoods), default=0)

    @property
    def max_resident_volunteers(self) -> int:
        return max((row.resident_volunteers for row in self.neighborhoods), default=0)


@dataclass
class Report:
    request: ReportRequest
    today: dt.date
    volunteers: Comparison
    new_volunteers: Comparison
    minutes: Comparison
    value_cents: Comparison
    retention: Comparison
    show_up: Comparison
    fill: Comparison
    years: list[YearValue]
    buckets: list[Bucket]
    goals: list[GoalRow]
    equity: Equity
    rates: RateBook
    shifts: Comparison = field(default_factory=lambda: Comparison(0, 0))

    @property
    def period(self) -> Period:
        return self.request.period

    @property
    def previous(self) -> Period:
        return self.request.period.previous()

    @property
    def hours(self) -> Comparison:
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


def minutes_to_hours(minutes: int | None) -> decimal.Decimal:
    """Hours with one decimal, rounded half up (90 minutes is 1.5 hours)."""
    return (decimal.Decimal(minutes or 0) / 60).quantize(
        decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP
    )


# ---------------------------------------------------------------------------------------------
# Buckets: the months (or years) of a period, as ranges SQL can compare against


def period_buckets(period: Period) -> list[Bucket]:
    """The months of `period` (clipped to it), or its calendar years when it spans more than
    MAX_MONTH_BUCKETS months."""
    months = (
        (period.to_on.year - period.from_on.year) * 12
        + period.to_on.month
        - period.from_on.month
        + 1
    )
    buckets = []
    if months > MAX_MONTH_BUCKETS:
        for year in range(period.from_on.year, period.to_on.year + 1):
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
            buckets.append(
                Bucket(start, max(start, period.from_on), min(end, period.to_on), by_year=True)
            )
        return buckets
    year, month = period.from_on.year, period.from_on.month
    for _ in range(months):
        start = dt.date(year, month, 1)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        end = dt.date(year, month, 1) - dt.timedelta(days=1)
        buckets.append(Bucket(start, max(start, period.from_on), min(end, period.to_on)))
    return buckets


def _bucket_index(column, starts: list) -> sa.ColumnElement[int]:
    """Which bucket a value falls in: -1 before the first start (the previous period), else the
    index of the last start at or before it. The caller's WHERE bounds the other end."""
    whens = [(column < starts[0], -1)]
    whens += [(column < start, index) for index, start in enumerate(starts[1:])]
    return sa.case(*whens, else_=len(starts) - 1)


def local_start(day: dt.date, tz: str) -> dt.datetime:
    """The instant local day `day` begins in `tz`."""
    return from_local(dt.datetime.combine(day, dt.time()), tz)


# ---------------------------------------------------------------------------------------------
# The queries


def _approved_hours(scope: Scope, lo: dt.date, hi: dt.date) -> list[sa.ColumnElement[bool]]:
    return [
        HoursEntry.status == HoursStatus.APPROVED,
        HoursEntry.served_on >= lo,
        HoursEntry.served_on <= hi,
        *scope.on(HoursEntry.initiative_id),
    ]


@dataclass(frozen=True)
class HomeGroup:
    """The people of one home neighborhood (or, with no neighborhood, one ZIP code or none)
    who served in either period: how many served, were new, came back, and their minutes."""

    neighborhood_id: int | None
    zip_code: str | None
    volunteers: int
    previous_volunteers: int
    new: int
    previous_new: int
    retained: int
    previous_retained: int
    minutes: int  # in the period


def _lookahead(scope: Scope) -> str:
    """How an entry finds the person's next day of service.

    - "stored": over the whole program, each entry already holds the days to its person's next
      day of approved service (HoursEntry.days_to_next_service, kept by the hours module), so
      nothing is looked up at all. Only right when every initiative is in scope.
    - "window", for a narrower scope on PostgreSQL: each person's entries in date order from
      an index, looking at the next one (LEAD), which PostgreSQL streams.
    - "probe", for a narrower scope on SQLite: ask the index whether a later day exists within
      reach (EXISTS), which costs SQLite less than its window functions, as they copy every
      row into a buffer first.

    All give the same answers (the tests run each of them on both databases)."""
    if scope.initiative_ids() is None:  # every initiative is in scope
        return "stored"
    return "probe" if db.session.get_bind().dialect.name == "sqlite" else "window"


def _service_rows(scope: Scope, period: Period, previous: Period, *, retention: bool):
    """Approved hours in scope up to the end of the period (earlier history too, for each
    person's first day), each with `back`: 1 when the same person served again, in scope, 1 to
    RETENTION_DAYS days after that entry's day; two entries on one day are not serving again
    (see _lookahead for how the next day is found; looking it up takes the entries up to
    RETENTION_DAYS after the period as well)."""
    approved = [HoursEntry.status == HoursStatus.APPROVED, *scope.on(HoursEntry.initiative_id)]
    lookahead = _lookahead(scope) if retention else None
    reach = RETENTION_DAYS if lookahead in ("probe", "window") else 0
    in_reach = HoursEntry.served_on <= period.to_on + dt.timedelta(days=reach)
    in_periods = sa.and_(
        HoursEntry.served_on >= previous.from_on, HoursEntry.served_on <= period.to_on
    )
    if lookahead is None:
        back = sa.literal(0)
    elif lookahead == "stored":
        back = sa.case((HoursEntry.days_to_next_service <= RETENTION_DAYS, 1), else_=0)
    elif lookahead == "probe":
        # Only entries in the two periods need an answer.
        later = aliased(HoursEntry)
        served_again = (
            sa.select(sa.literal(1))
            .where(
                later.status == HoursStatus.APPROVED,
                later.user_id == HoursEntry.user_id,
                later.served_on > HoursEntry.served_on,
                later.served_on <= plus_days(HoursEntry.served_on, RETENTION_DAYS),
                *scope.on(later.initiative_id),
            )
            .exists()
        )
        back = sa.case((sa.and_(in_periods, served_again), 1), else_=0)
    else:
        next_on = sa.func.lead(HoursEntry.served_on).over(
            partition_by=HoursEntry.user_id, order_by=HoursEntry.served_on
        )
        gap = day_number(next_on) - day_number(HoursEntry.served_on)
        back = sa.case((gap.between(1, RETENTION_DAYS), 1), else_=0)
    return (
        sa.select(
            HoursEntry.user_id,
            HoursEntry.served_on,
            HoursEntry.minutes,
            back.label("back"),
        )
        .where(*approved, in_reach)
        .subquery("service")
    )


def people_by_home(
    scope: Scope, period: Period, previous: Period, *, retention: bool = True
) -> list[HomeGroup]:
    """Volunteers, new volunteers and those who came back, in the period and the previous
    one, with the period's minutes, per home neighborhood or ZIP code: one pass over each
    person's approved hours in scope (see _service_rows), then one row per home. Summed over
    the groups they are the program's figures. Without `retention` nobody counts as back."""
    rows = _service_rows(scope, period, previous, retention=retention)
    # Only entries up to the end of the period count (later ones only served to look ahead),
    # so each period is one or two comparisons.
    in_period = rows.c.served_on >= period.from_on
    in_previous = sa.and_(rows.c.served_on >= previous.from_on, rows.c.served_on < period.from_on)

    def flag(condition, value=1):
        return sa.func.max(sa.case((condition, value), else_=0))

    people = (
        sa.select(
            rows.c.user_id,
            sa.func.min(rows.c.served_on).label("first_on"),
            flag(in_period).label("current"),
            flag(in_previous).label("previous"),
            flag(in_period, rows.c.back).label("current_back"),
            flag(in_previous, rows.c.back).label("previous_back"),
            sa.func.sum(sa.case((in_period, rows.c.minutes), else_=0)).label("minutes"),
        )
        .where(rows.c.served_on <= period.to_on)
        .group_by(rows.c.user_id)
        .subquery("people")
    )
    zip_code = sa.case((User.neighborhood_id.is_(None), User.zip_code))

    def total(column):
        return sa.func.coalesce(sa.func.sum(column), 0)

    query = (
        sa.select(
            User.neighborhood_id,
            zip_code,
            total(people.c.current),
            total(people.c.previous),
            _count_if(sa.and_(people.c.current == 1, people.c.first_on >= period.from_on)),
            _count_if(sa.and_(people.c.previous == 1, people.c.first_on >= previous.from_on)),
            total(people.c.current_back),
            total(people.c.previous_back),
            total(people.c.minutes),
        )
        .join(User, User.id == people.c.user_id)
        # People who served only before both periods add nothing: skip looking up their home.
        .where(people.c.current + people.c.previous > 0)
        .group_by(User.neighborhood_id, zip_code)
    )
    return [
        HomeGroup(hood, code, *(int(value) for value in figures))
        for hood, code, *figures in db.session.execute(query)
    ]


def _hours_by_year_and_bucket(
    scope: Scope, period: Period, previous: Period, buckets: list[Bucket]
) -> list[tuple[int, int, int, int]]:
    """(year, bucket, minutes, volunteers) for the period (buckets 0..n-1) and the previous
    period (bucket -1, whose volunteers are not needed), in one statement.

    The period's entries are grouped by their calendar month (or year, for long periods), a
    key read straight off the date, and the keys are matched to the buckets here: buckets are
    whole months or years clipped to the period, and the WHERE does the clipping.

    The previous period only needs its minutes per calendar year (for the rates), so its
    entries are summed per day, in the order the index already holds them, and the few days
    then per year: far cheaper than sorting every entry by a computed key."""
    by_year = bool(buckets) and buckets[0].by_year
    if by_year:
        key = year_of(HoursEntry.served_on)
        bucket_of = {b.from_on.year: index for index, b in enumerate(buckets)}
    else:
        key = month_key(HoursEntry.served_on)
        bucket_of = {f"{b.from_on:%Y-%m}": index for index, b in enumerate(buckets)}
    current = (
        sa.select(
            key,
            sa.null(),
            sa.func.sum(HoursEntry.minutes),
            sa.func.count(sa.distinct(HoursEntry.user_id)),
        )
        .where(*_approved_hours(scope, period.from_on, period.to_on))
        .group_by(key)
    )
    days = (
        sa.select(HoursEntry.served_on, sa.func.sum(HoursEntry.minutes).label("minutes"))
        .where(*_approved_hours(scope, previous.from_on, previous.to_on))
        .group_by(HoursEntry.served_on)
        .subquery("days")
    )
    year = year_of(days.c.served_on)
    earlier = sa.select(sa.null(), year, sa.func.sum(days.c.minutes), sa.literal(0))
    rows = db.session.execute(sa.union_all(current, earlier.group_by(year)))
    result = []
    for bucket_key, served_year, minutes, volunteers in rows:
        if bucket_key is None:
            result.append((int(served_year), -1, int(minutes or 0), 0))
        else:
            index = bucket_of[int(bucket_key) if by_year else bucket_key]
            result.append(
                (buckets[index].from_on.year, index, int(minutes or 0), int(volunteers or 0))
            )
    return result


def _show_up(
    scope: Scope, starts: tuple[dt.datetime, dt.datetime, dt.datetime], now: dt.datetime
) -> tuple[Ratio, Ratio]:
    """Attended / (attended + no-show) on ended shifts, this period and the previous one.

    Four running counts over both periods' marked signups (all, attended, and the same two for
    the period), the previous period's being the difference: fewer tests per signup than a
    count per period and status."""
    previous_start, current_start, end = starts
    is_current = Shift.starts_at >= current_start
    attended = sa.case((Signup.status == SignupStatus.ATTENDED, 1), else_=0)
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(attended), 0),
            _count_if(is_current),
            _count_if(is_current, attended),
        )
        .select_from(Signup)
        .join(Shift, Signup.shift_id == Shift.id)
        .where(
            Signup.status.in_((SignupStatus.ATTENDED, SignupStatus.NO_SHOW)),
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.ends_at <= now,
            Shift.starts_at >= previous_start,
            Shift.starts_at < end,
            *scope.on(Shift.initiative_id),
        )
    ).one()
    marked, all_attended, current_marked, current_attended = (int(v) for v in row)
    return (
        Ratio(current_attended, current_marked),
        Ratio(all_attended - current_attended, marked - current_marked),
    )


def _shifts_by_bucket(
    scope: Scope, bucket_starts: list[dt.datetime], previous_start: dt.datetime, end: dt.datetime
) -> list[tuple[int, int, int, int]]:
    """(bucket, shifts, spots taken, capacity) of scheduled shifts; bucket -1 is the previous
    period."""
    bucket = _bucket_index(Shift.starts_at, bucket_starts).label("bucket")
    rows = db.session.execute(
        sa.select(
            bucket,
            sa.func.count(Shift.id),
            sa.func.sum(Shift.spots_taken),
            sa.func.sum(Shift.capacity),
        )
        .where(
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at >= previous_start,
            Shift.starts_at < end,
            *scope.on(Shift.initiative_id),
        )
        .group_by(bucket)
    )
    return [(int(b), int(n or 0), int(t or 0), int(c or 0)) for b, n, t, c in rows]


def goal_rows(
    scope: Scope, period: Period, *, today: dt.date, initiative_ids: list[int] | None = None
) -> list[GoalRow]:
    """Every goal of the published and closed initiatives in scope, with what was recorded in
    the period, where it stood at the period's end, and the pace each needs by its deadline, in
    one query. Outputs add up their records; an outcome stands at its latest measurement
    (impact.outcomes.latest_record_value), as on the initiative's own page."""
    in_period_sum = sa.func.coalesce(
        sa.func.sum(
            sa.case(
                (
                    sa.and_(
                        OutcomeRecord.period_start_on >= period.from_on,
                        OutcomeRecord.period_start_on <= period.to_on,
                    ),
                    OutcomeRecord.value,
                ),
                else_=0,
            )
        ),
        0,
    )
    to_date_sum = sa.func.coalesce(
        sa.func.sum(
            sa.case((OutcomeRecord.period_start_on <= period.to_on, OutcomeRecord.value), else_=0)
        ),
        0,
    )
    is_outcome = OutcomeMetric.kind == MetricKind.OUTCOME
    in_period = sa.case(
        (
            is_outcome,
            sa.func.coalesce(latest_record_value(from_on=period.from_on, to_on=period.to_on), 0),
        ),
        else_=in_period_sum,
    )
    to_date = sa.case(
        (is_outcome, sa.func.coalesce(latest_record_value(to_on=period.to_on), 0)),
        else_=to_date_sum,
    )
    public_scope = Scope(
        scope.organization_id, scope.initiative_id, scope.cause_id, public_only=True
    )
    rows = db.session.execute(
        sa.select(
            OutcomeMetric.id,
            Initiative.id,
            Initiative.slug,
            Initiative.title,
            OutcomeMetric.name,
            OutcomeMetric.unit,
            OutcomeMetric.kind,
            OutcomeMetric.target,
            OutcomeMetric.baseline,
            OutcomeMetric.deadline_on,
            in_period,
            to_date,
        )
        .join(Initiative, OutcomeMetric.initiative_id == Initiative.id)
        .outerjoin(
            OutcomeRecord,
            sa.and_(OutcomeRecord.metric_id == OutcomeMetric.id, OutcomeRecord.voided_at.is_(None)),
        )
        .where(
            *public_scope.on(Initiative.id),
            *([Initiative.id.in_(initiative_ids)] if initiative_ids is not None else []),
        )
        .group_by(
            OutcomeMetric.id,
            Initiative.id,
            Initiative.slug,
            Initiative.title,
            OutcomeMetric.name,
            OutcomeMetric.unit,
            OutcomeMetric.kind,
            OutcomeMetric.target,
            OutcomeMetric.baseline,
            OutcomeMetric.deadline_on,
            OutcomeMetric.position,
        )
        .order_by(Initiative.title, Initiative.id, OutcomeMetric.position, OutcomeMetric.id)
    )
    as_of = min(today, period.to_on)
    goals = []
    for (
        metric_id,
        initiative_id,
        slug,
        title,
        name,
        unit,
        kind,
        target,
        baseline,
        deadline_on,
        achieved_in_period,
        achieved_to_date,
    ) in rows:
        target = decimal.Decimal(target)
        achieved_to_date = decimal.Decimal(achieved_to_date or 0)
        goals.append(
            GoalRow(
                metric_id=metric_id,
                initiative_id=initiative_id,
                initiative_slug=slug,
                initiative_title=title,
                name=name,
                unit=unit,
                kind=str(kind),
                target=target,
                baseline=None if baseline is None else decimal.Decimal(baseline),
                deadline_on=deadline_on,
                in_period=decimal.Decimal(achieved_in_period or 0),
                to_date=achieved_to_date,
                pace=goal_pace(target, achieved_to_date, deadline_on, today=as_of),
            )
        )
    return goals


def equity(
    scope: Scope,
    period: Period,
    *,
    shift_range: tuple[dt.datetime, dt.datetime],
    total_minutes: int,
    homes: list[HomeGroup] | None = None,
) -> Equity:
    """Per neighborhood: volunteers living there and their hours; hours served there and the
    scheduled shifts there; plus ZIP codes of volunteers who gave no neighborhood. One query
    for where service happened, and people_by_home for where volunteers live unless the
    caller already has it (`homes`)."""
    if homes is None:
        homes = people_by_home(scope, period, period.previous(), retention=False)
    hours = _approved_hours(scope, period.from_on, period.to_on)
    place = (
        sa.select(
            Shift.neighborhood_id.label("neighborhood_id"),
            sa.func.count(sa.distinct(HoursEntry.user_id)).label("volunteers"),
            sa.func.sum(HoursEntry.minutes).label("minutes"),
        )
        .join(Shift, HoursEntry.shift_id == Shift.id)
        .where(*hours, Shift.neighborhood_id.is_not(None))
        .group_by(Shift.neighborhood_id)
        .subquery()
    )
    scheduled = (
        sa.select(
            Shift.neighborhood_id.label("neighborhood_id"),
            sa.func.count(Shift.id).label("shifts"),
        )
        .where(
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at >= shift_range[0],
            Shift.starts_at < shift_range[1],
            Shift.neighborhood_id.is_not(None),
            *scope.on(Shift.initiative_id),
        )
        .group_by(Shift.neighborhood_id)
        .subquery()
    )
    residents = {h.neighborhood_id: h for h in homes if h.neighborhood_id is not None}
    rows = []
    for (
        hood_id,
        slug,
        name,
        priority,
        place_minutes,
        place_volunteers,
        shifts,
    ) in db.session.execute(
        sa.select(
            Neighborhood.id,
            Neighborhood.slug,
            Neighborhood.name,
            Neighborhood.is_priority,
            place.c.minutes,
            place.c.volunteers,
            scheduled.c.shifts,
        )
        .outerjoin(place, place.c.neighborhood_id == Neighborhood.id)
        .outerjoin(scheduled, scheduled.c.neighborhood_id == Neighborhood.id)
        .order_by(Neighborhood.name, Neighborhood.id)
    ):
        home = residents.get(hood_id)
        rows.append(
            NeighborhoodRow(
                id=hood_id,
                slug=slug,
                name=name,
                is_priority=bool(priority),
                resident_volunteers=home.volunteers if home else 0,
                resident_minutes=home.minutes if home else 0,
                service_minutes=int(place_minutes or 0),
                service_volunteers=int(place_volunteers or 0),
                shifts=int(shifts or 0),
            )
        )
    # Homes of people who served only in the previous period have no volunteers in this one.
    elsewhere = [h for h in homes if h.neighborhood_id is None and h.volunteers]
    zips = sorted(
        (ZipRow(h.zip_code, h.volunteers, h.minutes) for h in elsewhere if h.zip_code),
        key=lambda z: z.zip_code,
    )
    placed = sum(row.service_minutes for row in rows)
    return Equity(
        neighborhoods=rows,
        zips=zips,
        total_minutes=total_minutes,
        unplaced_minutes=max(total_minutes - placed, 0),
        unknown_home_volunteers=sum(h.volunteers for h in elsewhere if not h.zip_code),
    )


# ---------------------------------------------------------------------------------------------
# The whole report


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
    new, previous_new = people("new"), people("previous_new")
    retention = Ratio(people("retained"), volunteers)
    previous_retention = Ratio(people("previous_retained"), previous_volunteers)

    rates = rate_book(request.region)
    minutes_by_year: dict[int, int] = defaultdict(int)
    previous_minutes_by_year: dict[int, int] = defaultdict(int)
    for year, bucket_index, minutes, bucket_volunteers in _hours_by_year_and_bucket(
        scope, period, previous, buckets
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

    years = values(minutes_by_year)
    previous_years = values(previous_minutes_by_year)

    current_start = local_start(period.from_on, tz)
    previous_start = local_start(previous.from_on, tz)
    end = local_start(period.to_on + dt.timedelta(days=1), tz)
    show_up, previous_show_up = _show_up(scope, (previous_start, current_start, end), now)

    shift_totals = {"current": [0, 0, 0], "previous": [0, 0, 0]}
    bucket_starts = [local_start(b.from_on, tz) for b in buckets]
    for bucket_index, shifts, taken, capacity in _shifts_by_bucket(
        scope, bucket_starts, previous_start, end
    ):
        key = "previous" if bucket_index < 0 else "current"
        totals = shift_totals[key]
        totals[0] += shifts
        totals[1] += taken
        totals[2] += capacity
        if bucket_index >= 0:
            b = buckets[bucket_index]
            b.shifts, b.spots_taken, b.capacity = shifts, taken, capacity

    total_minutes = sum(minutes_by_year.values())
    compare = request.compare

    def pair(current, previous_value):
        return Comparison(current, previous_value if compare else None)

    return Report(
        request=request,
        today=today,
        volunteers=pair(volunteers, previous_volunteers),
        new_volunteers=pair(new, previous_new),
        minutes=pair(total_minutes, sum(previous_minutes_by_year.values())),
        value_cents=pair(sum(y.cents for y in years), sum(y.cents for y in previous_years)),
        retention=pair(retention, previous_retention),
        show_up=pair(show_up, previous_show_up),
        fill=pair(
            Ratio(shift_totals["current"][1], shift_totals["current"][2]),
            Ratio(shift_totals["previous"][1], shift_totals["previous"][2]),
        ),
        shifts=pair(shift_totals["current"][0], shift_totals["previous"][0]),
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


def report_tables(report: Report, *, public: bool = False) -> dict[str, Table]:
    """Every table a dashboard shows, as plain rows (numbers stay numbers). The public ones
    leave out where volunteers live and the rates used."""
    from flask_babel import gettext as _

    r = report
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
    tables = {
        "summary": Table(
            _("Summary"),
            [_("Figure"), period_label] + ([previous_label] if compare else []),
            [row if compare else row[:2] for row in summary_rows],
        ),
        "months": Table(
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
        ),
        "goals": Table(
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
        ),
    }
    if public:
        tables["neighborhoods"] = Table(
            _("Service by neighborhood"),
            [_("Neighborhood"), _("Priority"), _("Hours served there"), _("Shifts there")],
            [
                [n.name, _("yes") if n.is_priority else _("no"), n.service_hours, n.shifts]
                for n in r.equity.neighborhoods
            ],
        )
        return tables
    tables["value"] = Table(
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
    tables["neighborhoods"] = Table(
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
    tables["zips"] = Table(
        _("Volunteers by ZIP code (no neighborhood given)"),
        [_("ZIP code"), _("Volunteers"), _("Hours")],
        [[z.zip_code, z.volunteers, z.hours] for z in r.equity.zips],
    )
    return tables
