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

Flushes, never commits: `flask seed city` commits once (and then runs ANALYZE).
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import (
    DAY_PARTS,
    Membership,
    Organization,
    Role,
    User,
    availability_bit,
    user_causes,
    user_languages,
    user_skills,
)
from volunteer_app.core.db import StrEnumType, UTCDateTime
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.hours.models import (
    HoursAudit,
    HoursEntry,
    HoursSource,
    HoursStatus,
    refresh_service_gaps,
)
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.initiatives.blueprints import BLUEPRINTS
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
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.seed import reference as ref
from volunteer_app.seed.demo import build_demo_city
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupSource, SignupStatus
from volunteer_app.shifts.services import recount_spots

RANDOM_SEED = 2027
CHUNK = 10_000
RECOUNT_CHUNK = 5_000  # shift ids per recount_spots, clear of SQLite's parameter limit
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

CENT = decimal.Decimal("0.01")
EMAIL_DOMAIN = "residents.example"
# 202-200-0000 onwards: valid US numbers, clear of the demo's 202-555-01xx.
PHONE_BASE = 2_000_000
START_HOURS = (9, 10, 13, 17, 18)
ATTENDED_SHARE = 0.86  # of the past spot-holders; the others did not show up


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
    builder = _CityBuilder(now, city_size(scale))
    builder.build()
    return CitySummary(counts=_counts(now), added=builder.added, demo=demo.counts)


def analyze() -> str:
    """Fresh planner statistics after the bulk load, as a deployment's maintenance would give
    (VACUUM ANALYZE on PostgreSQL, also for its index-only scans). Run after the commit: both
    run outside a transaction."""
    command = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(command)
    return command


def _counts(now: dt.datetime) -> dict[str, int]:
    def count(model) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    upcoming = sa.select(sa.func.count()).select_from(Shift).where(Shift.starts_at > now)
    return {
        "organizations": count(Organization),
        "people": count(User),
        "initiatives": count(Initiative),
        "shifts": count(Shift),
        "upcoming shifts": db.session.scalar(upcoming),
        "signups": count(Signup),
        "hours entries": count(HoursEntry),
        "outcome records": count(OutcomeRecord),
        "invitations": count(Invitation),
    }


@dataclass
class _Person:
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
class _Initiative:
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
class _Shift:
    row: dict
    initiative: _Initiative
    local_day: dt.date
    attendees: list[int] = field(default_factory=list)


