"""Hours: every attended signup's approved attendance hours, then hours served off-shift and
reported by the volunteers themselves (most approved, some waiting, a few rejected), each
review with its audit row."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

from volunteer_app.core.time import local
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.seed.city.plan import CityPlan, Person, PlannedInitiative


def plan_hours(plan: CityPlan) -> None:
    ids = itertools.count(plan.next_id(HoursEntry))
    audit_ids = itertools.count(plan.next_id(HoursAudit))
    _attendance_hours(plan, ids)
    _self_reported_hours(plan, ids, audit_ids)


def _attendance_hours(plan: CityPlan, ids: Iterator[int]) -> None:
    for signup, shift in plan.attended:
        row = shift.row
        plan.hours.append(
            {
                "id": next(ids),
                "user_id": signup["user_id"],
                "initiative_id": row["initiative_id"],
                "shift_id": row["id"],
                "signup_id": signup["id"],
                "served_on": shift.local_day,
                "started_at": row["starts_at"],
                "ended_at": row["ends_at"],
                "minutes": int((row["ends_at"] - row["starts_at"]).total_seconds() // 60),
                "source": HoursSource.ATTENDANCE,
                "status": HoursStatus.APPROVED,
                "note": "",
                "created_at": signup["checked_out_at"],
                "reviewed_by_id": None,
                "reviewed_at": signup["checked_out_at"],
            }
        )


def _self_reported_hours(plan: CityPlan, ids: Iterator[int], audit_ids: Iterator[int]) -> None:
    """Up to the hours entries wanted, each while both the person and the initiative were
    there (draws that find no such time are skipped)."""
    rng, now = plan.rng, plan.now
    reporters = [p for p in plan.people if p.has_email]
    served = [i for i in plan.initiatives if i.status != InitiativeStatus.DRAFT]
    missing = plan.size["hours entries"] - len(plan.hours)
    for _ in range(max(missing, 0) if reporters and served else 0):
        person = rng.choice(reporters)
        initiative = rng.choice(served)
        assert initiative.published_at is not None  # drafts were left out above
        since = max(person.created_at, initiative.published_at)
        if initiative.closed_at is not None:
            until = initiative.closed_at
        else:
            until = now - dt.timedelta(days=1)
        if until <= since:
            continue
        served_at = since + (until - since) * rng.random()
        _self_report(plan, next(ids), person, initiative, served_at, audit_ids=audit_ids)


def _self_report(
    plan: CityPlan,
    entry_id: int,
    person: Person,
    initiative: PlannedInitiative,
    served_at: dt.datetime,
    *,
    audit_ids: Iterator[int],
) -> None:
    rng, now = plan.rng, plan.now
    created_at = min(served_at + dt.timedelta(hours=rng.randint(2, 72)), now)
    roll = rng.random()
    status = (
        HoursStatus.APPROVED
        if roll < 0.85
        else HoursStatus.PENDING
        if roll < 0.95
        else HoursStatus.REJECTED
    )
    minutes = rng.choice((30, 45, 60, 90, 120, 180))
    reviewer = None
    reviewed_at = None
    if status != HoursStatus.PENDING:
        reviewer = plan.coordinator_of[initiative.organization_id]
        reviewed_at = min(created_at + dt.timedelta(days=rng.uniform(0.2, 4)), now)
        plan.audits.append(
            {
                "id": next(audit_ids),
                "hours_entry_id": entry_id,
                "changed_by_id": reviewer,
                "changed_at": reviewed_at,
                "minutes_before": minutes,
                "minutes_after": minutes,
                "status_before": str(HoursStatus.PENDING),
                "status_after": str(status),
                "reason": "Thanks!"
                if status == HoursStatus.APPROVED
                else "Not a program activity.",
            }
        )
    plan.hours.append(
        {
            "id": entry_id,
            "user_id": person.id,
            "initiative_id": initiative.id,
            "shift_id": None,
            "signup_id": None,
            "served_on": local(served_at, initiative.timezone).date(),
            "started_at": None,
            "ended_at": None,
            "minutes": minutes,
            "source": HoursSource.SELF_REPORT,
            "status": status,
            "note": "Helped a neighbor on my block.",
            "created_at": created_at,
            "reviewed_by_id": reviewer,
            "reviewed_at": reviewed_at,
        }
    )
