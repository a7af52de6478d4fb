"""Outcome records and goal progress: the one place that records, withdraws and reads the
values measured against an initiative's goals, and says where each goal stands.

- Recording: a value from a shift's roster, a text, a partner's report or an import
  (`record_outcome`), withdrawn with a reason but never deleted (`void_outcome`).
- Progress: an output goal (trees planted) adds up its standing records; an outcome goal
  (share of students reading at grade level) stands at its latest measurement. `goal_progress`
  and `latest_record_value` are the only code that says so; every page, CSV export, text
  reply and API answer reads progress through them, `progress_percent` and `goal_pace`.

Initiatives sit below impact, so their public pages are handed `goals_with_progress` by the
screen that renders them rather than importing it. Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core import signals
from volunteer_app.core.auth import can_manage_organization
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.initiatives.models import Initiative, MetricKind, OutcomeMetric
from volunteer_app.shifts.models import Shift

# ---------------------------------------------------------------------------------------------
# Recording and withdrawing a value

MAX_VALUE = decimal.Decimal("999999999999")


def parse_value(raw: str | float | int | decimal.Decimal) -> decimal.Decimal:
    try:
        value = decimal.Decimal(str(raw).replace(",", "").strip())
    except decimal.InvalidOperation as exc:
        raise DomainError(_("Please give a number.")) from exc
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        raise DomainError(_("Please give a positive number."))
    return value.quantize(decimal.Decimal("0.01"))


def record_outcome(
    metric: OutcomeMetric,
    value: str | float | int | decimal.Decimal,
    *,
    now: dt.datetime,
    source: OutcomeSource,
    by: User | None = None,
    shift: Shift | None = None,
    period_start_on: dt.date | None = None,
    period_end_on: dt.date | None = None,
    note: str = "",
) -> OutcomeRecord:
    """Record a measured value for a metric, from a shift or for a reporting period."""
    if shift is not None and shift.initiative_id != metric.initiative_id:
        raise DomainError(_("That measure belongs to another initiative."))
    if shift is not None and period_start_on is None:
        period_start_on = local(shift.starts_at, metric.initiative.timezone).date()
    if period_start_on is None:
        raise DomainError(_("Please give the date the outcome was measured."))
    if period_end_on is not None and period_end_on < period_start_on:
        raise DomainError(_("The period must end on or after its start."))
    record = OutcomeRecord(
        metric_id=metric.id,
        shift_id=shift.id if shift else None,
        value=parse_value(value),
        period_start_on=period_start_on,
        period_end_on=period_end_on,
        source=source,
        note=note[:500],
        recorded_by_id=by.id if by else None,
        recorded_at=now,
    )
    db.session.add(record)
    db.session.flush()
    signals.outcome_recorded.send(record, now=now)
    return record


def void_outcome(record: OutcomeRecord, *, by: User, reason: str, now: dt.datetime) -> None:
    """Withdraw a record without deleting it; who and why are kept."""
    if record.voided_at is not None:
        return
    if not reason.strip():
        raise DomainError(_("Please say why this value is withdrawn."))
    record.voided_at = now
    record.voided_by_id = by.id
    record.void_reason = reason[:500]
    db.session.flush()
    signals.outcome_recorded.send(record, now=now)


# ---------------------------------------------------------------------------------------------
# A shift's outcomes, partner reports, and the records of an initiative


def shift_outcome_records(shift: Shift) -> list[OutcomeRecord]:
    """The standing (not voided) outcome records of a shift, with their metrics and authors."""
    return list(
        db.session.scalars(
            sa.select(OutcomeRecord)
            .where(OutcomeRecord.shift_id == shift.id, OutcomeRecord.voided_at.is_(None))
            .order_by(OutcomeRecord.recorded_at, OutcomeRecord.id)
            .options(joinedload(OutcomeRecord.recorded_by))
        )
    )


def shift_metrics(shift: Shift) -> list[OutcomeMetric]:
    return list(
        db.session.scalars(
            sa.select(OutcomeMetric)
            .where(OutcomeMetric.initiative_id == shift.initiative_id)
            .order_by(OutcomeMetric.position, OutcomeMetric.id)
        )
    )


def record_shift_outcomes(
    shift: Shift, values: dict[int, str], *, by: User, now: dt.datetime
) -> int:
    """Record what a finished shift achieved, one value per metric (blank ones skipped).

    A value typed again on the roster replaces the earlier roster value of the same metric for
    this shift: the old record is voided with a reason and a new one added, so totals never
    count a correction twice and nothing is deleted. Values texted in by volunteers stay.
    Returns how many values were recorded.
    """
    if shift.ends_at > now:
        raise DomainError(_("Outcomes can be recorded once the shift has ended."))
    metrics = {m.id: m for m in shift_metrics(shift)}
    parsed: dict[int, decimal.Decimal] = {}
    for metric_id, raw in values.items():
        if raw is None or not str(raw).strip():
            continue
        if metric_id not in metrics:
            raise NotFound(_("That measure belongs to another initiative."))
        parsed[metric_id] = parse_value(raw)
    standing: dict[int, list[OutcomeRecord]] = {}
    for record in shift_outcome_records(shift):
        if record.source == OutcomeSource.WEB:
            standing.setdefault(record.metric_id, []).append(record)
    recorded = 0
    for metric_id, value in parsed.items():
        earlier = standing.get(metric_id, [])
        if len(earlier) == 1 and earlier[0].value == value:
            continue
        for record in earlier:
            void_outcome(record, by=by, reason=_("Replaced by a corrected value"), now=now)
        record_outcome(
            metrics[metric_id], value, now=now, source=OutcomeSource.WEB, by=by, shift=shift
        )
        recorded += 1
    return recorded


def record_partner_report(
    initiative: Initiative,
    metric_id: int,
    value: str,
    *,
    period_start_on: dt.date,
    period_end_on: dt.date,
    note: str,
    by: User,
    now: dt.datetime,
) -> OutcomeRecord:
    """A value reported for a date range (a partner's monthly count, a survey)."""
    metric = db.session.get(OutcomeMetric, metric_id)
    if metric is None or metric.initiative_id != initiative.id:
        raise NotFound(_("That measure belongs to another initiative."))
    today = local(now, initiative.timezone).date()
    if period_end_on > today:
        raise DomainError(_("The period cannot end in the future."))
    return record_outcome(
        metric,
        value,
        now=now,
        source=OutcomeSource.PARTNER_REPORT,
        by=by,
        period_start_on=period_start_on,
        period_end_on=period_end_on,
        note=note.strip(),
    )


@dataclass
class OutcomeListing:
    records: list[OutcomeRecord]
    voided_by: dict[int, User]


def initiative_outcome_records(initiative: Initiative) -> OutcomeListing:
    """Every outcome record of an initiative, voided ones included, newest first."""
    records = list(
        db.session.scalars(
            sa.select(OutcomeRecord)
            .join(OutcomeRecord.metric)
            .where(OutcomeMetric.initiative_id == initiative.id)
            .order_by(OutcomeRecord.recorded_at.desc(), OutcomeRecord.id.desc())
            .options(
                joinedload(OutcomeRecord.metric),
                joinedload(OutcomeRecord.recorded_by),
                joinedload(OutcomeRecord.shift),
            )
        )
    )
    voider_ids = {r.voided_by_id for r in records if r.voided_by_id}
    voided_by = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(voider_ids)))}
        if voider_ids
        else {}
    )
    return OutcomeListing(records=records, voided_by=voided_by)


