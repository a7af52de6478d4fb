"""Goals in a report: every goal of the initiatives in scope with what was recorded in the
period and to its end, and its pace, in one query (progress is impact/outcomes.py's)."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import sqlalchemy as sa

from volunteer_app.extensions import db
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.impact.outcomes import Pace, goal_pace, latest_record_value, progress_percent
from volunteer_app.impact.reports.basics import (
    Period,
    Scope,
)
from volunteer_app.initiatives.models import Initiative, MetricKind, OutcomeMetric


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


def _progress_columns(period: Period) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """(recorded in the period, standing at its end) of the metric in the enclosing query, over
    its joined live records: outputs add up, an outcome stands at its latest measurement."""
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
    return in_period, to_date


_GOAL_COLUMNS = (
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
)


def _goal_row(row, *, as_of: dt.date) -> GoalRow:
    (
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
    ) = row
    target = decimal.Decimal(target)
    achieved_to_date = decimal.Decimal(achieved_to_date or 0)
    return GoalRow(
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


def goal_rows(
    scope: Scope, period: Period, *, today: dt.date, initiative_ids: list[int] | None = None
) -> list[GoalRow]:
    """Every goal of the published and closed initiatives in scope, with what was recorded in
    the period, where it stood at the period's end, and the pace each needs by its deadline, in
    one query. Outputs add up their records; an outcome stands at its latest measurement
    (impact.outcomes.latest_record_value), as on the initiative's own page."""
    in_period, to_date = _progress_columns(period)
    public_scope = Scope(
        scope.organization_id, scope.initiative_id, scope.cause_id, public_only=True
    )
    rows = db.session.execute(
        sa.select(*_GOAL_COLUMNS, in_period, to_date)
        .join(Initiative, OutcomeMetric.initiative_id == Initiative.id)
        .outerjoin(
            OutcomeRecord,
            sa.and_(OutcomeRecord.metric_id == OutcomeMetric.id, OutcomeRecord.voided_at.is_(None)),
        )
        .where(
            *public_scope.on(Initiative.id),
            *([Initiative.id.in_(initiative_ids)] if initiative_ids is not None else []),
        )
        .group_by(*_GOAL_COLUMNS, OutcomeMetric.position)
        .order_by(Initiative.title, Initiative.id, OutcomeMetric.position, OutcomeMetric.id)
    )
    as_of = min(today, period.to_on)
    return [_goal_row(row, as_of=as_of) for row in rows]
