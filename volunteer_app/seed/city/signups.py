"""Signups: each shift filled part of the way (behind, and soon ahead, fuller), waitlists on
some full shifts ahead, attendance taken behind, and now and then a cancellation.

The shifts' `spots_taken` is not set here: `writing` has shifts.services recount it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.seed.city.plan import CityPlan, Person, PlannedShift
from volunteer_app.shifts.models import Signup, SignupSource, SignupStatus

ATTENDED_SHARE = 0.86  # of the past spot-holders; the others did not show up


def plan_signups(plan: CityPlan) -> None:
    ids = itertools.count(plan.next_id(Signup))
    fills = _fills(plan)
    factor = _fill_factor(plan, fills)
    regulars = plan.people[: max(len(plan.people) // 5, 1)]
    for shift, fill in zip(plan.shifts, fills, strict=True):
        if not plan.people or fill == 0:
            continue
        wanted = min(round(fill * factor), shift.row["capacity"])
        _fill_shift(plan, shift, wanted, regulars, ids)


def _fills(plan: CityPlan) -> list[float]:
    """How many each shift would draw (a share of its capacity): none for drafts."""
    rng, now = plan.rng, plan.now
    fills = []
    for shift in plan.shifts:
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
    return fills


def _fill_factor(plan: CityPlan, fills: list[float]) -> float:
    """What scales the fills to the signups wanted, capacity permitting. Seven shifts in ten
    see one cancellation (below); the other signups hold spots. Some picks find nobody free and
    old enough in time: aim a little higher."""
    wanted_total = 1.06 * plan.size["signups"] - 0.7 * len(plan.shifts)
    capacities = [shift.row["capacity"] for shift in plan.shifts]
    factor = 1.0
    for _ in range(4):
        planned = sum(
            min(fill * factor, capacity) for fill, capacity in zip(fills, capacities, strict=True)
        )
        factor *= wanted_total / (planned or 1)
    return factor


def _someone(plan: CityPlan, regulars: list[Person]) -> Person:
    rng = plan.rng
    return rng.choice(regulars) if rng.random() < 0.3 else rng.choice(plan.people)


def _fill_shift(
    plan: CityPlan,
    shift: PlannedShift,
    wanted: int,
    regulars: list[Person],
    ids: Iterator[int],
) -> None:
    rng, now, row = plan.rng, plan.now, shift.row
    starts_at = row["starts_at"]
    opened_at = max(shift.initiative.published_at, starts_at - dt.timedelta(days=28))
    latest = min(starts_at - dt.timedelta(hours=2), now)
    if row["cancelled_at"] is not None:
        latest = min(latest, row["cancelled_at"] - dt.timedelta(hours=1))
    upcoming = starts_at > now
    full = wanted == row["capacity"]
    waiting = rng.randint(1, 3) if upcoming and full and rng.random() < 0.3 else 0
    joined = _joiners(plan, shift, wanted + waiting, (opened_at, latest), regulars)
    taken = _place(plan, shift, joined, ids)
    if taken:
        row["updated_at"] = max(row["updated_at"], joined[min(taken, len(joined)) - 1][0])
    # Now and then someone cancels; they keep their row, without a spot.
    if row["cancelled_at"] is None and rng.random() < 0.7:
        person = _someone(plan, regulars)
        earliest = max(opened_at, person.created_at)
        cancel_by = min(starts_at, now)
        on_shift = {joiner.id for _, joiner in joined}
        if person.id not in on_shift and cancel_by > earliest + dt.timedelta(hours=1):
            created_at = earliest + (cancel_by - earliest) * rng.random() * 0.5
            cancelled_at = min(created_at + dt.timedelta(days=2), cancel_by)
            signup = _signup(plan, next(ids), shift, person, created_at)
            signup.update(
                status=SignupStatus.CANCELLED, cancelled_at=cancelled_at, updated_at=cancelled_at
            )
            plan.signups.append(signup)


def _joiners(
    plan: CityPlan,
    shift: PlannedShift,
    count: int,
    window: tuple[dt.datetime, dt.datetime],
    regulars: list[Person],
) -> list[tuple[dt.datetime, Person]]:
    """Up to `count` people free then and old enough, each signing up at an instant in the
    window (from the shift's opening to shortly before it starts), in the order they did."""
    rng, row = plan.rng, shift.row
    opened_at, latest = window
    starts_at, ends_at = row["starts_at"], row["ends_at"]
    minimum_age = shift.initiative.minimum_age
    on_shift: set[int] = set()
    joined: list[tuple[dt.datetime, Person]] = []
    tries = 0
    while len(joined) < count and tries < 10 * count:
        tries += 1
        person = _someone(plan, regulars)
        if person.id in on_shift:
            continue
        earliest = max(opened_at, person.created_at)
        if latest <= earliest or not person.is_free(starts_at, ends_at):
            continue
        if minimum_age:
            age = person.age_on(shift.local_day)
            if age is None or age < minimum_age:
                continue
        on_shift.add(person.id)
        joined.append((earliest + (latest - earliest) * rng.random(), person))
    joined.sort(key=lambda pair: pair[0])
    return joined


def _place(
    plan: CityPlan,
    shift: PlannedShift,
    joined: list[tuple[dt.datetime, Person]],
    ids: Iterator[int],
) -> int:
    """Their signups, in order: spots while they last, then the waitlist (all cancelled on a
    cancelled shift). Returns the spots taken."""
    row = shift.row
    upcoming = row["starts_at"] > plan.now
    taken = position = 0
    for created_at, person in joined:
        signup = _signup(plan, next(ids), shift, person, created_at)
        if row["cancelled_at"] is not None:
            signup.update(
                status=SignupStatus.CANCELLED,
                cancelled_at=row["cancelled_at"],
                updated_at=row["cancelled_at"],
            )
        elif taken < row["capacity"]:
            taken += 1
            _outcome_of_spot(plan, signup, shift, upcoming=upcoming)
        else:
            position += 1
            signup.update(status=SignupStatus.WAITLISTED, waitlist_position=position)
            signup["confirmed_at"] = None
        if signup["status"] != SignupStatus.CANCELLED:
            person.busy.append((row["starts_at"], row["ends_at"]))
        plan.signups.append(signup)
    return taken


def _signup(
    plan: CityPlan, signup_id: int, shift: PlannedShift, person: Person, created_at: dt.datetime
) -> dict:
    roll = plan.rng.random()
    past = shift.row["starts_at"] <= plan.now
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


def _outcome_of_spot(plan: CityPlan, signup: dict, shift: PlannedShift, *, upcoming: bool) -> None:
    """A spot-holder: coming (ahead), or came or did not (past: attendance is taken)."""
    rng, now = plan.rng, plan.now
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
    plan.attended.append((signup, shift))
    shift.attendees.append(signup["user_id"])
