"""The demo city while it is being built: the state every phase reads and adds to.

Each phase module (`people`, `initiatives`, `signups`, `hours`, `outcomes`, `messages`) takes
the one `City` and adds its rows; they share one seeded generator, so the phases must run in
the order `build_demo_city` gives, each drawing its random numbers in the same order as
before, for the same seed to give the same city.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app

from volunteer_app.accounts.models import Organization, User
from volunteer_app.accounts.passwords import hash_password
from volunteer_app.initiatives.models import Initiative, OutcomeMetric
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.seed import reference as ref
from volunteer_app.seed.plans import InitiativePlan, SeriesPlan
from volunteer_app.shifts.models import Shift, Signup

RANDOM_SEED = 2026


@dataclass
class Person:
    """A volunteer while the city is being built: the row plus what the planner needs."""

    user: User
    home_language: str
    cause_slugs: frozenset[str]
    skill_slugs: frozenset[str]
    language_codes: frozenset[str]
    neighborhood_slug: str | None
    # Demo logins get a fuller history so there is something to see when logging in as them.
    keenness: float = 1.0
    busy: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    per_week: Counter = field(default_factory=Counter)

    def is_free(self, shift: Shift) -> bool:
        return all(end <= shift.starts_at or start >= shift.ends_at for start, end in self.busy)


@dataclass
class PlannedShift:
    shift: Shift
    plan: InitiativePlan
    series: SeriesPlan
    week: int


class City:
    """Everything the phases built so far, keyed the way the next phases look it up."""

    admin: User

    def __init__(self, now: dt.datetime):
        self.now = now
        self.rng = random.Random(RANDOM_SEED)
        self.password_hash = hash_password(ref.DEMO_PASSWORD)  # once: Argon2 is slow on purpose
        self.consent_version = current_app.config["SMS_CONSENT_VERSION"]
        self.codes: set[str] = set()
        # Reference data, by slug (languages by code).
        self.causes: dict[str, Cause] = {}
        self.skills: dict[str, Skill] = {}
        self.languages: dict[str, Language] = {}
        self.neighborhoods: dict[str, Neighborhood] = {}
        # People: organizations and their coordinators by organization slug, then volunteers.
        self.organizations: dict[str, Organization] = {}
        self.coordinators: dict[str, User] = {}
        self.people: list[Person] = []
        # Initiatives and their metrics by initiative slug (metrics then by key).
        self.initiatives: dict[str, Initiative] = {}
        self.metrics: dict[str, dict[str, OutcomeMetric]] = {}
        # Shifts in start order, and every signup with the shift it is for.
        self.planned: list[PlannedShift] = []
        self.signups: list[tuple[PlannedShift, Signup]] = []

    def past(self, instant: dt.datetime) -> dt.datetime:
        """`instant`, or `now` if it would lie ahead: the demo shows what has happened by now."""
        return min(instant, self.now)
