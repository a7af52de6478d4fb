"""Demo phase 3: who signed up for each shift, who waits, who cancelled, who came.

The rows follow the services' rules: `spots_taken` counts the spot-holding signups, waitlists
run 1..n, nobody holds two overlapping shifts or more than two a week, and nobody under an
initiative's minimum age is on it.
"""

from __future__ import annotations

import datetime as dt
import random

from volunteer_app.accounts.models import availability_bit
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.initiatives.blueprints import BLUEPRINTS
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.seed.demo.city import City, Person, PlannedShift
from volunteer_app.shifts.models import Shift, Signup, SignupSource, SignupStatus
from volunteer_app.shifts.services import recount_spots


def add_signups(city: City) -> None:
    # The next shift of three busy series is full with people waiting.
    wants_waitlist = {
        ("love-your-block-east", 5): 3,
        ("storm-busters", 5): 2,
        ("third-grade-reads", 1): 2,
    }
    for planned in city.planned:
        shift, plan = planned.shift, planned.plan
        if plan.status == InitiativeStatus.DRAFT:
            continue
        key = (plan.slug, planned.series.weekday)
        waiting = 0
        if key in wants_waitlist and shift.starts_at > city.now and not shift.is_cancelled:
            waiting = wants_waitlist.pop(key)
        _fill(city, planned, waiting)
    # The signups were written directly; their shifts' counts come from the one module that
    # keeps them.
    recount_spots(p.shift.id for p in city.planned)


def _fill(city: City, planned: PlannedShift, waiting: int) -> None:
    """Sign people up for one shift: `waiting` more than it holds, or a share of its spots."""
    rng, now = city.rng, city.now
    shift, plan = planned.shift, planned.plan
    wanted = _how_many(city, shift, waiting)
    week = local(shift.starts_at, plan.timezone).isocalendar()[:2]
    candidates = [p for p in city.people if _can_take(p, planned, week)]
    chosen = _weighted_sample(rng, candidates, [_affinity(p, planned) for p in candidates], wanted)
    # Earliest signups get the spots; later ones wait, in order.
    opened_at = max(
        shift.initiative.published_at or shift.created_at,
        shift.starts_at - dt.timedelta(days=28),
    )
    ended = shift.ends_at <= now
    position = confirmed = 0
    for created_at, person in _join_times(city, shift, chosen, opened_at):
        signup = Signup(
            shift_id=shift.id,
            user_id=person.user.id,
            created_at=created_at,
            updated_at=created_at,
            source=_source(city, person, past=ended),
        )
        position, confirmed = _settle(city, shift, signup, position, confirmed)
        person.busy.append((shift.starts_at, shift.ends_at))
        person.per_week[week] += 1
        db.session.add(signup)
        city.signups.append((planned, signup))

    # Now and then someone cancels; they keep their row, without a spot.
    if not shift.is_cancelled and rng.random() < 0.2:
        others = [p for p in candidates if p not in chosen and p.is_free(shift)]
        if others:
            _add_cancelled(city, planned, rng.choice(others), opened_at)


def _how_many(city: City, shift: Shift, waiting: int) -> int:
    """How many people to sign up: past and near shifts fill more than far ones."""
    rng = city.rng
    days_ahead = (shift.starts_at - city.now).total_seconds() / 86400
    if waiting:
        return shift.capacity + waiting
    if days_ahead < 0:
        return round(shift.capacity * rng.uniform(0.45, 1.0))
    if days_ahead < 14:
        return round(shift.capacity * rng.uniform(0.35, 1.0))
    return round(shift.capacity * rng.uniform(0.05, 0.45))


def _join_times(
    city: City, shift: Shift, chosen: list[Person], opened_at: dt.datetime
) -> list[tuple[dt.datetime, Person]]:
    """When each chosen person signed up (by now, before the shift), earliest first."""
    joined = []
    for person in chosen:
        earliest = max(opened_at, person.user.created_at)
        latest = min(shift.starts_at - dt.timedelta(hours=2), city.now)
        if shift.is_cancelled:
            assert shift.cancelled_at is not None  # add_initiatives stamps each cancellation
            latest = min(latest, shift.cancelled_at - dt.timedelta(hours=1))
        if latest <= earliest:
            continue
        joined.append((earliest + (latest - earliest) * city.rng.random(), person))
    joined.sort(key=lambda pair: pair[0])
    return joined


