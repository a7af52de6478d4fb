"""Coordinators schedule shifts: one at a time or as a weekly series, and later edit, cancel
or duplicate them.

Times arrive as local dates and wall-clock times in the initiative's timezone and are turned
into UTC instants one occurrence at a time, so a series at 9:00 stays at 9:00 local time on
both sides of a daylight-saving change. Capacity changes hold the shift's row lock, like
signups do (shifts/services.py). Services flush and never commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from volunteer_app.accounts.models import User
from volunteer_app.core import signals
from volunteer_app.core.errors import Conflict, DomainError
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative
from volunteer_app.reference.models import Neighborhood
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.services import generate_shift_code, lock_shift, promote_waitlist

MAX_SERIES_OCCURRENCES = 200
MAX_CAPACITY = 10_000
EFFORTS = ("light", "moderate", "heavy")


class ScheduleError(DomainError):
    """The shift or series cannot be scheduled as asked; the message says why."""


class CapacityBelowConfirmed(Conflict):
    pass


@dataclass(frozen=True)
class ShiftDetails:
    """A shift as a coordinator describes it, in the initiative's local time."""

    starts_on: dt.date
    start_time: dt.time
    end_time: dt.time
    capacity: int
    location_name: str = ""
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    neighborhood_id: int | None = None
    role: str | None = None
    description: str = ""
    effort: str | None = None
    team_lead_id: int | None = None

    def instants(
        self, tz: str, day: dt.date | None = None, *, now: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime]:
        """Start and end as UTC instants on `day` (default `starts_on`), each converted on its
        own so that each keeps its wall-clock time (in the hour clocks fall back, the one that
        is still to come at `now`, if only one is)."""
        day = day or self.starts_on
        starts_at = from_local(dt.datetime.combine(day, self.start_time), tz, not_before=now)
        ends_at = from_local(dt.datetime.combine(day, self.end_time), tz, not_before=now)
        return starts_at, ends_at


def _minute(instant: dt.datetime) -> dt.datetime:
    return instant.replace(second=0, microsecond=0)


def details_of(shift: Shift) -> ShiftDetails:
    """A shift's details as its edit form starts out."""
    tz = shift.initiative.timezone
    local_start = local(shift.starts_at, tz)
    return ShiftDetails(
        starts_on=local_start.date(),
        start_time=local_start.time().replace(tzinfo=None, second=0, microsecond=0),
        end_time=local(shift.ends_at, tz).time().replace(tzinfo=None, second=0, microsecond=0),
        capacity=shift.capacity,
        location_name=shift.location_name,
        address=shift.address,
        latitude=shift.latitude,
        longitude=shift.longitude,
        neighborhood_id=shift.neighborhood_id,
        role=shift.role,
        description=shift.description,
        effort=shift.effort,
        team_lead_id=shift.team_lead_id,
    )


# ---------------------------------------------------------------------------------------------
# Checks


def _check(initiative: Initiative, details: ShiftDetails, *, existing: Shift | None = None) -> None:
    if details.end_time <= details.start_time:
        raise ScheduleError(_("The shift must end after it starts."))
    if not 0 <= details.capacity <= MAX_CAPACITY:
        raise ScheduleError(_("Capacity must be between 0 and %(max)d people.", max=MAX_CAPACITY))
    if details.effort is not None and details.effort not in EFFORTS:
        raise ScheduleError(_("Please choose an effort level from the list."))
    if (details.latitude is None) != (details.longitude is None):
        raise ScheduleError(_("Give both latitude and longitude, or neither."))
    if (
        details.latitude is not None
        and details.longitude is not None
        and not (-90 <= details.latitude <= 90 and -180 <= details.longitude <= 180)
    ):
        raise ScheduleError(_("That is not a place on Earth."))
    if (
        details.neighborhood_id is not None
        and db.session.get(Neighborhood, details.neighborhood_id) is None
    ):
        raise ScheduleError(_("Please choose a neighborhood from the list."))
    if details.team_lead_id is not None:
        allowed = {user.id for user in team_lead_choices(initiative)}
        if existing is not None and existing.team_lead_id is not None:
            allowed.add(existing.team_lead_id)
        if details.team_lead_id not in allowed:
            raise ScheduleError(
                _("The team lead must be someone confirmed for this initiative's shifts.")
            )


def team_lead_choices(initiative: Initiative) -> list[User]:
    """People who have held a spot on one of the initiative's shifts: the ones a coordinator
    knows well enough to lead a shift."""
    held = (
        sa.select(Signup.user_id)
        .join(Shift, Signup.shift_id == Shift.id)
        .where(
            Shift.initiative_id == initiative.id,
            Signup.status.in_([SignupStatus.CONFIRMED, SignupStatus.ATTENDED]),
        )
    )
    return list(
        db.session.scalars(
            sa.select(User).where(User.id.in_(held)).order_by(User.name, User.id).limit(500)
        )
    )


