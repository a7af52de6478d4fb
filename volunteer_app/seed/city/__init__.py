"""A city-scale data set: the demo city (with its logins), grown to a city's size.

At scale 1.0: about 50,000 volunteers, 200 initiatives, 20,000 shifts (about 5,000 of them
ahead), 200,000 signups, 150,000 hours entries and 20,000 outcome records, on top of the demo
city, so the whole app (not only a benchmark) can be tried and timed at city scale.

The demo city is built first, as `flask seed demo` builds it; the bulk rows are planned in
Python and written with Core bulk inserts in chunks (the ORM's unit of work would take many
minutes), under the same rules as the demo and the services:

- every shift's `spots_taken` equals its confirmed, attended and no-show signups (the shifts go
  in at 0 and shifts.services.recount_spots counts them once the signups are in) and never
  exceeds its capacity; waitlists run 1..n and only on full shifts ahead; a cancelled shift
  holds nobody; nobody holds two overlapping shifts or is on a shift below its minimum age;
- phones are E.164 and unique, emails unique, shift codes unique (five digits, the demo's
  have four);
- every instant is aware UTC and nothing happened after `now` (only shifts start ahead);
- every attended signup carries its approved attendance hours, and only attended ones do;
  the other hours are self-reported, some waiting for review; `days_to_next_service` is
  filled in as the app keeps it;
- outcome records belong to published initiatives' goals, and each goal's target puts it
  part of the way there;
- a week of invitations (at most one per person and shift) to shifts ahead, to people not
  on them.

One module per phase, run in this order on one `CityPlan` (plan.py; they share its seeded
generator, so the order is part of the data): `people` (what the demo city has, volunteers),
`initiatives` (initiatives, goals and shifts), `signups` (signups, waitlists, attendance),
`hours`, `outcomes` (outcome records, goal targets), `invitations`, then `writing` (the bulk
inserts and the counts).

Flushes, never commits: `flask seed city` commits once (and then runs ANALYZE).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import Organization, User
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import Initiative
from volunteer_app.matching.models import Invitation
from volunteer_app.seed.city import hours, initiatives, invitations, outcomes, people, signups
from volunteer_app.seed.city.plan import CityPlan
from volunteer_app.seed.city.writing import analyze, write
from volunteer_app.seed.demo import build_demo_city
from volunteer_app.shifts.models import Shift, Signup

__all__ = ["FULL_CITY", "MAX_SCALE", "CitySummary", "analyze", "build_city", "city_size"]

MAX_SCALE = 4.0  # five-digit shift codes run out beyond it

# What scale 1.0 adds to the demo city.
FULL_CITY = {
    "volunteers": 50_000,
    "initiatives": 200,
    "shifts": 20_000,
    "upcoming shifts": 5_000,
    "signups": 200_000,
    "hours entries": 150_000,
    "outcome records": 20_000,
    "invitations": 10_000,  # a week of them, as matching sends
}


@dataclass
class CitySummary:
    """What is in the database now, and what the bulk load added to the demo city."""

    counts: dict[str, int]
    added: dict[str, int]
    demo: dict[str, int] = field(default_factory=dict)


def city_size(scale: float) -> dict[str, int]:
    """The bulk rows a scale adds (at least one initiative, one shift ahead)."""
    size = {key: round(value * scale) for key, value in FULL_CITY.items()}
    size["initiatives"] = max(size["initiatives"], 1)
    size["upcoming shifts"] = max(min(size["upcoming shifts"], size["shifts"]), 1)
    size["shifts"] = max(size["shifts"], size["upcoming shifts"])
    return size


def build_city(now: dt.datetime, *, scale: float = 1.0) -> CitySummary:
    """Write the demo city, then the city-scale rows around it. Flushes, never commits."""
    if not 0 < scale <= MAX_SCALE:
        raise ValueError(f"scale must be above 0 and at most {MAX_SCALE}")
    if now.utcoffset() != dt.timedelta(0):
        raise ValueError("now must be an aware UTC instant")
    demo = build_demo_city(now)
    db.session.flush()
    plan = CityPlan(
        now, city_size(scale), consent_version=current_app.config["SMS_CONSENT_VERSION"]
    )
    people.read_demo_city(plan)
    people.plan_volunteers(plan)
    initiatives.plan_initiatives(plan)
    initiatives.plan_shifts(plan)
    signups.plan_signups(plan)
    hours.plan_hours(plan)
    outcomes.plan_outcomes(plan)
    invitations.plan_invitations(plan)
    write(plan)
    return CitySummary(counts=_counts(now), added=plan.added, demo=demo.counts)


def _counts(now: dt.datetime) -> dict[str, int]:
    def count(model) -> int:
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    upcoming = sa.select(sa.func.count()).select_from(Shift).where(Shift.starts_at > now)
    return {
        "organizations": count(Organization),
        "people": count(User),
        "initiatives": count(Initiative),
        "shifts": count(Shift),
        "upcoming shifts": db.session.execute(upcoming).scalar_one(),
        "signups": count(Signup),
        "hours entries": count(HoursEntry),
        "outcome records": count(OutcomeRecord),
        "invitations": count(Invitation),
    }
