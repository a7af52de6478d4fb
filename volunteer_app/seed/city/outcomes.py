"""Outcome records: per shift with attendees, for the published initiatives' goals measured
per shift (a few voided), and goal targets that put each goal part of the way there."""

from __future__ import annotations

import datetime as dt
import decimal

from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.seed.city.plan import CityPlan, PlannedShift

CENT = decimal.Decimal("0.01")


def plan_outcomes(plan: CityPlan) -> None:
    rng = plan.rng
    next_id = plan.next_id(OutcomeRecord)
    pairs = [
        (shift, metric_id)
        for shift in plan.shifts
        if shift.attendees
        for metric_id in shift.initiative.metric_ids
    ]
    rng.shuffle(pairs)
    pairs = pairs[: plan.size["outcome records"]]
    pairs.sort(key=lambda pair: (pair[0].row["id"], pair[1]))
    totals: dict[int, decimal.Decimal] = {}
    for record_id, (shift, metric_id) in enumerate(pairs, start=next_id):
        record = _record(plan, record_id, shift, metric_id)
        plan.outcomes.append(record)
        if record["voided_at"] is None:
            totals[metric_id] = totals.get(metric_id, decimal.Decimal(0)) + record["value"]
    # Targets that put each goal part of the way there, rounded the way people set goals.
    for metric in plan.metric_rows:
        total = totals.get(metric["id"])
        if total:
            share = decimal.Decimal(rng.uniform(0.35, 1.1))
            metric["target"] = _round_up_nicely(total / share)


def _record(plan: CityPlan, record_id: int, shift: PlannedShift, metric_id: int) -> dict:
    """Recorded by the coordinator (on the web) or an attendee (by text) after the shift."""
    rng, now, row = plan.rng, plan.now, shift.row
    value = decimal.Decimal(len(shift.attendees) * rng.uniform(0.5, 6)).quantize(CENT)
    by_text = rng.random() < 0.15
    recorded_at = min(row["ends_at"] + dt.timedelta(minutes=rng.randint(5, 600)), now)
    coordinator = plan.coordinator_of[shift.initiative.organization_id]
    voided = rng.random() < 0.02
    return {
        "id": record_id,
        "metric_id": metric_id,
        "shift_id": row["id"],
        "value": value,
        "period_start_on": shift.local_day,
        "period_end_on": None,
        "source": OutcomeSource.SMS if by_text else OutcomeSource.WEB,
        "note": "",
        "recorded_by_id": rng.choice(shift.attendees) if by_text else coordinator,
        "recorded_at": recorded_at,
        "voided_at": min(recorded_at + dt.timedelta(days=1), now) if voided else None,
        "voided_by_id": coordinator if voided else None,
        "void_reason": "Entered twice." if voided else None,
    }


def _round_up_nicely(value: decimal.Decimal) -> decimal.Decimal:
    """Up to two significant figures: 17,342 becomes 18,000."""
    if value <= 0:
        return decimal.Decimal(1)
    digits = len(str(int(value)))
    step = decimal.Decimal(10) ** max(digits - 2, 0)
    return ((value / step).to_integral_value(rounding=decimal.ROUND_CEILING) * step).quantize(CENT)
