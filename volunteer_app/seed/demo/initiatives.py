"""Demo phase 2: the initiatives of `seed/plans.py` with their metrics, then their shifts."""

from __future__ import annotations

import datetime as dt
import uuid

from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.initiatives.blueprints import BLUEPRINTS
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.seed.demo.city import City, PlannedShift
from volunteer_app.seed.plans import PLANS
from volunteer_app.shifts.models import Shift, ShiftStatus


def add_initiatives(city: City) -> None:
    for plan in PLANS:
        blueprint = BLUEPRINTS[plan.blueprint]
        first_week = min(series.first_week for series in plan.series)
        opened_at = city.past(city.now + dt.timedelta(weeks=first_week - 3))
        initiative = Initiative(
            slug=plan.slug,
            title=plan.title,
            summary=plan.summary,
            story=plan.story,
            blueprint=plan.blueprint,
            timezone=plan.timezone,
            status=plan.status,
            minimum_age=plan.minimum_age,
            organization=city.organizations[plan.organization],
            cause=city.causes[blueprint.cause_slug],
            skills=[city.skills[s] for s in plan.skills],
            languages=[city.languages[c] for c in plan.languages],
            neighborhoods=[
                city.neighborhoods[slug]
                for slug in dict.fromkeys(
                    place.neighborhood
                    for series in plan.series
                    for place in series.places
                    if place.neighborhood
                )
            ],
            created_at=opened_at - dt.timedelta(days=10),
        )
        if plan.status != InitiativeStatus.DRAFT:
            initiative.published_at = opened_at
        metrics = {}
        for position, key in enumerate(plan.metric_keys):
            template = blueprint.metric(key)
            metric = OutcomeMetric(
                name=str(template.name),
                unit=str(template.unit),
                kind=template.kind,
                # Provisional: targets are set once the history is known (see add_outcomes).
                target=template.suggested_target,
                baseline=template.suggested_baseline,
                sms_keyword=template.sms_keyword,
                position=position,
                created_at=initiative.created_at,
            )
            initiative.metrics.append(metric)
            metrics[key] = metric
        db.session.add(initiative)
        city.initiatives[plan.slug] = initiative
        city.metrics[plan.slug] = metrics


def add_shifts(city: City) -> None:
    rng = city.rng
    for plan in PLANS:
        initiative = city.initiatives[plan.slug]
        today = local(city.now, plan.timezone).date()
        last_end: dt.datetime | None = None
        for series in plan.series:
            series_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            next_day = today + dt.timedelta(days=(series.weekday - today.weekday()) % 7)
            for week in range(series.first_week, series.end_week):
                if (week - series.first_week) % series.every_weeks:
                    continue
                day = next_day + dt.timedelta(weeks=week)
                place = series.places[week % len(series.places)]
                starts_at = from_local(dt.datetime.combine(day, series.starts), plan.timezone)
                shift = Shift(
                    initiative=initiative,
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(minutes=series.minutes),
                    location_name=place.name,
                    address=place.address,
                    capacity=series.capacity,
                    role=series.role,
                    description=series.description,
                    effort=series.effort,
                    code=_shift_code(city),
                    series_id=series_id,
                    created_at=initiative.created_at,
                    updated_at=initiative.created_at,
                )
                if place.neighborhood:
                    hood = city.neighborhoods[place.neighborhood]
                    # Every demo neighborhood has a centroid (reference data).
                    assert hood.centroid_lat is not None and hood.centroid_lon is not None
                    shift.neighborhood = hood
                    shift.latitude = round(hood.centroid_lat + rng.uniform(-0.004, 0.004), 5)
                    shift.longitude = round(hood.centroid_lon + rng.uniform(-0.004, 0.004), 5)
                if week in plan.cancelled_weeks and series.weekday == 5:
                    shift.status = ShiftStatus.CANCELLED
                    shift.cancelled_at = city.now - dt.timedelta(days=1)
                    shift.description = "Cancelled: heavy rain is forecast. " + (shift.description)
                db.session.add(shift)
                city.planned.append(PlannedShift(shift, plan, series, week))
                last_end = max(last_end or shift.ends_at, shift.ends_at)
        if plan.status == InitiativeStatus.CLOSED and last_end is not None:
            initiative.closed_at = city.past(last_end + dt.timedelta(days=6))
    city.planned.sort(key=lambda p: (p.shift.starts_at, p.plan.slug))


def _shift_code(city: City) -> str:
    # Four digits, like generate_shift_code, but from the seeded generator so the demo's
    # codes are the same on every machine (the database is empty, so unique here is enough).
    while True:
        code = str(city.rng.randint(1000, 9999))
        if code not in city.codes:
            city.codes.add(code)
            return code
