"""Building the demo city: every row the demo needs, in one transaction, from a fixed seed.

The same random seed always gives the same city; only its dates move with `now`, so shifts
ahead are always ahead. Rows are written directly (not through the services) for speed, but
under the services' rules: `shifts.spots_taken` equals the spot-holding signups of every
shift, waitlists run 1..n, nobody holds two overlapping shifts, nobody under an initiative's
minimum age is on it, and attended signups carry their approved hours.

Nothing is written with an instant after `now`, whatever the hour: an instant derived forward
from an event (a record made hours after a shift, a report filed days after a month) goes
through `_past`, and every row gets its instants from `now`, never from the models' wall-clock
defaults (tests/test_seed.py seeds at the hours that used to trip this).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import random
import unicodedata
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from volunteer_app.accounts.models import (
    Effort,
    Membership,
    Organization,
    Role,
    User,
    availability_bit,
)
from volunteer_app.accounts.passwords import hash_password
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource, VolunteerHourRate
from volunteer_app.initiatives.blueprints import BLUEPRINTS
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.seed import reference as ref
from volunteer_app.seed.plans import PLANS, InitiativePlan, SeriesPlan
from volunteer_app.shifts.models import (
    Shift,
    ShiftStatus,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.shifts.services import recount_spots
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.outbox import render_sms
from volunteer_app.sms.segments import count_segments

RANDOM_SEED = 2026
VOLUNTEER_COUNT = 60
PROGRAM_PHONE = "+12025550100"
CENT = decimal.Decimal("0.01")

# Independent Sector's national value of a volunteer hour, by the year of service.
HOUR_RATES_CENTS = {2024: 3479, 2023: 3349, 2022: 3180, 2021: 2995}


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


@dataclass
class Summary:
    counts: dict[str, int]


def build_demo_city(now: dt.datetime) -> Summary:
    """Write the whole demo city. Flushes, never commits: the CLI commits once."""
    return _Builder(now).build()


class _Builder:
    def __init__(self, now: dt.datetime):
        self.now = now
        self.rng = random.Random(RANDOM_SEED)
        self.password_hash = hash_password(ref.DEMO_PASSWORD)  # once: Argon2 is slow on purpose
        self.consent_version = current_app.config["SMS_CONSENT_VERSION"]
        self.codes: set[str] = set()

    def _past(self, instant: dt.datetime) -> dt.datetime:
        """`instant`, or `now` if it would lie ahead: the demo shows what has happened by now."""
        return min(instant, self.now)

    # -----------------------------------------------------------------------------------------

    def build(self) -> Summary:
        self.add_reference_data()
        self.add_organizations_and_staff()
        self.add_volunteers()
        db.session.flush()
        self.add_initiatives()
        self.add_shifts()
        db.session.flush()
        self.add_signups()
        db.session.flush()
        self.add_hours()
        self.add_outcomes()
        self.add_messages()
        self.add_hour_rates()
        db.session.flush()
        return Summary(counts=self.counts())

    def counts(self) -> dict[str, int]:
        def count(model) -> int:
            return db.session.scalar(sa.select(sa.func.count()).select_from(model))

        return {
            "organizations": count(Organization),
            "people": count(User),
            "initiatives": count(Initiative),
            "shifts": count(Shift),
            "signups": count(Signup),
            "hours entries": count(HoursEntry),
            "outcome records": count(OutcomeRecord),
        }

    # -----------------------------------------------------------------------------------------
    # Reference data

    def add_reference_data(self) -> None:
        self.causes = {slug: Cause(slug=slug, name=name) for slug, name in ref.CAUSES}
        self.skills = {slug: Skill(slug=slug, name=name) for slug, name in ref.SKILLS}
        self.languages = {code: Language(code=code, name=name) for code, name in ref.LANGUAGES}
        self.neighborhoods = {
            n.slug: Neighborhood(
                slug=n.slug,
                name=n.name,
                zip_codes=n.zip_codes,
                centroid_lat=n.lat,
                centroid_lon=n.lon,
                is_priority=n.is_priority,
            )
            for n in ref.NEIGHBORHOODS
        }
        for table in (self.causes, self.skills, self.languages, self.neighborhoods):
            db.session.add_all(table.values())

    # -----------------------------------------------------------------------------------------
    # People

    def add_organizations_and_staff(self) -> None:
        joined_at = self.now - dt.timedelta(days=240)
        self.admin = User(
            email=ref.ADMIN_EMAIL,
            name=ref.ADMIN_NAME,
            role=Role.ADMIN,
            password_hash=self.password_hash,
            created_at=joined_at,
            onboarded_at=joined_at,
        )
        db.session.add(self.admin)
        self.organizations: dict[str, Organization] = {}
        self.coordinators: dict[str, User] = {}
        for data in ref.ORGANIZATIONS:
            organization = Organization(
                slug=data.slug,
                name=data.name,
                kind=data.kind,
                website=data.website,
                created_at=joined_at,
            )
            coordinator = User(
                email=data.coordinator_email,
                name=data.coordinator_name,
                role=Role.COORDINATOR,
                password_hash=self.password_hash,
                created_at=joined_at,
                onboarded_at=joined_at,
            )
            organization.memberships.append(Membership(user=coordinator, created_at=joined_at))
            db.session.add_all([organization, coordinator])
            self.organizations[data.slug] = organization
            self.coordinators[data.slug] = coordinator

    def add_volunteers(self) -> None:
        rng = self.rng
        today = local(self.now, ref.DEMO_TIMEZONE).date()
        neighborhood_slugs = [n.slug for n in ref.NEIGHBORHOODS]
        # Priority neighborhoods are where the program recruits hardest.
        neighborhood_weights = [3 if n.is_priority else 1 for n in ref.NEIGHBORHOODS]
        cause_slugs = [slug for slug, _ in ref.CAUSES]
        skill_slugs = [slug for slug, _ in ref.SKILLS]
        home_languages = ["en"] * 38 + ["es"] * 14 + ["zh"] * 3 + ["vi"] * 3 + ["ht"] * 2
        rng.shuffle(home_languages)
        used_names: set[str] = set()
        self.people: list[Person] = []
        phone_numbers = iter(range(101, 200))

        for index in range(VOLUNTEER_COUNT):
            home = home_languages[index]
            if index == 0:  # the English-speaking demo login
                home, name, email = "en", "Jordan Lee", ref.VOLUNTEER_EMAIL
            elif index == 1:  # the Spanish-speaking demo login
                home, name, email = "es", "María González", ref.SPANISH_VOLUNTEER_EMAIL
            else:
                firsts, lasts = ref.NAME_POOLS[home]
                while True:
                    name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
                    if name not in used_names:
                        break
                email = _email_for(name, index)
            used_names.add(name)
            # Three people only ever text: no email, no password, maybe no name.
            text_only = index in (7, 23, 41)
            joined_at = self.now - dt.timedelta(
                days=rng.uniform(14, 35) if index % 9 == 5 else rng.uniform(125, 220)
            )
            user = User(
                email=None if text_only else email,
                name="" if index == 41 else name,
                password_hash=None if text_only else self.password_hash,
                role=Role.VOLUNTEER,
                created_at=joined_at,
                preferred_language="es" if home == "es" else "en",
            )
            speaks = {home}
            if home != "en" and rng.random() < 0.7:
                speaks.add("en")
            if home == "en" and rng.random() < 0.15:
                speaks.add("es")

            hood = rng.choices(neighborhood_slugs, neighborhood_weights)[0]
            causes = set(rng.sample(cause_slugs, rng.randint(1, 3)))
            skills = set(rng.sample(skill_slugs, rng.randint(0, 3)))
            if "es" in speaks and rng.random() < 0.6:
                skills.add("spanish-outreach")
            if index == 0:
                causes = {"neighborhood-revitalization", "environment"}
                skills = {"gardening", "heavy-lifting"}
                hood = "anacostia"
            elif index == 1:
                causes = {"education", "food-security"}
                skills = {"tutoring", "spanish-outreach"}
                hood = "columbia-heights"
                speaks = {"es", "en"}

            if not text_only:
                user.onboarded_at = joined_at + dt.timedelta(minutes=rng.randint(3, 40))
                user.neighborhood = self.neighborhoods[hood]
                user.zip_code = self.neighborhoods[hood].zip_codes.split()[0]
                user.availability_mask = self._availability(index)
                user.travel_miles = float(rng.choice((1, 2, 3, 5, 5, 10)))
                user.effort_preference = rng.choice(
                    (None, Effort.LIGHT, Effort.MODERATE, Effort.HEAVY)
                )
                user.causes = [self.causes[s] for s in sorted(causes)]
                user.skills = [self.skills[s] for s in sorted(skills)]
                user.languages = [self.languages[c] for c in sorted(speaks)]
                user.birth_date = self._birth_date(index, today)

            if text_only or index == 1 or rng.random() < 0.62:
                user.phone = f"+1202555{next(phone_numbers):04d}"
                self._record_consent(user, index, text_only)

            db.session.add(user)
            self.people.append(
                Person(
                    user=user,
                    home_language=home,
                    cause_slugs=frozenset(causes),
                    skill_slugs=frozenset(skills),
                    language_codes=frozenset(speaks),
                    neighborhood_slug=None if text_only else hood,
                    keenness=2.0 if index < 2 else 1.0,
                )
            )

    def _availability(self, index: int) -> int:
        rng = self.rng
        slots = {(5, 0), (6, 0)} if index == 0 else set()
        if index == 1:
            slots = {(1, 1), (3, 1), (2, 1), (2, 2), (5, 0)}
        patterns = (
            [(5, 0), (5, 1), (6, 0)],  # weekend mornings
            [(0, 2), (1, 2), (2, 2), (3, 2)],  # weekday evenings
            [(1, 1), (3, 1), (0, 1)],  # weekday afternoons (retirees, students)
        )
        for pattern in rng.sample(patterns, rng.randint(1, 2)):
            slots.update(rng.sample(pattern, rng.randint(1, len(pattern))))
        mask = 0
        for weekday, part in slots:
            mask |= availability_bit(weekday, part)
        return mask

    def _birth_date(self, index: int, today: dt.date) -> dt.date | None:
        rng = self.rng
        if index in (12, 31):  # two teenagers, 16 and 17
            age = 16 if index == 12 else 17
            return today - dt.timedelta(days=round(age * 365.25) + rng.randint(30, 300))
        if index % 11 == 10:  # some people never give a birth date
            return None
        age_days = rng.randint(19 * 365, 76 * 365)
        return today - dt.timedelta(days=age_days)

    def _record_consent(self, user: User, index: int, text_only: bool) -> None:
        rng = self.rng
        if not text_only and index % 10 == 9:
            return  # a phone on file but no consent: nobody may text them
        user.sms_consent_at = user.created_at + dt.timedelta(minutes=rng.randint(1, 20))
        user.sms_consent_version = self.consent_version
        user.sms_consent_source = "sms" if text_only else rng.choice(("web", "web", "paper"))
        if index == 17:  # texted STOP a month ago
            user.sms_opted_out_at = self.now - dt.timedelta(days=31)

    # -----------------------------------------------------------------------------------------
    # Initiatives and shifts

    def add_initiatives(self) -> None:
        self.initiatives: dict[str, Initiative] = {}
        self.metrics: dict[str, dict[str, OutcomeMetric]] = {}
        for plan in PLANS:
            blueprint = BLUEPRINTS[plan.blueprint]
            first_week = min(series.first_week for series in plan.series)
            opened_at = self._past(self.now + dt.timedelta(weeks=first_week - 3))
            initiative = Initiative(
                slug=plan.slug,
                title=plan.title,
                summary=plan.summary,
                story=plan.story,
                blueprint=plan.blueprint,
                timezone=plan.timezone,
                status=plan.status,
                minimum_age=plan.minimum_age,
                organization=self.organizations[plan.organization],
                cause=self.causes[blueprint.cause_slug],
                skills=[self.skills[s] for s in plan.skills],
                languages=[self.languages[c] for c in plan.languages],
                neighborhoods=[
                    self.neighborhoods[slug]
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
            self.initiatives[plan.slug] = initiative
            self.metrics[plan.slug] = metrics

    def add_shifts(self) -> None:
        rng = self.rng
        self.planned: list[PlannedShift] = []
        for plan in PLANS:
            initiative = self.initiatives[plan.slug]
            today = local(self.now, plan.timezone).date()
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
                        code=self._shift_code(),
                        series_id=series_id,
                        created_at=initiative.created_at,
                        updated_at=initiative.created_at,
                    )
                    if place.neighborhood:
                        hood = self.neighborhoods[place.neighborhood]
                        shift.neighborhood = hood
                        shift.latitude = round(hood.centroid_lat + rng.uniform(-0.004, 0.004), 5)
                        shift.longitude = round(hood.centroid_lon + rng.uniform(-0.004, 0.004), 5)
                    if week in plan.cancelled_weeks and series.weekday == 5:
                        shift.status = ShiftStatus.CANCELLED
                        shift.cancelled_at = self.now - dt.timedelta(days=1)
                        shift.description = "Cancelled: heavy rain is forecast. " + (
                            shift.description
                        )
                    db.session.add(shift)
                    self.planned.append(PlannedShift(shift, plan, series, week))
                    last_end = max(last_end or shift.ends_at, shift.ends_at)
            if plan.status == InitiativeStatus.CLOSED and last_end is not None:
                initiative.closed_at = self._past(last_end + dt.timedelta(days=6))
        self.planned.sort(key=lambda p: (p.shift.starts_at, p.plan.slug))

    def _shift_code(self) -> str:
        # Four digits, like generate_shift_code, but from the seeded generator so the demo's
        # codes are the same on every machine (the database is empty, so unique here is enough).
        while True:
            code = str(self.rng.randint(1000, 9999))
            if code not in self.codes:
                self.codes.add(code)
                return code

    # -----------------------------------------------------------------------------------------
    # Signups

    def add_signups(self) -> None:
        self.signups: list[tuple[PlannedShift, Signup]] = []
        # The next shift of three busy series is full with people waiting.
        wants_waitlist = {
            ("love-your-block-east", 5): 3,
            ("storm-busters", 5): 2,
            ("third-grade-reads", 1): 2,
        }
        for planned in self.planned:
            shift, plan = planned.shift, planned.plan
            if plan.status == InitiativeStatus.DRAFT:
                continue
            key = (plan.slug, planned.series.weekday)
            waiting = 0
            if key in wants_waitlist and shift.starts_at > self.now and not shift.is_cancelled:
                waiting = wants_waitlist.pop(key)
            self._fill(planned, waiting)
        # The signups were written directly; their shifts' counts come from the one module
        # that keeps them.
        recount_spots(p.shift.id for p in self.planned)

    def _fill(self, planned: PlannedShift, waiting: int) -> None:
        rng, now = self.rng, self.now
        shift, plan = planned.shift, planned.plan
        days_ahead = (shift.starts_at - now).total_seconds() / 86400
        if waiting:
            wanted = shift.capacity + waiting
        elif days_ahead < 0:
            wanted = round(shift.capacity * rng.uniform(0.45, 1.0))
        elif days_ahead < 14:
            wanted = round(shift.capacity * rng.uniform(0.35, 1.0))
        else:
            wanted = round(shift.capacity * rng.uniform(0.05, 0.45))
        week = local(shift.starts_at, plan.timezone).isocalendar()[:2]
        candidates = [p for p in self.people if self._can_take(p, planned, week)]
        chosen = _weighted_sample(
            rng, candidates, [self._affinity(p, planned) for p in candidates], wanted
        )
        # Earliest signups get the spots; later ones wait, in order.
        opened_at = max(
            shift.initiative.published_at or shift.created_at,
            shift.starts_at - dt.timedelta(days=28),
        )
        joined = []
        for person in chosen:
            earliest = max(opened_at, person.user.created_at)
            latest = min(shift.starts_at - dt.timedelta(hours=2), now)
            if shift.is_cancelled:
                latest = min(latest, shift.cancelled_at - dt.timedelta(hours=1))
            if latest <= earliest:
                continue
            joined.append((earliest + (latest - earliest) * rng.random(), person))
        joined.sort(key=lambda pair: pair[0])

        ended = shift.ends_at <= now
        # Attendance for shifts that ended in the last day and a half is not taken yet.
        attendance_taken = shift.ends_at <= now - dt.timedelta(hours=36)
        in_progress = shift.starts_at <= now < shift.ends_at
        position = confirmed = 0
        for created_at, person in joined:
            signup = Signup(
                shift_id=shift.id,
                user_id=person.user.id,
                created_at=created_at,
                updated_at=created_at,
                source=self._source(person, past=ended),
            )
            if shift.is_cancelled:
                signup.status = SignupStatus.CANCELLED
                signup.confirmed_at = created_at
                signup.cancelled_at = signup.updated_at = shift.cancelled_at
            elif confirmed < shift.capacity:
                signup.confirmed_at = created_at
                confirmed += 1
                # Said outright, or the row's update would stamp it with the wall clock.
                shift.updated_at = created_at
                signup.status = SignupStatus.CONFIRMED
                if ended and attendance_taken:
                    self._take_attendance(signup, shift)
                elif in_progress and rng.random() < 0.6:
                    signup.status = SignupStatus.ATTENDED
                    signup.checked_in_at = shift.starts_at - dt.timedelta(minutes=rng.randint(0, 9))
                    signup.check_in_method = rng.choice(("kiosk", "sms", "web"))
                elif 0 < days_ahead < 2 and rng.random() < 0.5:
                    signup.reconfirmed_at = now - dt.timedelta(hours=rng.randint(1, 20))
            else:
                position += 1
                signup.status = SignupStatus.WAITLISTED
                signup.waitlist_position = position
            person.busy.append((shift.starts_at, shift.ends_at))
            person.per_week[week] += 1
            db.session.add(signup)
            self.signups.append((planned, signup))

        # Now and then someone cancels; they keep their row, without a spot.
        if not shift.is_cancelled and rng.random() < 0.2:
            others = [p for p in candidates if p not in chosen and p.is_free(shift)]
            if others:
                person = rng.choice(others)
                created_at = max(opened_at, person.user.created_at)
                cancelled_at = min(created_at + dt.timedelta(days=2), shift.starts_at, now)
                if cancelled_at > created_at:
                    signup = Signup(
                        shift_id=shift.id,
                        user_id=person.user.id,
                        status=SignupStatus.CANCELLED,
                        created_at=created_at,
                        confirmed_at=created_at,
                        cancelled_at=cancelled_at,
                        updated_at=cancelled_at,
                        source=SignupSource.WEB,
                    )
                    db.session.add(signup)
                    self.signups.append((planned, signup))

    def _can_take(self, person: Person, planned: PlannedShift, week) -> bool:
        shift, plan = planned.shift, planned.plan
        if person.user.created_at > shift.starts_at - dt.timedelta(hours=3):
            return False
        if plan.minimum_age:
            day = local(shift.starts_at, plan.timezone).date()
            age = person.user.age_on(day)
            if age is None or age < plan.minimum_age:
                return False
        return person.per_week[week] < 2 and person.is_free(shift)

    def _affinity(self, person: Person, planned: PlannedShift) -> float:
        plan, shift = planned.plan, planned.shift
        weight = 0.3
        if BLUEPRINTS[plan.blueprint].cause_slug in person.cause_slugs:
            weight += 4
        if shift.neighborhood is not None and person.neighborhood_slug == shift.neighborhood.slug:
            weight += 2
        if person.skill_slugs & set(plan.skills):
            weight += 1.5
        if person.home_language != "en" and person.home_language in plan.languages:
            weight += 2
        starts = local(shift.starts_at, plan.timezone)
        part = 0 if starts.hour < 12 else 1 if starts.hour < 17 else 2
        if person.user.availability_mask & availability_bit(starts.weekday(), part):
            weight += 2
        return weight * person.keenness

    def _source(self, person: Person, *, past: bool) -> SignupSource:
        if person.user.email is None:
            return SignupSource.SMS
        roll = self.rng.random()
        if roll < 0.15 and person.user.can_text:
            return SignupSource.SMS
        if roll > 0.95:
            return SignupSource.WALK_IN if past else SignupSource.COORDINATOR
        return SignupSource.WEB

    def _take_attendance(self, signup: Signup, shift: Shift) -> None:
        rng = self.rng
        if rng.random() < 0.13:
            signup.status = SignupStatus.NO_SHOW
            signup.updated_at = self._past(shift.ends_at + dt.timedelta(hours=2))
            return
        signup.status = SignupStatus.ATTENDED
        signup.checked_in_at = shift.starts_at - dt.timedelta(minutes=rng.randint(0, 12))
        signup.checked_out_at = self._past(shift.ends_at + dt.timedelta(minutes=rng.randint(0, 15)))
        signup.check_in_method = rng.choice(("kiosk", "kiosk", "sms", "web", "roster"))
        signup.updated_at = signup.checked_out_at

    # -----------------------------------------------------------------------------------------
    # Hours

    def add_hours(self) -> None:
        rng, now = self.rng, self.now
        entries = []
        for planned, signup in self.signups:
            if signup.status != SignupStatus.ATTENDED or signup.checked_out_at is None:
                continue
            shift = planned.shift
            entries.append(
                HoursEntry(
                    user_id=signup.user_id,
                    initiative_id=shift.initiative_id,
                    shift_id=shift.id,
                    signup_id=signup.id,
                    served_on=local(shift.starts_at, planned.plan.timezone).date(),
                    started_at=shift.starts_at,
                    ended_at=shift.ends_at,
                    minutes=int(shift.duration.total_seconds() // 60),
                    source=HoursSource.ATTENDANCE,
                    status=HoursStatus.APPROVED,
                    created_at=signup.checked_out_at,
                    reviewed_at=signup.checked_out_at,
                )
            )
        db.session.add_all(entries)

        # One correction, with its trail: a volunteer left an hour early.
        corrected = entries[len(entries) // 3]
        coordinator = self._coordinator_of(corrected.initiative_id)
        db.session.flush()
        db.session.add(
            HoursAudit(
                hours_entry_id=corrected.id,
                changed_by_id=coordinator.id,
                changed_at=self._past(corrected.created_at + dt.timedelta(days=1)),
                minutes_before=corrected.minutes,
                minutes_after=corrected.minutes - 60,
                status_before=str(HoursStatus.APPROVED),
                status_after=str(HoursStatus.APPROVED),
                reason="Left an hour early; confirmed with the team lead.",
            )
        )
        corrected.minutes -= 60

        # Hours served off-shift and reported by the volunteers themselves.
        reports = (
            ("love-your-block-east", 4, 90, "Cleaned up the alley behind my building.", None),
            ("lets-grow", 2, 60, "Watered the Deanwood garden beds on Sunday.", None),
            ("third-grade-reads", 6, 45, "Prepared the reading-log binders at home.", None),
            ("prepared-is-protected", 3, 120, "Handed out kits at my church.", None),
            ("storm-busters", 20, 150, "Mulched the street trees on my block.", "approved"),
            ("lets-grow", 25, 600, "Gardening at home.", "rejected"),
        )
        reporters = [p for p in self.people if p.user.email is not None]
        for slug, days_ago, minutes, note, decision in reports:
            initiative = self.initiatives[slug]
            person = rng.choice(reporters)
            served_on = local(now, initiative.timezone).date() - dt.timedelta(days=days_ago)
            entry = HoursEntry(
                user_id=person.user.id,
                initiative_id=initiative.id,
                served_on=served_on,
                minutes=minutes,
                source=HoursSource.SELF_REPORT,
                status=HoursStatus.PENDING,
                note=note,
                created_at=now - dt.timedelta(days=days_ago - 1, hours=rng.randint(1, 12)),
            )
            db.session.add(entry)
            if decision is None:
                continue
            db.session.flush()
            coordinator = self.coordinators[initiative.organization.slug]
            reviewed_at = self._past(entry.created_at + dt.timedelta(days=2))
            entry.status = HoursStatus(decision)
            entry.reviewed_by_id = coordinator.id
            entry.reviewed_at = reviewed_at
            db.session.add(
                HoursAudit(
                    hours_entry_id=entry.id,
                    changed_by_id=coordinator.id,
                    changed_at=reviewed_at,
                    minutes_before=minutes,
                    minutes_after=minutes,
                    status_before=str(HoursStatus.PENDING),
                    status_after=decision,
                    reason="Thanks!" if decision == "approved" else "Not a program activity.",
                )
            )

    def _coordinator_of(self, initiative_id: int) -> User:
        for initiative in self.initiatives.values():
            if initiative.id == initiative_id:
                return self.coordinators[initiative.organization.slug]
        raise KeyError(initiative_id)

    # -----------------------------------------------------------------------------------------
    # Outcomes

    def add_outcomes(self) -> None:
        rng = self.rng
        totals: dict[tuple[str, str], decimal.Decimal] = defaultdict(decimal.Decimal)
        attendees: dict[int, list[int]] = defaultdict(list)  # shift id -> user ids
        for planned, signup in self.signups:
            if signup.status == SignupStatus.ATTENDED and signup.checked_out_at is not None:
                attendees[planned.shift.id].append(signup.user_id)

        for planned in self.planned:
            people = attendees.get(planned.shift.id)
            if not people:
                continue
            shift, plan = planned.shift, planned.plan
            coordinator = self.coordinators[plan.organization]
            served_on = local(shift.starts_at, plan.timezone).date()
            for key, value in _shift_outcomes(rng, planned.series.activity, len(people)):
                if key not in plan.metric_keys or value <= 0:
                    continue
                value = decimal.Decimal(value).quantize(CENT)
                by_text = rng.random() < 0.15
                db.session.add(
                    OutcomeRecord(
                        metric_id=self.metrics[plan.slug][key].id,
                        shift_id=shift.id,
                        value=value,
                        period_start_on=served_on,
                        source=OutcomeSource.SMS if by_text else OutcomeSource.WEB,
                        recorded_by_id=rng.choice(people) if by_text else coordinator.id,
                        recorded_at=self._past(
                            shift.ends_at + dt.timedelta(minutes=rng.randint(5, 600))
                        ),
                    )
                )
                totals[plan.slug, key] += value

        for slug, key, value, start_on, end_on, note in self._partner_reports():
            plan = next(p for p in PLANS if p.slug == slug)
            db.session.add(
                OutcomeRecord(
                    metric_id=self.metrics[slug][key].id,
                    value=decimal.Decimal(value).quantize(CENT),
                    period_start_on=start_on,
                    period_end_on=end_on,
                    source=OutcomeSource.PARTNER_REPORT,
                    note=note,
                    recorded_by_id=self.coordinators[plan.organization].id,
                    # Filed three days after the period, at 10 am: the report on the month
                    # that just ended may not be in yet, and then it is filed just now.
                    recorded_at=self._past(
                        from_local(
                            dt.datetime.combine(end_on + dt.timedelta(days=3), dt.time(10)),
                            plan.timezone,
                        )
                    ),
                )
            )
            totals[slug, key] += decimal.Decimal(value)

        self._set_targets(totals)

    def _partner_reports(self):
        """(initiative, metric, value, first day, last day, note) reported by partners."""
        rng = self.rng
        today = local(self.now, ref.DEMO_TIMEZONE).date()
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

    def _set_targets(self, totals: dict[tuple[str, str], decimal.Decimal]) -> None:
        """Targets that put each initiative where its plan says it stands today, rounded the
        way people set goals (18,000 pounds, not 17,342)."""
        rng = self.rng
        for plan in PLANS:
            low, high = plan.progress
            today = local(self.now, plan.timezone).date()
            initiative = self.initiatives[plan.slug]
            if plan.status == InitiativeStatus.CLOSED:
                deadline = local(initiative.closed_at, plan.timezone).date()
            else:
                deadline = _month_end(today + dt.timedelta(days=rng.randint(60, 200)))
            for key, metric in self.metrics[plan.slug].items():
                metric.deadline_on = deadline
                if metric.baseline is not None:
                    continue  # a measured rate: the blueprint's baseline and target stand
                total = totals.get((plan.slug, key))
                if total:
                    metric.target = _round_up_nicely(
                        total / decimal.Decimal(rng.uniform(low, high))
                    )
        # Survival is judged against the trees planted.
        storm = self.metrics["storm-busters"]
        storm["trees_alive"].target = _round_up_nicely(
            storm["trees"].target * decimal.Decimal("0.85")
        )

    # -----------------------------------------------------------------------------------------
    # Messages and settings

    def add_messages(self) -> None:
        """A few texts already sent and delivered, so the message log is not empty."""
        rng, now = self.rng, self.now
        upcoming = [
            (planned, signup)
            for planned, signup in self.signups
            if signup.status == SignupStatus.CONFIRMED and planned.shift.starts_at > now
        ]
        users = {p.user.id: p.user for p in self.people}
        picked, shifts_used = [], set()
        for planned, signup in upcoming:
            if users[signup.user_id].can_text and planned.shift.id not in shifts_used:
                picked.append((planned, signup))
                shifts_used.add(planned.shift.id)
            if len(picked) == 4:
                break
        for number, (planned, signup) in enumerate(picked):
            user = users[signup.user_id]
            shift = planned.shift
            sent_at = self._past(signup.created_at + dt.timedelta(seconds=rng.randint(2, 40)))
            delivered = number % 3 != 2
            history = [
                {"status": "queued", "at": signup.created_at.isoformat()},
                {"status": "sent", "at": sent_at.isoformat()},
            ]
            if delivered:
                delivered_at = self._past(sent_at + dt.timedelta(seconds=3))
                history.append({"status": "delivered", "at": delivered_at.isoformat()})
            if signup.source == SignupSource.SMS:
                db.session.add(
                    Message(
                        direction=Direction.INBOUND,
                        status=MessageStatus.RECEIVED,
                        twilio_sid=_twilio_sid(rng),
                        user_id=user.id,
                        to_phone=PROGRAM_PHONE,
                        from_phone=user.phone,
                        body=f"JOIN {shift.code}",
                        kind="join",
                        shift_id=shift.id,
                        signup_id=signup.id,
                        send_after=signup.created_at,
                        created_at=signup.created_at,
                        updated_at=signup.created_at,
                        status_history=[
                            {"status": "received", "at": signup.created_at.isoformat()}
                        ],
                    )
                )
            body = render_sms("signup_confirmed", user, shift=shift)
            key = f"signup:{signup.id}:confirmed:{signup.created_at.timestamp():.0f}"
            db.session.add(
                Message(
                    direction=Direction.OUTBOUND,
                    status=MessageStatus.DELIVERED if delivered else MessageStatus.SENT,
                    idempotency_key=key,
                    twilio_sid=_twilio_sid(rng),
                    user_id=user.id,
                    to_phone=user.phone,
                    from_phone=PROGRAM_PHONE,
                    body=body,
                    kind="signup_confirmed",
                    segments=count_segments(body),
                    shift_id=shift.id,
                    signup_id=signup.id,
                    send_after=signup.created_at,
                    attempts=1,
                    claimed_at=sent_at,
                    sent_at=sent_at,
                    status_history=history,
                    created_at=signup.created_at,
                    updated_at=sent_at,
                )
            )

    def add_hour_rates(self) -> None:
        for year, cents in HOUR_RATES_CENTS.items():
            db.session.add(
                VolunteerHourRate(
                    year=year,
                    region="US",
                    cents=cents,
                    source="Independent Sector",
                    created_at=self.now,
                )
            )


# ---------------------------------------------------------------------------------------------
# Helpers


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


def _weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """k items without replacement, each drawn with probability in proportion to its weight."""
    keyed = sorted(
        ((rng.random() ** (1.0 / w), index) for index, w in enumerate(weights) if w > 0),
        reverse=True,
    )
    return [items[index] for _, index in keyed[:k]]


def _round_up_nicely(value: decimal.Decimal) -> decimal.Decimal:
    """Round up to two significant figures: 17,342 -> 18,000; 47 -> 47; 3.2 -> 4."""
    if value <= 10:
        return decimal.Decimal(max(1, math.ceil(value)))
    step = decimal.Decimal(10) ** (len(str(int(value))) - 2)
    return (value / step).to_integral_value(rounding=decimal.ROUND_CEILING) * step


def _month_end(day: dt.date) -> dt.date:
    next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return next_month - dt.timedelta(days=1)


def _email_for(name: str, index: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, last = ascii_name.lower().split(" ", 1)
    return f"{first}.{last.replace(' ', '')}{index}@example.org"


def _twilio_sid(rng: random.Random) -> str:
    return f"SM{rng.getrandbits(128):032x}"
