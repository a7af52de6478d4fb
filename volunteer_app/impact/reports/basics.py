"""What a report is about and what it holds in common: periods, scopes, ratios, comparisons,
chart buckets, the value of hours by year, and the portable SQL helpers the report queries
share."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa
from flask import current_app

from volunteer_app.core.time import from_local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact.rates import AppliedRate
from volunteer_app.initiatives.models import Initiative, InitiativeStatus

RETENTION_DAYS = 90
# Longer periods are charted by year instead of by month.
MAX_MONTH_BUCKETS = 36
PUBLIC_STATUSES = (InitiativeStatus.PUBLISHED, InitiativeStatus.CLOSED)
ZERO = decimal.Decimal(0)


# ---------------------------------------------------------------------------------------------
# Portable SQL helpers


def count_if(condition, value=1):
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


# What a Comparison compares: a count or an amount, or a ratio.
Figure = TypeVar("Figure", int, decimal.Decimal, Ratio)


@dataclass(frozen=True)
class Comparison(Generic[Figure]):
    """A figure for the period and for the previous period of equal length."""

    current: Figure
    previous: Figure | None = None

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


def bucket_index(column, starts: list) -> sa.ColumnElement[int]:
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


def approved_hours(scope: Scope, lo: dt.date, hi: dt.date) -> list[sa.ColumnElement[bool]]:
    return [
        HoursEntry.status == HoursStatus.APPROVED,
        HoursEntry.served_on >= lo,
        HoursEntry.served_on <= hi,
        *scope.on(HoursEntry.initiative_id),
    ]