def _settle(
    city: City, shift: Shift, signup: Signup, position: int, confirmed: int
) -> tuple[int, int]:
    """Give `signup` a spot, a place in line or (on a cancelled shift) a cancellation.

    Returns the last waitlist position given out and the spots given so far.
    """
    if shift.is_cancelled:
        assert shift.cancelled_at is not None  # add_initiatives stamps each cancellation
        signup.status = SignupStatus.CANCELLED
        signup.confirmed_at = signup.created_at
        signup.cancelled_at = signup.updated_at = shift.cancelled_at
        return position, confirmed
    if confirmed < shift.capacity:
        signup.confirmed_at = signup.created_at
        # Said outright, or the row's update would stamp it with the wall clock.
        shift.updated_at = signup.created_at
        signup.status = SignupStatus.CONFIRMED
        _since_confirmed(city, shift, signup)
        return position, confirmed + 1
    signup.status = SignupStatus.WAITLISTED
    signup.waitlist_position = position + 1
    return position + 1, confirmed


def _since_confirmed(city: City, shift: Shift, signup: Signup) -> None:
    """What has happened to a confirmed spot by now: attendance, a check-in, a reconfirmation."""
    rng, now = city.rng, city.now
    days_ahead = (shift.starts_at - now).total_seconds() / 86400
    # Attendance for shifts that ended in the last day and a half is not taken yet.
    if shift.ends_at <= now and shift.ends_at <= now - dt.timedelta(hours=36):
        _take_attendance(city, signup, shift)
    elif shift.starts_at <= now < shift.ends_at and rng.random() < 0.6:
        signup.status = SignupStatus.ATTENDED
        signup.checked_in_at = shift.starts_at - dt.timedelta(minutes=rng.randint(0, 9))
        signup.check_in_method = rng.choice(("kiosk", "sms", "web"))
    elif 0 < days_ahead < 2 and rng.random() < 0.5:
        signup.reconfirmed_at = now - dt.timedelta(hours=rng.randint(1, 20))


def _add_cancelled(
    city: City, planned: PlannedShift, person: Person, opened_at: dt.datetime
) -> None:
    shift = planned.shift
    created_at = max(opened_at, person.user.created_at)
    cancelled_at = min(created_at + dt.timedelta(days=2), shift.starts_at, city.now)
    if cancelled_at <= created_at:
        return
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
    city.signups.append((planned, signup))


def _can_take(person: Person, planned: PlannedShift, week) -> bool:
    shift, plan = planned.shift, planned.plan
    if person.user.created_at > shift.starts_at - dt.timedelta(hours=3):
        return False
    if plan.minimum_age:
        day = local(shift.starts_at, plan.timezone).date()
        age = person.user.age_on(day)
        if age is None or age < plan.minimum_age:
            return False
    return person.per_week[week] < 2 and person.is_free(shift)


def _affinity(person: Person, planned: PlannedShift) -> float:
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


def _source(city: City, person: Person, *, past: bool) -> SignupSource:
    if person.user.email is None:
        return SignupSource.SMS
    roll = city.rng.random()
    if roll < 0.15 and person.user.can_text:
        return SignupSource.SMS
    if roll > 0.95:
        return SignupSource.WALK_IN if past else SignupSource.COORDINATOR
    return SignupSource.WEB


def _take_attendance(city: City, signup: Signup, shift: Shift) -> None:
    rng = city.rng
    if rng.random() < 0.13:
        signup.status = SignupStatus.NO_SHOW
        signup.updated_at = city.past(shift.ends_at + dt.timedelta(hours=2))
        return
    signup.status = SignupStatus.ATTENDED
    signup.checked_in_at = shift.starts_at - dt.timedelta(minutes=rng.randint(0, 12))
    signup.checked_out_at = city.past(shift.ends_at + dt.timedelta(minutes=rng.randint(0, 15)))
    signup.check_in_method = rng.choice(("kiosk", "kiosk", "sms", "web", "roster"))
    signup.updated_at = signup.checked_out_at


def _weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """k items without replacement, each drawn with probability in proportion to its weight."""
    keyed = sorted(
        ((rng.random() ** (1.0 / w), index) for index, w in enumerate(weights) if w > 0),
        reverse=True,
    )
    return [items[index] for _, index in keyed[:k]]
