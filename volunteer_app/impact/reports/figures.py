"""The aggregate queries behind a report's people, hours and shift figures: one pass over
each person's approved hours per home (volunteers, new, retained), hours by year and chart
bucket, show-up and fill."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from volunteer_app.accounts.models import User
from volunteer_app.core.sql import day_number, month_key, plus_days, year_of
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact.reports.basics import (
    RETENTION_DAYS,
    Bucket,
    Period,
    Ratio,
    Scope,
    approved_hours,
    bucket_index,
    count_if,
)
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus


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
    back: sa.ColumnElement[int]
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
            count_if(sa.and_(people.c.current == 1, people.c.first_on >= period.from_on)),
            count_if(sa.and_(people.c.previous == 1, people.c.first_on >= previous.from_on)),
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


def hours_by_year_and_bucket(
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
    bucket_of: dict[int | str, int]
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
        .where(*approved_hours(scope, period.from_on, period.to_on))
        .group_by(key)
    )
    days = (
        sa.select(HoursEntry.served_on, sa.func.sum(HoursEntry.minutes).label("minutes"))
        .where(*approved_hours(scope, previous.from_on, previous.to_on))
        .group_by(HoursEntry.served_on)
        .subquery("days")
    )
    year = year_of(days.c.served_on)
    earlier = sa.select(sa.null(), year, sa.func.sum(days.c.minutes), sa.literal(0))
    # (bucket key, year, minutes, volunteers): the two halves' column types differ by design.
    rows: sa.Result[Any, Any, Any, Any] = db.session.execute(
        sa.union_all(current, earlier.group_by(year))
    )
    result = []
    for bucket_key, served_year, minutes, volunteers in rows:
        if bucket_key is None:
            result.append((int(served_year), -1, int(minutes or 0), 0))
        else:
            index = bucket_of[int(bucket_key) if by_year else bucket_key]
            result.append(
                (
                    buckets[index].from_on.year,
                    index,
                    int(minutes or 0),
                    int(volunteers or 0),
                )
            )
    return result


def show_up_rates(
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
            count_if(is_current),
            count_if(is_current, attended),
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


def shifts_by_bucket(
    scope: Scope, bucket_starts: list[dt.datetime], previous_start: dt.datetime, end: dt.datetime
) -> list[tuple[int, int, int, int]]:
    """(bucket, shifts, spots taken, capacity) of scheduled shifts; bucket -1 is the previous
    period."""
    bucket = bucket_index(Shift.starts_at, bucket_starts).label("bucket")
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
