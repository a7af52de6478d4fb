"""The plan the phases fill in, in memory, before `writing` puts it in the database: the rows
of each table (dicts, as the bulk inserts take them) and what later phases need to know of
the people, initiatives and shifts planned so far."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import sqlalchemy as sa

from volunteer_app.extensions import db
from volunteer_app.initiatives.models import InitiativeStatus

RANDOM_SEED = 2027


@dataclass
class Person:
    id: int
    created_at: dt.datetime
    birth_date: dt.date | None
    can_text: bool
    has_email: bool
    busy: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)

    def is_free(self, starts_at: dt.datetime, ends_at: dt.datetime) -> bool:
        return all(end <= starts_at or start >= ends_at for start, end in self.busy)

    def age_on(self, day: dt.date) -> int | None:
        born = self.birth_date
        if born is None:
            return None
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass
class PlannedInitiative:
    id: int
    status: InitiativeStatus
    timezone: str
    minimum_age: int
    organization_id: int
    created_at: dt.datetime
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    metric_ids: list[int] = field(default_factory=list)  # goals measured per shift


@dataclass
class PlannedShift:
    row: dict
    initiative: PlannedInitiative
    local_day: dt.date
    attendees: list[int] = field(default_factory=list)


@dataclass
class CityPlan:
    """One seeded generator for every phase, and the rows they plan, in the order planned."""

    now: dt.datetime
    size: dict[str, int]
    consent_version: str
    rng: random.Random = field(default_factory=lambda: random.Random(RANDOM_SEED))
    added: dict[str, int] = field(default_factory=dict)  # rows written, by what they are

    # What the demo city already has (people.read_demo_city)
    neighborhoods: list = field(default_factory=list)
    cause_ids: dict[str, int] = field(default_factory=dict)
    skill_ids: dict[str, int] = field(default_factory=dict)
    language_codes: list[str] = field(default_factory=list)
    coordinator_of: dict[int, int] = field(default_factory=dict)  # organization id: user id
    organization_ids: list[int] = field(default_factory=list)
    password_hash: str | None = None

    # people.plan_volunteers
    users: list[dict] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    user_causes: list[dict] = field(default_factory=list)
    user_skills: list[dict] = field(default_factory=list)
    user_languages: list[dict] = field(default_factory=list)

    # initiatives.plan_initiatives, initiatives.plan_shifts
    initiative_rows: list[dict] = field(default_factory=list)
    metric_rows: list[dict] = field(default_factory=list)
    initiative_links: dict[sa.Table, list[dict]] = field(default_factory=dict)
    initiatives: list[PlannedInitiative] = field(default_factory=list)
    shifts: list[PlannedShift] = field(default_factory=list)

    # signups.plan_signups, hours.plan_hours, outcomes.plan_outcomes, invitations
    signups: list[dict] = field(default_factory=list)
    attended: list[tuple[dict, PlannedShift]] = field(default_factory=list)
    hours: list[dict] = field(default_factory=list)
    audits: list[dict] = field(default_factory=list)
    outcomes: list[dict] = field(default_factory=list)
    invitations: list[dict] = field(default_factory=list)

    def next_id(self, model) -> int:
        """The first id after the rows already in the table (the demo city's)."""
        return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