class _CityBuilder:
    def __init__(self, now: dt.datetime, size: dict[str, int]):
        self.now = now
        self.size = size
        self.rng = random.Random(RANDOM_SEED)
        self.consent_version = current_app.config["SMS_CONSENT_VERSION"]
        self.added: dict[str, int] = {}

    # -----------------------------------------------------------------------------------------

    def build(self) -> None:
        self.read_demo_city()
        self.plan_volunteers()
        self.plan_initiatives()
        self.plan_shifts()
        self.plan_signups()
        self.plan_hours()
        self.plan_outcomes()
        self.plan_invitations()
        self.write()

    def _insert(self, table: sa.Table, rows: list[dict], what: str | None = None) -> None:
        if rows:
            bulk_insert(db.session.connection(), table, rows)
        if what:
            self.added[what] = len(rows)

    def _next_id(self, model) -> int:
        return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1

    # -----------------------------------------------------------------------------------------
    # What the demo city already has

    def read_demo_city(self) -> None:
        session = db.session
        self.neighborhoods = session.execute(
            sa.select(
                Neighborhood.id,
                Neighborhood.zip_codes,
                Neighborhood.name,
                Neighborhood.centroid_lat,
                Neighborhood.centroid_lon,
                Neighborhood.is_priority,
            ).order_by(Neighborhood.id)
        ).all()
        self.cause_ids = dict(session.execute(sa.select(Cause.slug, Cause.id)).all())
        self.skill_ids = dict(session.execute(sa.select(Skill.slug, Skill.id)).all())
        self.language_codes = sorted(session.scalars(sa.select(Language.code)))
        self.coordinator_of = dict(
            session.execute(
                sa.select(Membership.organization_id, sa.func.min(Membership.user_id)).group_by(
                    Membership.organization_id
                )
            ).all()
        )
        self.organization_ids = sorted(self.coordinator_of)
        # Everyone gets the demo password (hashed once by the demo: Argon2 is slow on purpose).
        self.password_hash = session.scalar(
            sa.select(User.password_hash).where(User.email == ref.ADMIN_EMAIL)
        )

    # -----------------------------------------------------------------------------------------
    # People

    def plan_volunteers(self) -> None:
        rng, now = self.rng, self.now
        today = local(now, ref.DEMO_TIMEZONE).date()
        first_id = self._next_id(User)
        hood_weights = [3 if n.is_priority else 1 for n in self.neighborhoods]
        cause_ids = list(self.cause_ids.values())
        skill_ids = list(self.skill_ids.values())
        homes = ["en"] * 60 + ["es"] * 25 + ["zh"] * 5 + ["vi"] * 5 + ["ht"] * 5
        parts = range(len(DAY_PARTS))
        self.users: list[dict] = []
        self.people: list[_Person] = []
        self.user_causes: list[dict] = []
        self.user_skills: list[dict] = []
        self.user_languages: list[dict] = []
        for n in range(self.size["volunteers"]):
            user_id = first_id + n
            home = rng.choice(homes)
            firsts, lasts = ref.NAME_POOLS[home]
            first, last = rng.choice(firsts), rng.choice(lasts)
            created_at = now - dt.timedelta(days=rng.uniform(30, 1100), minutes=rng.randint(0, 900))
            text_only = rng.random() < 0.02
            has_phone = text_only or rng.random() < 0.6
            consented = has_phone and (text_only or rng.random() < 0.9)
            consent_at = created_at + dt.timedelta(minutes=rng.randint(1, 20))
            opted_out = consented and rng.random() < 0.03
            hood = rng.choices(self.neighborhoods, hood_weights)[0]
            mask = 0
            for _ in range(rng.randint(1, 5)):
                mask |= availability_bit(rng.randrange(7), rng.choice(parts))
            birth_date = None
            if rng.random() < 0.9:
                birth_date = today - dt.timedelta(days=rng.randint(16 * 366, 80 * 365))
            row = {
                "id": user_id,
                "email": None if text_only else _email(first, last, user_id),
                "password_hash": None if text_only else self.password_hash,
                "name": f"{first} {last}",
                "role": Role.VOLUNTEER,
                "active": True,
                "created_at": created_at,
                "last_login_at": None,
                "phone": f"+1202{PHONE_BASE + n:07d}" if has_phone else None,
                "sms_consent_at": consent_at if consented else None,
                "sms_consent_version": self.consent_version if consented else None,
                "sms_consent_source": (
                    ("sms" if text_only else rng.choice(("web", "web", "paper")))
                    if consented
                    else None
                ),
                "sms_opted_out_at": (
                    consent_at + (now - consent_at) * rng.random() if opted_out else None
                ),
                "preferred_language": "es" if home == "es" else "en",
                "neighborhood_id": None if text_only else hood.id,
                "zip_code": None if text_only else hood.zip_codes.split()[0],
                "availability_mask": 0 if text_only else mask,
                "travel_miles": None if text_only else float(rng.choice((1, 2, 3, 5, 5, 10))),
                "effort_preference": None
                if text_only
                else rng.choice((None, "light", "moderate", "heavy")),
                "birth_date": None if text_only else birth_date,
                "onboarded_at": None
                if text_only
                else created_at + dt.timedelta(minutes=rng.randint(3, 40)),
            }
            self.users.append(row)
            self.people.append(
                _Person(
                    id=user_id,
                    created_at=created_at,
                    birth_date=row["birth_date"],
                    can_text=consented and not opted_out,
                    has_email=not text_only,
                )
            )
            if text_only:
                continue
            for cause_id in rng.sample(cause_ids, rng.randint(1, 3)):
                self.user_causes.append({"user_id": user_id, "cause_id": cause_id})
            for skill_id in rng.sample(skill_ids, rng.randint(0, 3)):
                self.user_skills.append({"user_id": user_id, "skill_id": skill_id})
            speaks = {home}
            if home != "en" and rng.random() < 0.7 or home == "en" and rng.random() < 0.15:
                speaks.add("en" if home != "en" else "es")
            for code in sorted(speaks & set(self.language_codes)):
                self.user_languages.append({"user_id": user_id, "language_code": code})

    # -----------------------------------------------------------------------------------------
    # Initiatives and their goals

    def plan_initiatives(self) -> None:
        rng, now = self.rng, self.now
        first_id = self._next_id(Initiative)
        metric_id = self._next_id(OutcomeMetric)
        blueprints = list(BLUEPRINTS.values())
        self.initiative_rows: list[dict] = []
        self.metric_rows: list[dict] = []
        self.initiative_links: dict[sa.Table, list[dict]] = {
            initiative_skills: [],
            initiative_languages: [],
            initiative_neighborhoods: [],
        }
        self.initiatives: list[_Initiative] = []
        count = self.size["initiatives"]
        for n in range(count):
            initiative_id = first_id + n
            blueprint = blueprints[n % len(blueprints)]
            hood = self.neighborhoods[n % len(self.neighborhoods)]
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
            organization_id = self.organization_ids[n % len(self.organization_ids)]
            name = str(blueprint.name)
            self.initiative_rows.append({
                "id": initiative_id,
                "organization_id": organization_id,
                "cause_id": self.cause_ids[blueprint.cause_slug],
                "slug": f"{blueprint.slug}-{n + 1:03d}",
                "title": f"{name}: {hood.name} {n // len(self.neighborhoods) + 1}",
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
            })
            initiative = _Initiative(
                id=initiative_id,
                status=status,
                timezone=timezone,
                minimum_age=self.initiative_rows[-1]["minimum_age"],
                organization_id=organization_id,
                created_at=created_at,
                published_at=published_at,
                closed_at=closed_at,
            )
            self.initiatives.append(initiative)
            links = self.initiative_links
            for slug in blueprint.skill_slugs:
                if slug in self.skill_ids:
                    links[initiative_skills].append({
                        "initiative_id": initiative_id,
                        "skill_id": self.skill_ids[slug],
                    })
            for code in ("en", "es") if rng.random() < 0.5 else ("en",):
                links[initiative_languages].append({
                    "initiative_id": initiative_id,
                    "language_code": code,
                })
            hoods = {hood.id} | {h.id for h in rng.sample(self.neighborhoods, rng.randint(0, 2))}
            for hood_id in sorted(hoods):
                links[initiative_neighborhoods].append({
                    "initiative_id": initiative_id,
                    "neighborhood_id": hood_id,
                })
            if status == InitiativeStatus.CLOSED:
                deadline = local(closed_at, timezone).date()
            else:
                deadline = local(now, timezone).date() + dt.timedelta(days=rng.randint(60, 200))
            templates = blueprint.metrics[: rng.randint(2, len(blueprint.metrics))]
            for position, template in enumerate(templates):
                self.metric_rows.append({
                    "id": metric_id,
                    "initiative_id": initiative_id,
                    "name": str(template.name),
                    "unit": str(template.unit),
                    "kind": template.kind,
                    "target": template.suggested_target,
                    "baseline": template.suggested_baseline,
                    "deadline_on": deadline,
                    "sms_keyword": template.sms_keyword,
                    "position": position,
                    "created_at": created_at,
                })
                measured_per_shift = (
                    template.kind == MetricKind.OUTPUT and template.suggested_baseline is None
                )
                if measured_per_shift and status == InitiativeStatus.PUBLISHED:
                    initiative.metric_ids.append(metric_id)
                metric_id += 1

    # -----------------------------------------------------------------------------------------
    # Shifts

    def plan_shifts(self) -> None:
        rng, now = self.rng, self.now
        first_id = self._next_id(Shift)
        total, ahead = self.size["shifts"], self.size["upcoming shifts"]
        codes = rng.sample(range(10_000, 100_000), total)
        open_now = [i for i in self.initiatives if i.status != InitiativeStatus.CLOSED]
        served = [i for i in self.initiatives if i.status != InitiativeStatus.DRAFT] or open_now
        # Drafts are being prepared: a few shifts ahead, nothing behind them.
        published = [i for i in open_now if i.status == InitiativeStatus.PUBLISHED] or open_now
        self.shifts: list[_Shift] = []
        for n in range(total):
            upcoming = n < ahead
            if upcoming:
                pool = open_now if rng.random() < 0.05 else published
                initiative = rng.choice(pool)
                days = rng.uniform(0.3, 90)
            else:
                initiative = rng.choice(served)
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
            minutes = rng.choice((120, 150, 180, 240))
            hood = rng.choice(self.neighborhoods) if rng.random() < 0.9 else None
            cancelled = rng.random() < 0.02
            cancelled_at = None
            if cancelled:
                cancelled_at = min(starts_at - dt.timedelta(days=rng.uniform(1, 4)), now)
                cancelled_at = max(cancelled_at, initiative.created_at)
            row = {
                "id": first_id + n,
                "initiative_id": initiative.id,
                "starts_at": starts_at,
                "ends_at": starts_at + dt.timedelta(minutes=minutes),
                "location_name": f"{hood.name} Recreation Center" if hood else "Across the city",
                "address": f"{100 + n % 1900} Example St NW" if hood else "",
                "latitude": round(hood.centroid_lat + rng.uniform(-0.01, 0.01), 5)
                if hood
                else None,
                "longitude": round(hood.centroid_lon + rng.uniform(-0.01, 0.01), 5)
                if hood
                else None,
                "neighborhood_id": hood.id if hood else None,
                "capacity": rng.randint(5, 30),
                "role": rng.choice((None, None, "Team member", "Greeter", "Crew lead")),
                "description": ("Cancelled: heavy rain is forecast. " if cancelled else "")
                + "Gloves, tools and water are provided.",
                "effort": rng.choice((None, "light", "moderate", "heavy")),
                "code": str(codes[n]),
                "series_id": None,
                "status": ShiftStatus.CANCELLED if cancelled else ShiftStatus.SCHEDULED,
                "team_lead_id": None,
                "created_at": initiative.created_at,
                "updated_at": cancelled_at or initiative.created_at,
                "cancelled_at": cancelled_at,
            }
            local_day = local(starts_at, initiative.timezone).date()
            self.shifts.append(_Shift(row, initiative, local_day))

    # -----------------------------------------------------------------------------------------
    # Signups

    def plan_signups(self) -> None:
        rng, now = self.rng, self.now
        next_id = self._next_id(Signup)
        self.signups: list[dict] = []
        self.attended: list[tuple[dict, _Shift]] = []
        fills = []
        for shift in self.shifts:
            row = shift.row
            if shift.initiative.status == InitiativeStatus.DRAFT:
                fills.append(0.0)
                continue
            days_ahead = (row["starts_at"] - now).total_seconds() / 86400
            if days_ahead < 0:
                fill = rng.uniform(0.45, 1.0)
            elif days_ahead < 14:
                fill = rng.uniform(0.35, 1.0)
            else:
                fill = rng.uniform(0.05, 0.45)
            fills.append(row["capacity"] * fill)
        # Seven shifts in ten see one cancellation (below); the other signups hold spots. The
        # fills are scaled to the signups wanted, capacity permitting.
        # Some picks find nobody free and old enough in time: aim a little higher.
        wanted_total = 1.06 * self.size["signups"] - 0.7 * len(self.shifts)
        capacities = [shift.row["capacity"] for shift in self.shifts]
        factor = 1.0
        for _ in range(4):
            planned = sum(
                min(fill * factor, capacity)
                for fill, capacity in zip(fills, capacities, strict=True)
            )
            factor *= wanted_total / (planned or 1)
        people = self.people
        regulars = people[: max(len(people) // 5, 1)]

        def someone() -> _Person:
            return rng.choice(regulars) if rng.random() < 0.3 else rng.choice(people)

        for shift, fill in zip(self.shifts, fills, strict=True):
            row = shift.row
            if not people or fill == 0:
                continue
            capacity = row["capacity"]
            wanted = min(round(fill * factor), capacity)
            starts_at, ends_at = row["starts_at"], row["ends_at"]
            initiative = shift.initiative
            opened_at = max(initiative.published_at, starts_at - dt.timedelta(days=28))
            latest = min(starts_at - dt.timedelta(hours=2), now)
            if row["cancelled_at"] is not None:
                latest = min(latest, row["cancelled_at"] - dt.timedelta(hours=1))
            upcoming = starts_at > now
            full = wanted == capacity
            waiting = rng.randint(1, 3) if upcoming and full and rng.random() < 0.3 else 0
            on_shift: set[int] = set()
            joined: list[tuple[dt.datetime, _Person]] = []
            tries = 0
            while len(joined) < wanted + waiting and tries < 10 * (wanted + waiting):
                tries += 1
                person = someone()
                if person.id in on_shift:
                    continue
                earliest = max(opened_at, person.created_at)
                if latest <= earliest or not person.is_free(starts_at, ends_at):
                    continue
                if initiative.minimum_age:
                    age = person.age_on(shift.local_day)
                    if age is None or age < initiative.minimum_age:
                        continue
                on_shift.add(person.id)
                joined.append((earliest + (latest - earliest) * rng.random(), person))
            joined.sort(key=lambda pair: pair[0])
            taken = position = 0
            for created_at, person in joined:
                signup = self._signup(next_id, shift, person, created_at)
                next_id += 1
                if row["cancelled_at"] is not None:
                    signup.update(
                        status=SignupStatus.CANCELLED,
                        cancelled_at=row["cancelled_at"],
                        updated_at=row["cancelled_at"],
                    )
                elif taken < capacity:
                    taken += 1
                    self._outcome_of_spot(signup, shift, upcoming)
                else:
                    position += 1
                    signup.update(status=SignupStatus.WAITLISTED, waitlist_position=position)
                    signup["confirmed_at"] = None
                if signup["status"] != SignupStatus.CANCELLED:
                    person.busy.append((starts_at, ends_at))
                self.signups.append(signup)
            if taken:
                row["updated_at"] = max(row["updated_at"], joined[min(taken, len(joined)) - 1][0])
            # Now and then someone cancels; they keep their row, without a spot.
            if row["cancelled_at"] is None and rng.random() < 0.7:
                person = someone()
                earliest = max(opened_at, person.created_at)
                cancel_by = min(starts_at, now)
                if person.id not in on_shift and cancel_by > earliest + dt.timedelta(hours=1):
                    created_at = earliest + (cancel_by - earliest) * rng.random() * 0.5
                    cancelled_at = min(created_at + dt.timedelta(days=2), cancel_by)
                    signup = self._signup(next_id, shift, person, created_at)
                    next_id += 1
                    signup.update(
                        status=SignupStatus.CANCELLED,
                        cancelled_at=cancelled_at,
                        updated_at=cancelled_at,
                    )
                    self.signups.append(signup)

    def _signup(
        self, signup_id: int, shift: _Shift, person: _Person, created_at: dt.datetime
    ) -> dict:
        roll = self.rng.random()
        past = shift.row["starts_at"] <= self.now
        if not person.has_email or roll < 0.15 and person.can_text:
            source = SignupSource.SMS
        elif roll > 0.96:
            source = SignupSource.WALK_IN if past else SignupSource.COORDINATOR
        else:
            source = SignupSource.WEB
        return {
            "id": signup_id,
            "shift_id": shift.row["id"],
            "user_id": person.id,
            "status": SignupStatus.CONFIRMED,
            "waitlist_position": None,
            "source": source,
            "created_at": created_at,
            "updated_at": created_at,
            "confirmed_at": created_at,
            "cancelled_at": None,
            "reconfirmed_at": None,
            "checked_in_at": None,
            "checked_out_at": None,
            "check_in_method": None,
        }

    def _outcome_of_spot(self, signup: dict, shift: _Shift, upcoming: bool) -> None:
        """A spot-holder: coming (ahead), or came or did not (past: attendance is taken)."""
        rng, now = self.rng, self.now
        starts_at, ends_at = shift.row["starts_at"], shift.row["ends_at"]
        if upcoming:
            if (starts_at - now) < dt.timedelta(days=2) and rng.random() < 0.5:
                reconfirmed_at = now - dt.timedelta(hours=rng.randint(1, 20))
                if reconfirmed_at > signup["created_at"]:
                    signup["reconfirmed_at"] = reconfirmed_at
            return
        if rng.random() >= ATTENDED_SHARE:
            signup["status"] = SignupStatus.NO_SHOW
            signup["updated_at"] = min(ends_at + dt.timedelta(hours=2), now)
            return
        checked_out_at = min(ends_at + dt.timedelta(minutes=rng.randint(0, 15)), now)
        signup.update(
            status=SignupStatus.ATTENDED,
            checked_in_at=starts_at - dt.timedelta(minutes=rng.randint(0, 12)),
            checked_out_at=checked_out_at,
            check_in_method=rng.choice(("kiosk", "kiosk", "sms", "web", "roster")),
            updated_at=checked_out_at,
        )
        self.attended.append((signup, shift))
        shift.attendees.append(signup["user_id"])

    # -----------------------------------------------------------------------------------------
    # Hours

    def plan_hours(self) -> None:
        rng, now = self.rng, self.now
        next_id = self._next_id(HoursEntry)
        audit_id = self._next_id(HoursAudit)
        self.hours: list[dict] = []
        self.audits: list[dict] = []
        for signup, shift in self.attended:
            row = shift.row
            self.hours.append({
                "id": next_id,
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
            })
            next_id += 1
        # Hours served off-shift and reported by the volunteers themselves.
        reporters = [p for p in self.people if p.has_email]
        served = [i for i in self.initiatives if i.status != InitiativeStatus.DRAFT]
        missing = self.size["hours entries"] - len(self.hours)
        for _ in range(max(missing, 0) if reporters and served else 0):
            person = rng.choice(reporters)
            initiative = rng.choice(served)
            since = max(person.created_at, initiative.published_at)
            if initiative.closed_at is not None:
                until = initiative.closed_at
            else:
                until = now - dt.timedelta(days=1)
            if until <= since:
                continue
            served_at = since + (until - since) * rng.random()
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
                reviewer = self.coordinator_of[initiative.organization_id]
                reviewed_at = min(created_at + dt.timedelta(days=rng.uniform(0.2, 4)), now)
                self.audits.append({
                    "id": audit_id,
                    "hours_entry_id": next_id,
                    "changed_by_id": reviewer,
                    "changed_at": reviewed_at,
                    "minutes_before": minutes,
                    "minutes_after": minutes,
                    "status_before": str(HoursStatus.PENDING),
                    "status_after": str(status),
                    "reason": "Thanks!"
                    if status == HoursStatus.APPROVED
                    else "Not a program activity.",
                })
                audit_id += 1
            self.hours.append({
                "id": next_id,
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
            })
            next_id += 1

    # -----------------------------------------------------------------------------------------
    # Outcomes

    def plan_outcomes(self) -> None:
        rng, now = self.rng, self.now
        next_id = self._next_id(OutcomeRecord)
        pairs = [
            (shift, metric_id)
            for shift in self.shifts
            if shift.attendees
            for metric_id in shift.initiative.metric_ids
        ]
        rng.shuffle(pairs)
        pairs = pairs[: self.size["outcome records"]]
        pairs.sort(key=lambda pair: (pair[0].row["id"], pair[1]))
        totals: dict[int, decimal.Decimal] = {}
        self.outcomes: list[dict] = []
        for shift, metric_id in pairs:
            row = shift.row
            value = decimal.Decimal(len(shift.attendees) * rng.uniform(0.5, 6)).quantize(CENT)
            by_text = rng.random() < 0.15
            recorded_at = min(row["ends_at"] + dt.timedelta(minutes=rng.randint(5, 600)), now)
            coordinator = self.coordinator_of[shift.initiative.organization_id]
            voided = rng.random() < 0.02
            self.outcomes.append({
                "id": next_id,
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
            })
            next_id += 1
            if not voided:
                totals[metric_id] = totals.get(metric_id, decimal.Decimal(0)) + value
        # Targets that put each goal part of the way there, rounded the way people set goals.
        for metric in self.metric_rows:
            total = totals.get(metric["id"])
            if total:
                share = decimal.Decimal(rng.uniform(0.35, 1.1))
                metric["target"] = _round_up_nicely(total / share)

    # -----------------------------------------------------------------------------------------
    # Invitations

    def plan_invitations(self) -> None:
        """A week of invitations to shifts ahead, from a coordinator of each, to people not on
        them; most unanswered, some declined."""
        rng, now = self.rng, self.now
        next_id = self._next_id(Invitation)
        taken = {(signup["shift_id"], signup["user_id"]) for signup in self.signups}
        ahead = [
            shift
            for shift in self.shifts
            if shift.row["starts_at"] > now
            and shift.row["cancelled_at"] is None
            and shift.initiative.status == InitiativeStatus.PUBLISHED
        ]
        reachable = [p for p in self.people if p.can_text or p.has_email]
        self.invitations: list[dict] = []
        if not ahead or not reachable:
            return
        for _ in range(self.size["invitations"]):
            shift, person = rng.choice(ahead), rng.choice(reachable)
            key = (shift.row["id"], person.id)
            sent_at = now - dt.timedelta(days=rng.uniform(0, 7))
            if key in taken or sent_at <= person.created_at:
                continue
            taken.add(key)
            declined = rng.random() < 0.1
            self.invitations.append({
                "id": next_id,
                "shift_id": key[0],
                "user_id": key[1],
                "invited_by_id": self.coordinator_of[shift.initiative.organization_id],
                "channel": "sms" if person.can_text else "email",
                "status": InvitationStatus.DECLINED if declined else InvitationStatus.SENT,
                "sent_at": sent_at,
                "responded_at": (
                    min(sent_at + dt.timedelta(hours=rng.uniform(0.1, 30)), now)
                    if declined
                    else None
                ),
            })
            next_id += 1

    # -----------------------------------------------------------------------------------------

    def write(self) -> None:
        connection = db.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A page cache that holds the indexes being filled (256 MB, for this load only).
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql("PRAGMA cache_size=-262144")
        self._insert(User.__table__, self.users, "volunteers")
        self._insert(user_causes, self.user_causes)
        self._insert(user_skills, self.user_skills)
        self._insert(user_languages, self.user_languages)
        self._insert(Initiative.__table__, self.initiative_rows, "initiatives")
        for table, rows in self.initiative_links.items():
            self._insert(table, rows)
        self._insert(OutcomeMetric.__table__, self.metric_rows, "goals")
        self._insert(Shift.__table__, [s.row for s in self.shifts], "shifts")
        self.added["upcoming shifts"] = sum(s.row["starts_at"] > self.now for s in self.shifts)
        self._insert(Signup.__table__, self.signups, "signups")
        # The shifts went in at the column's 0; their counts are the services' to set.
        shift_ids = [s.row["id"] for s in self.shifts]
        for start in range(0, len(shift_ids), RECOUNT_CHUNK):
            recount_spots(shift_ids[start : start + RECOUNT_CHUNK])
        self._insert(HoursEntry.__table__, self.hours, "hours entries")
        self._insert(HoursAudit.__table__, self.audits)
        self._insert(OutcomeRecord.__table__, self.outcomes, "outcome records")
        self._insert(Invitation.__table__, self.invitations, "invitations")
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
        else:
            # Ids were given explicitly: move each sequence past them.
            for model in (User, Initiative, OutcomeMetric, Shift, Signup, HoursEntry, HoursAudit):
                _advance_sequence(connection, model.__table__)
            _advance_sequence(connection, OutcomeRecord.__table__)
            _advance_sequence(connection, Invitation.__table__)
        refresh_service_gaps(connection)


def bulk_insert(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in chunks of executemany, at the driver.

    SQLAlchemy's own executemany converts every value through the column types in Python,
    which at city scale is most of the time spent; the conversions here give the driver the
    same values (checked against SQLAlchemy's on the first row) with a fraction of the calls:
    instants must be aware (a naive one is refused, as UTCDateTime refuses it) and go in as
    UTC; statuses as their plain text; the rest as the column types convert them.
    """
    dialect = connection.dialect
    keys = list(rows[0])
    statement = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    order = list(statement.positiontup) if statement.positional else list(statement.binds)
    # The columns left out take their (constant) defaults; a default computed at insert time
    # (the wall clock, for one) must be given instead.
    defaults = {}
    for key in order:
        if key not in rows[0]:
            default = table.c[key].default
            if default is None or not default.is_scalar:
                raise ValueError(f"{table.name}.{key} must be given")
            defaults[key] = default.arg
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    converters = [_converter(table.c[key].type, dialect) for key in order]
    reference = [table.c[key].type._cached_bind_processor(dialect) for key in order]
    first = rows[0]
    for key, convert, check in zip(order, converters, reference, strict=True):
        value = first[key]
        fast = convert(value) if convert else value
        slow = check(value) if check else value
        if fast != slow and repr(fast) != repr(slow):  # (psycopg.Json has no ==)
            raise AssertionError(f"{table.name}.{key}: {fast!r} is not {slow!r}")
    pairs = list(zip(order, converters, strict=True))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if statement.positional:
            params: list = [
                tuple(convert(row[key]) if convert else row[key] for key, convert in pairs)
                for row in chunk
            ]
        else:
            params = [
                {key: convert(row[key]) if convert else row[key] for key, convert in pairs}
                for row in chunk
            ]
        connection.exec_driver_sql(statement.string, params)


def _converter(kind: sa.types.TypeEngine, dialect: sa.Dialect):
    if isinstance(kind, UTCDateTime):
        return _sqlite_instant if dialect.name == "sqlite" else _aware_instant
    if isinstance(kind, StrEnumType):
        return _text
    if isinstance(kind, sa.Date) and dialect.name == "sqlite":
        return _iso_date
    return kind._cached_bind_processor(dialect)


def _aware_instant(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
    return value


def _sqlite_instant(value: dt.datetime | None) -> str | None:
    """As UTCDateTime and SQLite's DATETIME store it: naive UTC text with microseconds."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _iso_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _advance_sequence(connection: sa.Connection, table: sa.Table) -> None:
    connection.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
        )
    )


def _email(first: str, last: str, user_id: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
    return f"{ascii_name.decode().lower().replace(' ', '')}.{user_id}@{EMAIL_DOMAIN}"


def _round_up_nicely(value: decimal.Decimal) -> decimal.Decimal:
    """Up to two significant figures: 17,342 becomes 18,000."""
    if value <= 0:
        return decimal.Decimal(1)
    digits = len(str(int(value)))
    step = decimal.Decimal(10) ** max(digits - 2, 0)
    return ((value / step).to_integral_value(rounding=decimal.ROUND_CEILING) * step).quantize(CENT)