def manageable_outcome_record(record_id: int, user: User) -> OutcomeRecord:
    """An outcome record the user may manage; anything else answers NotFound."""
    record = db.session.get(
        OutcomeRecord,
        record_id,
        options=[joinedload(OutcomeRecord.metric).joinedload(OutcomeMetric.initiative)],
    )
    if record is None or not can_manage_organization(
        user, record.metric.initiative.organization_id
    ):
        raise NotFound(_("We could not find that record."))
    return record


# ---------------------------------------------------------------------------------------------
# Goal progress


@dataclass(frozen=True)
class GoalProgress:
    """A goal with how much of it has been achieved so far."""

    metric: OutcomeMetric
    achieved: decimal.Decimal

    @property
    def percent(self) -> int:
        """Whole percent of the target reached, rounded down so 99.6% never reads as done."""
        return progress_percent(self.achieved, self.metric.target)

    @property
    def bar_value(self) -> decimal.Decimal:
        return min(self.achieved, self.metric.target)

    @property
    def is_met(self) -> bool:
        return self.achieved >= self.metric.target


def progress_percent(achieved: decimal.Decimal, target: decimal.Decimal) -> int:
    if not target or target <= 0:
        return 0
    return math.floor(decimal.Decimal(achieved) * 100 / decimal.Decimal(target))