def _check_future(starts_at: dt.datetime, now: dt.datetime) -> None:
    if starts_at <= now:
        raise ScheduleError(_("That time has already passed. Choose a time in the future."))


def _new_shift(
    initiative: Initiative, details: ShiftDetails, day: dt.date, *, now: dt.datetime, **extra
) -> Shift:
    starts_at, ends_at = details.instants(initiative.timezone, day, now=now)
    shift = Shift(
        initiative_id=initiative.id,
        starts_at=starts_at,
        ends_at=ends_at,
        # spots_taken starts at the column's 0; only shifts/services changes it.
        capacity=details.capacity,
        location_name=details.location_name.strip(),
        address=details.address.strip(),
        latitude=details.latitude,
        longitude=details.longitude,
        neighborhood_id=details.neighborhood_id,
        role=(details.role or "").strip() or None,
        description=details.description.strip(),
        effort=details.effort,
        team_lead_id=details.team_lead_id,
        status=ShiftStatus.SCHEDULED,
        code=generate_shift_code(),
        created_at=now,
        updated_at=now,
        **extra,
    )
    db.session.add(shift)
    db.session.flush()
    return shift


# ---------------------------------------------------------------------------------------------
# Creating


def create_shift(initiative: Initiative, details: ShiftDetails, *, now: dt.datetime) -> Shift:
    """One shift, with its own text code."""
    _check(initiative, details)
    _check_future(details.instants(initiative.timezone, now=now)[0], now)
    return _new_shift(initiative, details, details.starts_on, now=now)


def series_dates(
    first_on: dt.date, weekdays: Iterable[int], until_on: dt.date, *, limit: int
) -> list[dt.date]:
    """Every date from `first_on` to `until_on` (both included) falling on one of `weekdays`
    (Monday = 0). Raises ScheduleError when there are none or more than `limit`."""
    days = set(weekdays)
    if not days or not days <= set(range(7)):
        raise ScheduleError(_("Choose at least one day of the week."))
    if until_on < first_on:
        raise ScheduleError(_("The series must end on or after its first date."))
    # Counting before building keeps a ten-year "until" from making a huge list.
    span = (until_on - first_on).days + 1
    if span > (limit + 1) * 7:
        raise ScheduleError(
            _(
                "A series can have at most %(max)d shifts. Choose an earlier end date.",
                max=limit,
            )
        )
    dates = [
        first_on + dt.timedelta(days=offset)
        for offset in range(span)
        if (first_on + dt.timedelta(days=offset)).weekday() in days
    ]
    if not dates:
        raise ScheduleError(_("No chosen weekday falls between those dates."))
    if len(dates) > limit:
        raise ScheduleError(
            _(
                "A series can have at most %(max)d shifts. Choose an earlier end date.",
                max=limit,
            )
        )
    return dates


def create_series(
    initiative: Initiative,
    details: ShiftDetails,
    *,
    weekdays: Sequence[int],
    until_on: dt.date,
    now: dt.datetime,
) -> list[Shift]:
    """A weekly series: one shift on each chosen weekday from `details.starts_on` to
    `until_on`, sharing a series id. Each occurrence keeps the same local wall-clock time,
    whatever daylight saving does in between."""
    _check(initiative, details)
    dates = series_dates(details.starts_on, weekdays, until_on, limit=MAX_SERIES_OCCURRENCES)
    _check_future(details.instants(initiative.timezone, dates[0], now=now)[0], now)
    series_id = str(uuid.uuid4())
    return [_new_shift(initiative, details, day, series_id=series_id, now=now) for day in dates]


# ---------------------------------------------------------------------------------------------
# Editing


THIS_SHIFT = "this"
THIS_AND_FOLLOWING = "following"


@dataclass
class ShiftUpdate:
    """What an edit did, so the page can say so."""

    shifts: list[Shift]
    rescheduled: list[Shift] = dataclasses.field(default_factory=list)
    promoted: list[Signup] = dataclasses.field(default_factory=list)


def following_in_series(shift: Shift, *, now: dt.datetime) -> list[Shift]:
    """The shift and the later scheduled shifts of its series that have not started."""
    if shift.series_id is None:
        return [shift]
    later = db.session.scalars(
        sa.select(Shift)
        .where(
            Shift.series_id == shift.series_id,
            Shift.initiative_id == shift.initiative_id,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at > shift.starts_at,
            Shift.starts_at > now,
        )
        .order_by(Shift.starts_at)
    ).all()
    return [shift, *later]


