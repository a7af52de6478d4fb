"""Outcome records and goal progress (impact/outcomes.py): recording a shift's values, where
each goal stands, and the pace it needs."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_metric, make_outcome_record, make_shift, make_user
from volunteer_app.core.errors import DomainError
from volunteer_app.impact import outcomes
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.impact.outcomes import PaceState

D = decimal.Decimal
TODAY = dt.date(2026, 6, 1)  # a Monday


# ---------------------------------------------------------------------------------------------
# A shift's outcomes


def test_record_shift_outcomes_validates_everything_before_writing(db, now):
    initiative = make_initiative()
    trees, litter = make_metric(initiative, "Trees"), make_metric(initiative, "Litter")
    shift = make_shift(initiative, starts_at=now - dt.timedelta(hours=4))
    with pytest.raises(DomainError):
        outcomes.record_shift_outcomes(
            shift, {trees.id: "3", litter.id: "lots"}, by=make_user(), now=now
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeRecord)) == 0


def test_record_shift_outcomes_leaves_texted_values_alone(db, now):
    from tests.factories import make_outcome_record
    from volunteer_app.impact.models import OutcomeSource

    initiative = make_initiative()
    trees = make_metric(initiative, "Trees")
    shift = make_shift(initiative, starts_at=now - dt.timedelta(hours=4))
    texted = make_outcome_record(trees, 4, shift_id=shift.id, source=OutcomeSource.SMS)
    outcomes.record_shift_outcomes(shift, {trees.id: "10"}, by=make_user(), now=now)
    assert texted.voided_at is None
    assert len(outcomes.shift_outcome_records(shift)) == 2


# ---------------------------------------------------------------------------------------------
# Goal progress


def test_goal_progress_sums_records_that_are_not_voided_per_metric(db, now):
    initiative = make_initiative()
    trees = make_metric(initiative, "Trees planted", target=100)
    bags = make_metric(initiative, "Bags of litter", unit="bags", target=50)
    untouched = make_metric(initiative, "Gardens", unit="gardens", target=5)
    make_outcome_record(trees, D("40"))
    make_outcome_record(trees, D("22.5"))
    make_outcome_record(trees, D("1000"), voided_at=now)
    make_outcome_record(bags, D("7"))

    totals = outcomes.goal_progress([trees.id, bags.id, untouched.id])

    assert totals == {trees.id: D("62.5"), bags.id: D("7"), untouched.id: D("0")}
    assert all(isinstance(value, decimal.Decimal) for value in totals.values())


def test_goal_progress_of_nothing_is_empty_and_runs_no_query(db, count_queries):
    with count_queries() as queries:
        assert outcomes.goal_progress([]) == {}
    assert queries == []


def test_goal_progress_is_one_query_however_many_metrics(db, count_queries):
    initiative = make_initiative()
    metrics = [make_metric(initiative, f"Metric {n}") for n in range(6)]
    for metric in metrics:
        make_outcome_record(metric, 3)
        make_outcome_record(metric, 4)

    with count_queries() as queries:
        totals = outcomes.goal_progress(m.id for m in metrics)

    assert len(queries) == 1
    assert set(totals.values()) == {D("7")}


@pytest.mark.parametrize(
    ("achieved", "target", "percent"),
    [(D("62"), D("100"), 62), (D("99.6"), D("100"), 99), (D("150"), D("100"), 150), (0, 5, 0)],
)
def test_progress_percent_rounds_down(achieved, target, percent):
    assert outcomes.progress_percent(achieved, target) == percent


def test_goals_with_progress_keeps_metric_order(db, now):
    initiative = make_initiative()
    second = make_metric(initiative, "Second", position=2, target=10)
    first = make_metric(initiative, "First", position=1, target=4)
    make_outcome_record(first, 1)
    db.session.expire(initiative)

    goals = outcomes.goals_with_progress(initiative.metrics)

    assert [g.metric for g in goals] == [first, second]
    assert [g.percent for g in goals] == [25, 0]
    assert goals[0].bar_value == D("1") and not goals[0].is_met


def test_outcome_goals_show_the_latest_measurement_and_outputs_add_up(db):
    """Reading level is measured again and again (latest counts); trees planted add up."""
    import datetime as dt
    import decimal

    from tests.factories import make_initiative, make_metric
    from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
    from volunteer_app.impact.outcomes import goal_progress
    from volunteer_app.initiatives.models import MetricKind

    initiative = make_initiative()
    trees = make_metric(initiative, "Trees planted", kind=MetricKind.OUTPUT)
    reading = make_metric(
        initiative, "Reading at grade level", unit="%", kind=MetricKind.OUTCOME, baseline=40
    )
    for metric, value, day in [
        (trees, 5, 1),
        (trees, 7, 8),
        (reading, 48, 1),
        (reading, 55, 20),
        (reading, 51, 10),
    ]:
        db.session.add(
            OutcomeRecord(
                metric_id=metric.id,
                value=value,
                period_start_on=dt.date(2026, 3, day),
                source=OutcomeSource.WEB,
            )
        )
    db.session.flush()

    progress = goal_progress([trees.id, reading.id])

    assert progress == {trees.id: decimal.Decimal(12), reading.id: decimal.Decimal(55)}


# ---------------------------------------------------------------------------------------------
# Pace


def test_pace_spreads_what_remains_over_the_weeks_left():
    pace = outcomes.goal_pace(D(100), D(40), TODAY + dt.timedelta(days=34), today=TODAY)
    assert pace.state == PaceState.ON_PACE
    assert (pace.remaining, pace.days_left, pace.weeks_left, pace.per_week) == (D(60), 35, 5, 12)


def test_pace_rounds_weeks_and_amount_up_so_keeping_pace_meets_the_target():
    # 10 days left is 2 weeks (rounded up); 100 / 3 weeks is 33.3, so 34 a week.
    assert (
        outcomes.goal_pace(D(100), D(0), TODAY + dt.timedelta(days=9), today=TODAY).weeks_left == 2
    )
    pace = outcomes.goal_pace(D(100), D(0), TODAY + dt.timedelta(days=20), today=TODAY)
    assert (pace.weeks_left, pace.per_week) == (3, D(34))
    assert pace.per_week * pace.weeks_left >= 100


def test_pace_keeps_cents_when_what_remains_is_not_whole():
    pace = outcomes.goal_pace(D("10.5"), D(0), TODAY + dt.timedelta(days=13), today=TODAY)
    assert (pace.weeks_left, pace.per_week) == (2, D("5.25"))
    pace = outcomes.goal_pace(D("10.01"), D(0), TODAY + dt.timedelta(days=20), today=TODAY)
    assert pace.per_week == D("3.34")


def test_pace_on_the_deadline_day_is_one_week_for_everything_left():
    pace = outcomes.goal_pace(D(100), D(90), TODAY, today=TODAY)
    assert (pace.state, pace.days_left, pace.weeks_left, pace.per_week) == (
        PaceState.ON_PACE,
        1,
        1,
        D(10),
    )


def test_pace_after_the_deadline_is_missed():
    pace = outcomes.goal_pace(D(100), D(90), TODAY - dt.timedelta(days=1), today=TODAY)
    assert pace.state == PaceState.MISSED
    assert pace.remaining == D(10)
    assert pace.per_week is None


@pytest.mark.parametrize("achieved", [D(100), D(150)])
def test_pace_when_the_target_is_met_whatever_the_deadline(achieved):
    for deadline in (None, TODAY - dt.timedelta(days=30), TODAY + dt.timedelta(days=30)):
        pace = outcomes.goal_pace(D(100), achieved, deadline, today=TODAY)
        assert pace.state == PaceState.MET
        assert pace.remaining == 0


def test_pace_without_a_deadline_only_says_what_remains():
    pace = outcomes.goal_pace(D(100), D(30), None, today=TODAY)
    assert (pace.state, pace.remaining, pace.per_week) == (PaceState.NO_DEADLINE, D(70), None)
