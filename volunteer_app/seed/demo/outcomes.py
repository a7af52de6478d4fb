"""Demo phase 5: outcomes: what each attended shift achieved, partners' reports, and the
targets that put each initiative where its plan says it stands; the value of an hour."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import random
from collections import defaultdict
from collections.abc import Callable

from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource, VolunteerHourRate
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.seed import reference as ref
from volunteer_app.seed.demo.city import City
from volunteer_app.seed.plans import PLANS
from volunteer_app.shifts.models import SignupStatus

CENT = decimal.Decimal("0.01")

# Independent Sector's national value of a volunteer hour, by the year of service.
HOUR_RATES_CENTS = {2024: 3479, 2023: 3349, 2022: 3180, 2021: 2995}


def add_outcomes(city: City) -> None:
    rng = city.rng
    totals: dict[tuple[str, str], decimal.Decimal] = defaultdict(decimal.Decimal)
    attendees: dict[int, list[int]] = defaultdict(list)  # shift id -> user ids
    for planned, signup in city.signups:
        if signup.status == SignupStatus.ATTENDED and signup.checked_out_at is not None:
            attendees[planned.shift.id].append(signup.user_id)

    for planned in city.planned:
        people = attendees.get(planned.shift.id)
        if not people:
            continue
        shift, plan = planned.shift, planned.plan
        coordinator = city.coordinators[plan.organization]
        served_on = local(shift.starts_at, plan.timezone).date()
        for key, value in _shift_outcomes(rng, planned.series.activity, len(people)):
            if key not in plan.metric_keys or value <= 0:
                continue
            amount = decimal.Decimal(value).quantize(CENT)
            by_text = rng.random() < 0.15
            db.session.add(
                OutcomeRecord(
                    metric_id=city.metrics[plan.slug][key].id,
                    shift_id=shift.id,
                    value=amount,
                    period_start_on=served_on,
                    source=OutcomeSource.SMS if by_text else OutcomeSource.WEB,
                    recorded_by_id=rng.choice(people) if by_text else coordinator.id,
                    recorded_at=city.past(
                        shift.ends_at + dt.timedelta(minutes=rng.randint(5, 600))
                    ),
                )
            )
            totals[plan.slug, key] += amount

    for slug, key, value, start_on, end_on, note in _partner_reports(city):
        plan = next(p for p in PLANS if p.slug == slug)
        db.session.add(
            OutcomeRecord(
                metric_id=city.metrics[slug][key].id,
                value=decimal.Decimal(value).quantize(CENT),
                period_start_on=start_on,
                period_end_on=end_on,
                source=OutcomeSource.PARTNER_REPORT,
                note=note,
                recorded_by_id=city.coordinators[plan.organization].id,
                # Filed three days after the period, at 10 am: the report on the month
                # that just ended may not be in yet, and then it is filed just now.
                recorded_at=city.past(
                    from_local(
                        dt.datetime.combine(end_on + dt.timedelta(days=3), dt.time(10)),
                        plan.timezone,
                    )
                ),
            )
        )
        totals[slug, key] += decimal.Decimal(value)

    _set_targets(city, totals)


def _partner_reports(city: City):
    """(initiative, metric, value, first day, last day, note) reported by partners."""
    rng = city.rng
    today = local(city.now, ref.DEMO_TIMEZONE).date()
    month_start = today.replace(day=1)
    reports = []
    # The food bank's monthly pantry reports for the last three complete months.
    for _ in range(3):
        last_day = month_start - dt.timedelta(days=1)
        month_start = last_day.replace(day=1)
        reports.append(
            (
                "lets-grow",
                "families",
                rng.randint(55, 95),
                month_start,
                last_day,
                "Families receiving garden produce at the pantry (monthly report).",
            )
        )
    school_start = today - dt.timedelta(weeks=14)
    reports += [
        ("third-grade-reads", "students", 58, school_start, school_start + dt.timedelta(27),
         "Students enrolled by the schools at the start of tutoring."),
        ("third-grade-reads", "students", 14, school_start + dt.timedelta(28),
         today - dt.timedelta(days=14), "Students enrolled since."),
        ("third-grade-reads", "reading_level", 49, school_start,
         today - dt.timedelta(days=10),
         "Mid-year reading assessment: share of tutored students at grade level."),
        ("read-together-online", "students", 16, today - dt.timedelta(weeks=10),
         today - dt.timedelta(weeks=9), "Students matched with an online tutor."),
        ("storm-busters", "trees_alive", 131, today - dt.timedelta(days=400),
         today - dt.timedelta(days=365),
         "Survival check of last year's pilot planting, one year on."),
    ]  # fmt: skip
    return reports


def _set_targets(city: City, totals: dict[tuple[str, str], decimal.Decimal]) -> None:
    """Targets that put each initiative where its plan says it stands today, rounded the
    way people set goals (18,000 pounds, not 17,342)."""
    rng = city.rng
    for plan in PLANS:
        low, high = plan.progress
        today = local(city.now, plan.timezone).date()
        initiative = city.initiatives[plan.slug]
        if plan.status == InitiativeStatus.CLOSED:
            assert initiative.closed_at is not None  # add_initiatives closed it after its shifts
            deadline = local(initiative.closed_at, plan.timezone).date()
        else:
            deadline = _month_end(today + dt.timedelta(days=rng.randint(60, 200)))
        for key, metric in city.metrics[plan.slug].items():
            metric.deadline_on = deadline
            if metric.baseline is not None:
                continue  # a measured rate: the blueprint's baseline and target stand
            total = totals.get((plan.slug, key))
            if total:
                metric.target = _round_up_nicely(total / decimal.Decimal(rng.uniform(low, high)))
    # Survival is judged against the trees planted.
    storm = city.metrics["storm-busters"]
    storm["trees_alive"].target = _round_up_nicely(storm["trees"].target * decimal.Decimal("0.85"))


def add_hour_rates(city: City) -> None:
    for year, cents in HOUR_RATES_CENTS.items():
        db.session.add(
            VolunteerHourRate(
                year=year,
                region="US",
                cents=cents,
                source="Independent Sector",
                created_at=city.now,
            )
        )


def _shift_outcomes(rng: random.Random, activity: str, people: int) -> list[tuple[str, float]]:
    """What one shift of an activity achieved, given how many people came."""
    outcomes: dict[str, Callable[[], list[tuple[str, float]]]] = {
        "cleanup": lambda: [
            ("litter", round(people * rng.uniform(18, 40))),
            ("graffiti", round(people * rng.uniform(4, 15)) if rng.random() < 0.3 else 0),
            ("trees", rng.randint(2, 8) if rng.random() < 0.25 else 0),
            ("green_spaces", 1 if rng.random() < 0.15 else 0),
        ],
        "graffiti": lambda: [("graffiti", round(people * rng.uniform(30, 80)))],
        "planting": lambda: [
            ("trees", round(people * rng.uniform(1, 2.5))),
            ("riverbank", round(people * rng.uniform(100, 250)) if rng.random() < 0.35 else 0),
            ("rain_gardens", 1 if rng.random() < 0.1 else 0),
        ],
        "rain_garden": lambda: [("rain_gardens", 1 if rng.random() < 0.5 else 0)],
        "tutoring": lambda: [("tutoring_hours", people * 1.5)],
        "online_tutoring": lambda: [("tutoring_hours", people * 1.0)],
        "canvass": lambda: [
            ("households", round(people * rng.uniform(5, 12))),
            ("trained", people if rng.random() < 0.25 else 0),
        ],
        "fair": lambda: [("households", round(people * rng.uniform(8, 20)))],
        "garden": lambda: [
            ("plots", max(1, round(people * rng.uniform(0.5, 1)))),
            ("produce", round(people * rng.uniform(3, 8))),
        ],
        "pantry": lambda: [("produce", round(people * rng.uniform(15, 30)))],
        "weatherize": lambda: [
            ("audits", people // 2 + rng.randint(0, 1)),
            ("retrofits", rng.randint(1, 3) if people >= 4 else 0),
        ],
    }
    return outcomes[activity]() if activity in outcomes else []


def _round_up_nicely(value: decimal.Decimal) -> decimal.Decimal:
    """Round up to two significant figures: 17,342 -> 18,000; 47 -> 47; 3.2 -> 4."""
    if value <= 10:
        return decimal.Decimal(max(1, math.ceil(value)))
    step = decimal.Decimal(10) ** (len(str(int(value))) - 2)
    return (value / step).to_integral_value(rounding=decimal.ROUND_CEILING) * step


def _month_end(day: dt.date) -> dt.date:
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return next_month - dt.timedelta(days=1)