def latest_record_value(
    *, from_on: dt.date | None = None, to_on: dt.date | None = None
) -> sa.ScalarSelect:
    """The value of the latest live record of the `OutcomeMetric` in the enclosing query, among
    records whose period starts within [from_on, to_on] (None when there is none).

    This is how an outcome goal stands (share of students reading at grade level: measured again
    and again, the latest counts), while an output goal (trees planted) adds up its records.
    Every report of goal progress uses it. The record table is aliased and the subquery
    correlates to the metric only, so it also works in queries that join records themselves.
    """
    record = aliased(OutcomeRecord)
    within = []
    if from_on is not None:
        within.append(record.period_start_on >= from_on)
    if to_on is not None:
        within.append(record.period_start_on <= to_on)
    return (
        sa.select(record.value)
        .where(record.metric_id == OutcomeMetric.id, record.voided_at.is_(None), *within)
        .order_by(
            sa.func.coalesce(record.period_end_on, record.period_start_on).desc(),
            record.recorded_at.desc(),
            record.id.desc(),
        )
        .limit(1)
        .correlate(OutcomeMetric)
        .scalar_subquery()
    )


def goal_progress(metric_ids: Iterable[int]) -> dict[int, decimal.Decimal]:
    """Where each metric stands, from its outcome records that are not voided: the sum of an
    output's records, the latest of an outcome's (see `latest_record_value`).

    One query; metrics without records get 0. An empty list runs no query.
    """
    ids = sorted(set(metric_ids))
    if not ids:
        return {}
    total = (
        sa.select(sa.func.sum(OutcomeRecord.value))
        .where(OutcomeRecord.metric_id == OutcomeMetric.id, OutcomeRecord.voided_at.is_(None))
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(
            OutcomeMetric.id,
            sa.case((OutcomeMetric.kind == MetricKind.OUTCOME, latest_record_value()), else_=total),
        ).where(OutcomeMetric.id.in_(ids))
    )
    progress = {metric_id: decimal.Decimal(0) for metric_id in ids}
    for metric_id, value in rows:
        progress[metric_id] = decimal.Decimal(value or 0)
    return progress


def goals_with_progress(metrics: Iterable[OutcomeMetric]) -> list[GoalProgress]:
    """Each metric with its progress, in the order given, in one query."""
    metrics = list(metrics)
    totals = goal_progress(m.id for m in metrics)
    return [GoalProgress(m, totals.get(m.id, decimal.Decimal(0))) for m in metrics]


# ---------------------------------------------------------------------------------------------
# Pace


class PaceState(enum.StrEnum):
    MET = "met"  # the target is reached
    NO_DEADLINE = "no_deadline"  # nothing to pace against
    MISSED = "missed"  # the deadline has passed short of the target
    ON_PACE = "on_pace"  # `per_week` more each week for `weeks_left` weeks meets the target


@dataclass(frozen=True)
class Pace:
    state: PaceState
    remaining: decimal.Decimal
    days_left: int | None = None
    weeks_left: int | None = None
    per_week: decimal.Decimal | None = None


def goal_pace(
    target: decimal.Decimal,
    achieved: decimal.Decimal,
    deadline_on: dt.date | None,
    *,
    today: dt.date,
) -> Pace:
    """How much more a goal needs each week to reach `target` by `deadline_on`.

    The deadline day counts (a deadline of today leaves one day, so one week). Weeks are
    rounded up, so a goal due in 10 days has 2 weeks left. The weekly amount is rounded up, to
    a whole number when what remains is whole (nobody plants 33.34 trees), so keeping pace
    always meets the target.
    """
    target = decimal.Decimal(target)
    achieved = decimal.Decimal(achieved)
    remaining = max(target - achieved, decimal.Decimal(0))
    if remaining == 0:
        return Pace(PaceState.MET, remaining)
    if deadline_on is None:
        return Pace(PaceState.NO_DEADLINE, remaining)
    days_left = (deadline_on - today).days + 1
    if days_left <= 0:
        return Pace(PaceState.MISSED, remaining, days_left=0, weeks_left=0)
    weeks_left = math.ceil(days_left / 7)
    exact = remaining / weeks_left
    if remaining == remaining.to_integral_value():
        per_week = exact.to_integral_value(rounding=decimal.ROUND_CEILING)
    else:
        per_week = exact.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_CEILING)
    return Pace(
        PaceState.ON_PACE,
        remaining,
        days_left=days_left,
        weeks_left=weeks_left,
        per_week=per_week,
    )


@dataclass(frozen=True)
class GoalStatus:
    """A goal with its progress and the pace it needs."""

    progress: GoalProgress
    pace: Pace


def goal_statuses(metrics: Iterable[OutcomeMetric], *, today: dt.date) -> list[GoalStatus]:
    """Each metric with its progress and, as of `today`, the pace it needs (one query)."""
    return [
        GoalStatus(
            progress,
            goal_pace(
                progress.metric.target, progress.achieved, progress.metric.deadline_on, today=today
            ),
        )
        for progress in goals_with_progress(metrics)
    ]
