"""Initiatives (from the blueprints, spread over the neighborhoods and organizations), their
skills, languages, neighborhoods and goals, and their shifts behind and ahead."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

from volunteer_app.core.time import from_local, local
from volunteer_app.initiatives.blueprints import BLUEPRINTS, Blueprint
from volunteer_app.initiatives.models import (
    DEFAULT_REMINDER_MINUTES,
    Initiative,
    InitiativeStatus,
    MetricKind,
    OutcomeMetric,
    initiative_languages,
    initiative_neighborhoods,
    initiative_skills,
)
from volunteer_app.seed import reference as ref
from volunteer_app.seed.city.plan import CityPlan, PlannedInitiative, PlannedShift
from volunteer_app.shifts.models import Shift, ShiftStatus

START_HOURS = (9, 10, 13, 17, 18)


def plan_initiatives(plan: CityPlan) -> None:
    first_id = plan.next_id(Initiative)
    metric_ids = itertools.count(plan.next_id(OutcomeMetric))
    blueprints = list(BLUEPRINTS.values())
    plan.initiative_links = {
        initiative_skills: [],
        initiative_languages: [],
        initiative_neighborhoods: [],
    }
    for n in range(plan.size["initiatives"]):
        blueprint = blueprints[n % len(blueprints)]
        hood = plan.neighborhoods[n % len(plan.neighborhoods)]
        initiative = _initiative(plan, n, first_id + n, blueprint, hood)
        plan.initiatives.append(initiative)
        _links(plan, initiative.id, blueprint, hood)
        _goals(plan, initiative, blueprint, metric_ids)


def _initiative(
    plan: CityPlan, n: int, initiative_id: int, blueprint: Blueprint, hood
) -> PlannedInitiative:
    rng, now = plan.rng, plan.now
    roll = rng.random()
    status = (
        InitiativeStatus.PUBLISHED
        if n == 0 or roll < 0.8
        else InitiativeStatus.CLOSED
        if roll < 0.9
        else InitiativeStatus.DRAFT
    )
    created_at = now - dt.timedelta(days=rng.uniform(760, 900))
    published_at = None
    if status != InitiativeStatus.DRAFT:
        published_at = created_at + dt.timedelta(days=rng.uniform(3, 20))
    closed_at = None
    if status == InitiativeStatus.CLOSED:
        closed_at = now - dt.timedelta(days=rng.uniform(10, 300))
    timezone = "America/Chicago" if rng.random() < 0.15 else ref.DEMO_TIMEZONE
    organization_id = plan.organization_ids[n % len(plan.organization_ids)]
    name = str(blueprint.name)
    row: dict[str, Any] = {
        "id": initiative_id,
        "organization_id": organization_id,
        "cause_id": plan.cause_ids[blueprint.cause_slug],
        "slug": f"{blueprint.slug}-{n + 1:03d}",
        "title": f"{name}: {hood.name} {n // len(plan.neighborhoods) + 1}",
        "summary": f"{name} in {hood.name}, with neighbors and the city.",
        "story": str(blueprint.description),
        "blueprint": blueprint.slug,
        "timezone": timezone,
        "status": status,
        "minimum_age": rng.choice((0, 0, 0, 0, 14, 16, 18)),
        "reminder_minutes": list(DEFAULT_REMINDER_MINUTES),
        "created_at": created_at,
        "published_at": published_at,
        "closed_at": closed_at,
    }
    plan.initiative_rows.append(row)
    return PlannedInitiative(
        id=initiative_id,
        status=status,
        timezone=timezone,
        minimum_age=row["minimum_age"],
        organization_id=organization_id,
        created_at=created_at,
        published_at=published_at,
        closed_at=closed_at,
    )


def _links(plan: CityPlan, initiative_id: int, blueprint: Blueprint, hood) -> None:
    """The skills it asks for, the languages it works in, the neighborhoods it serves."""
    rng, links = plan.rng, plan.initiative_links
    for slug in blueprint.skill_slugs:
        if slug in plan.skill_ids:
            links[initiative_skills].append(
                {
                    "initiative_id": initiative_id,
                    "skill_id": plan.skill_ids[slug],
                }
            )
    for code in ("en", "es") if rng.random() < 0.5 else ("en",):
        links[initiative_languages].append(
            {
                "initiative_id": initiative_id,
                "language_code": code,
            }
        )
    hoods = {hood.id} | {h.id for h in rng.sample(plan.neighborhoods, rng.randint(0, 2))}
    for hood_id in sorted(hoods):
        links[initiative_neighborhoods].append(
            {
                "initiative_id": initiative_id,
                "neighborhood_id": hood_id,
            }
        )


def _goals(
    plan: CityPlan,
    initiative: PlannedInitiative,
    blueprint: Blueprint,
    metric_ids: Iterator[int],
) -> None:
    """The blueprint's first goals (two or more); a published initiative's output goals without
    a baseline are measured per shift (outcomes)."""
    rng, timezone = plan.rng, initiative.timezone
    if initiative.closed_at is not None:
        deadline = local(initiative.closed_at, timezone).date()
    else:
        deadline = local(plan.now, timezone).date() + dt.timedelta(days=rng.randint(60, 200))
    templates = blueprint.metrics[: rng.randint(2, len(blueprint.metrics))]
    for position, template in enumerate(templates):
        metric_id = next(metric_ids)
        plan.metric_rows.append(
            {
                "id": metric_id,
                "initiative_id": initiative.id,
                "name": str(template.name),
                "unit": str(template.unit),
                "kind": template.kind,
                "target": template.suggested_target,
                "baseline": template.suggested_baseline,
                "deadline_on": deadline,
                "sms_keyword": template.sms_keyword,
                "position": position,
                "created_at": initiative.created_at,
            }
        )
        measured_per_shift = (
            template.kind == MetricKind.OUTPUT and template.suggested_baseline is None
        )
        if measured_per_shift and initiative.status == InitiativeStatus.PUBLISHED:
            initiative.metric_ids.append(metric_id)


def plan_shifts(plan: CityPlan) -> None:
    """Shifts behind (while each initiative ran) and ahead (open initiatives'). A few drafts'
    shifts ahead (being prepared), none behind them."""
    rng = plan.rng
    first_id = plan.next_id(Shift)
    total, ahead = plan.size["shifts"], plan.size["upcoming shifts"]
    codes = rng.sample(range(10_000, 100_000), total)
    open_now = [i for i in plan.initiatives if i.status != InitiativeStatus.CLOSED]
    served = [i for i in plan.initiatives if i.status != InitiativeStatus.DRAFT] or open_now
    published = [i for i in open_now if i.status == InitiativeStatus.PUBLISHED] or open_now
    for n in range(total):
        if n < ahead:
            initiative = rng.choice(open_now if rng.random() < 0.05 else published)
        else:
            initiative = rng.choice(served)
        starts_at = _start(plan, initiative, upcoming=n < ahead)
        row = _shift_row(plan, n, first_id + n, initiative, starts_at)
        row["code"] = str(codes[n])
        local_day = local(starts_at, initiative.timezone).date()
        plan.shifts.append(PlannedShift(row, initiative, local_day))


def _start(plan: CityPlan, initiative: PlannedInitiative, *, upcoming: bool) -> dt.datetime:
    """Within 90 days ahead (at least an hour ahead), or while the initiative ran (the last
    two years of it)."""
    rng, now = plan.rng, plan.now
    if upcoming:
        days = rng.uniform(0.3, 90)
    else:
        # Shifts are planned only for initiatives that were published.
        assert initiative.published_at is not None
        earliest = (now - initiative.published_at).days - 1
        latest = 2
        if initiative.closed_at is not None:
            latest = (now - initiative.closed_at).days + 7
        days = -rng.uniform(latest, max(latest, min(earliest, 730)))
    day = local(now + dt.timedelta(days=days), initiative.timezone).date()
    hour = dt.time(rng.choice(START_HOURS))
    starts_at = from_local(dt.datetime.combine(day, hour), initiative.timezone)
    while upcoming and starts_at <= now + dt.timedelta(hours=1):
        day += dt.timedelta(days=1)
        starts_at = from_local(dt.datetime.combine(day, hour), initiative.timezone)
    return starts_at


def _shift_row(
    plan: CityPlan, n: int, shift_id: int, initiative: PlannedInitiative, starts_at: dt.datetime
) -> dict:
    """The shift's row without its code; `spots_taken` is left to the column's 0 (writing
    has shifts.services recount it once the signups are in)."""
    rng, now = plan.rng, plan.now
    minutes = rng.choice((120, 150, 180, 240))
    hood = rng.choice(plan.neighborhoods) if rng.random() < 0.9 else None
    cancelled = rng.random() < 0.02
    cancelled_at = None
    if cancelled:
        cancelled_at = min(starts_at - dt.timedelta(days=rng.uniform(1, 4)), now)
        cancelled_at = max(cancelled_at, initiative.created_at)
    return {
        "id": shift_id,
        "initiative_id": initiative.id,
        "starts_at": starts_at,
        "ends_at": starts_at + dt.timedelta(minutes=minutes),
        "location_name": f"{hood.name} Recreation Center" if hood else "Across the city",
        "address": f"{100 + n % 1900} Example St NW" if hood else "",
        "latitude": round(hood.centroid_lat + rng.uniform(-0.01, 0.01), 5) if hood else None,
        "longitude": round(hood.centroid_lon + rng.uniform(-0.01, 0.01), 5) if hood else None,
        "neighborhood_id": hood.id if hood else None,
        "capacity": rng.randint(5, 30),
        "role": rng.choice((None, None, "Team member", "Greeter", "Crew lead")),
        "description": ("Cancelled: heavy rain is forecast. " if cancelled else "")
        + "Gloves, tools and water are provided.",
        "effort": rng.choice((None, "light", "moderate", "heavy")),
        "series_id": None,
        "status": ShiftStatus.CANCELLED if cancelled else ShiftStatus.SCHEDULED,
        "team_lead_id": None,
        "created_at": initiative.created_at,
        "updated_at": cancelled_at or initiative.created_at,
        "cancelled_at": cancelled_at,
    }