def update_shift(
    shift: Shift,
    details: ShiftDetails,
    *,
    now: dt.datetime,
    scope: str = THIS_SHIFT,
) -> ShiftUpdate:
    """Change a shift's time, place, capacity or description; with `scope` THIS_AND_FOLLOWING
    the same change applies to the later shifts of its series (each keeps its own date, moved
    by as many days as this one moved).

    Refused, with nothing written: a cancelled shift; a new time for a shift that has started;
    a time in the past; a capacity below the number of people already holding a spot.
    Raising capacity promotes waitlisted people in order; a new time or place queues a change
    notice to everyone signed up.
    """
    initiative = shift.initiative
    tz = initiative.timezone
    _check(initiative, details, existing=shift)
    targets = following_in_series(shift, now=now) if scope == THIS_AND_FOLLOWING else [shift]
    day_shift = details.starts_on - local(shift.starts_at, tz).date()

    # Lock every shift first, in id order (the order signups lock in), then decide, then write:
    # a refusal must leave every row as it was.
    locked = {s.id: lock_shift(s.id) for s in sorted(targets, key=lambda s: s.id)}
    plans = []
    for target in targets:
        target = locked[target.id]
        if target.status != ShiftStatus.SCHEDULED:
            raise ScheduleError(_("This shift has been cancelled and can no longer be changed."))
        day = local(target.starts_at, tz).date() + day_shift
        starts_at, ends_at = details.instants(tz, day, now=now)
        # Forms work in whole minutes; stray seconds (an import, a seed) are not a change.
        time_changed = (starts_at, ends_at) != (_minute(target.starts_at), _minute(target.ends_at))
        if time_changed:
            if target.starts_at <= now:
                raise ScheduleError(
                    _("This shift has already started, so its time can no longer be changed.")
                )
            _check_future(starts_at, now)
        if details.capacity < target.spots_taken:
            raise CapacityBelowConfirmed(
                _(
                    "%(count)d people are already confirmed for the shift on %(day)s, so its "
                    "capacity cannot go below %(count)d. Move or cancel signups on the roster "
                    "first.",
                    count=target.spots_taken,
                    day=local(target.starts_at, tz).strftime("%Y-%m-%d"),
                )
            )
        plans.append((target, starts_at, ends_at, time_changed))

    result = ShiftUpdate(shifts=[])
    for target, starts_at, ends_at, time_changed in plans:
        place_changed = (details.location_name.strip(), details.address.strip()) != (
            target.location_name,
            target.address,
        )
        raised = details.capacity > target.capacity
        if time_changed:
            target.starts_at, target.ends_at = starts_at, ends_at
        target.capacity = details.capacity
        target.location_name = details.location_name.strip()
        target.address = details.address.strip()
        target.latitude, target.longitude = details.latitude, details.longitude
        target.neighborhood_id = details.neighborhood_id
        target.role = (details.role or "").strip() or None
        target.description = details.description.strip()
        target.effort = details.effort
        target.team_lead_id = details.team_lead_id
        target.updated_at = now
        db.session.flush()
        if raised:
            result.promoted.extend(promote_waitlist(target, now=now))
        if time_changed or place_changed:
            signals.shift_changed.send(target, now=now)
            result.rescheduled.append(target)
        result.shifts.append(target)
    return result


def change_capacity(shift: Shift, capacity: int, *, now: dt.datetime) -> ShiftUpdate:
    """Only the capacity: the same rules as `update_shift`."""
    return update_shift(shift, dataclasses.replace(details_of(shift), capacity=capacity), now=now)


# ---------------------------------------------------------------------------------------------
# Cancelling and duplicating


def cancel_shift(shift: Shift, *, now: dt.datetime) -> Shift:
    """Call a shift off and tell everyone signed up. Signups stay as they were, for the record;
    nobody can join a cancelled shift."""
    shift = lock_shift(shift.id)
    if shift.status == ShiftStatus.CANCELLED:
        raise ScheduleError(_("This shift was already cancelled."))
    if shift.ends_at <= now:
        raise ScheduleError(_("This shift is over, so it cannot be cancelled."))
    shift.status = ShiftStatus.CANCELLED
    shift.cancelled_at = now
    shift.updated_at = now
    db.session.flush()
    signals.shift_cancelled.send(shift, now=now)
    return shift


def duplicate_shift(shift: Shift, on_date: dt.date, *, now: dt.datetime) -> Shift:
    """A new shift like `shift` (same local times, place, capacity and role) on `on_date`,
    with its own code, nobody signed up, and no team lead yet."""
    details = dataclasses.replace(details_of(shift), starts_on=on_date, team_lead_id=None)
    initiative = shift.initiative
    _check(initiative, details)
    _check_future(details.instants(initiative.timezone, now=now)[0], now)
    return _new_shift(initiative, details, on_date, now=now)
