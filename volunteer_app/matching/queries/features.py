"""What the score reads, loaded set-based: one resident's features, every upcoming shift's,
the neighborhoods' centroids, and the context (now, the priority-neighborhood setting).

Plain tuples from Core selects, turned into the dataclasses scoring.py takes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from volunteer_app.accounts.models import User, user_causes, user_languages
from volunteer_app.accounts.models import user_skills as user_skill_table
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import (
    Initiative,
    InitiativeStatus,
    initiative_languages,
    initiative_skills,
)
from volunteer_app.matching.models import Invitation
from volunteer_app.matching.scoring import (
    MatchContext,
    ShiftFeatures,
    VolunteerFeatures,
    local_slot,
)
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus

# Recommendations look this far ahead; further out, plans change too much to suggest.
HORIZON_DAYS = 90
# Signups that hold a place on a shift (or held one, for a shift already served).
_ON_SHIFT = (
    SignupStatus.CONFIRMED,
    SignupStatus.WAITLISTED,
    SignupStatus.ATTENDED,
    SignupStatus.NO_SHOW,
)

_shifts = Shift.__table__
_initiatives = Initiative.__table__
_signups = Signup.__table__
_users = User.__table__
_hoods = Neighborhood.__table__
_invitations = Invitation.__table__


@contextlib.contextmanager
def gc_paused():
    """Building tens of thousands of small objects triggers the cyclic garbage collector
    over and over, and each full pass walks the whole application's heap: a ranking spent
    more time there than scoring. Nothing made here forms a cycle, so pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def match_context(now: dt.datetime) -> MatchContext:
    return MatchContext(now=now, priority_boost=bool(get_setting("priority_neighborhood_boost")))


# ---------------------------------------------------------------------------------------------
# Places


@dataclass(frozen=True)
class Places:
    """Every neighborhood's centroid, by id and by ZIP code, from one small query."""

    by_id: dict[int, tuple[float, float]]
    by_zip: dict[str, tuple[float, float]]

    def locate(
        self, neighborhood_id: int | None, zip_code: str | None
    ) -> tuple[float, float] | tuple[None, None]:
        """A person's place: their neighborhood's centroid, else their ZIP code's."""
        if neighborhood_id is not None and neighborhood_id in self.by_id:
            return self.by_id[neighborhood_id]
        if zip_code and zip_code in self.by_zip:
            return self.by_zip[zip_code]
        return None, None


def places() -> Places:
    by_id: dict[int, tuple[float, float]] = {}
    by_zip: dict[str, tuple[float, float]] = {}
    rows = db.session.execute(
        sa.select(_hoods.c.id, _hoods.c.zip_codes, _hoods.c.centroid_lat, _hoods.c.centroid_lon)
        .where(_hoods.c.centroid_lat.is_not(None), _hoods.c.centroid_lon.is_not(None))
        .order_by(_hoods.c.id)
    )
    for hood_id, zip_codes, lat, lon in rows:
        by_id[hood_id] = (lat, lon)
        for code in (zip_codes or "").split():
            by_zip.setdefault(code, (lat, lon))
    return Places(by_id, by_zip)


# ---------------------------------------------------------------------------------------------
# One resident


def volunteer_features(user_id: int, *, now: dt.datetime, where: Places) -> VolunteerFeatures:
    """Everything matching knows about one person, in five queries."""
    row = db.session.execute(
        sa.select(
            _users.c.availability_mask,
            _users.c.neighborhood_id,
            _users.c.zip_code,
            _users.c.travel_miles,
            _users.c.effort_preference,
            _users.c.birth_date,
        ).where(_users.c.id == user_id)
    ).one()
    causes, skills, languages = _interests(user_id)
    busy, signed_up, past_causes, attended, no_shows = _signup_history(user_id, now)

    mask, hood_id, zip_code, travel, effort, born = row
    lat, lon = where.locate(hood_id, zip_code)
    return VolunteerFeatures(
        user_id=user_id,
        cause_ids=causes,
        skill_ids=skills,
        language_codes=languages,
        availability_mask=mask or 0,
        latitude=lat,
        longitude=lon,
        travel_miles=travel,
        effort_preference=effort,
        birth_date=born,
        busy=tuple(busy),
        signed_up_shift_ids=frozenset(signed_up),
        past_cause_ids=frozenset(past_causes),
        attended=attended,
        no_shows=no_shows,
    )


def _interests(user_id: int) -> tuple[frozenset[int], frozenset[int], frozenset[str]]:
    """One person's causes, skills and languages (ids, ids, codes)."""
    causes = frozenset(
        db.session.scalars(
            sa.select(user_causes.c.cause_id).where(user_causes.c.user_id == user_id)
        )
    )
    skills = frozenset(
        db.session.scalars(
            sa.select(user_skill_table.c.skill_id).where(user_skill_table.c.user_id == user_id)
        )
    )
    languages = frozenset(
        db.session.scalars(
            sa.select(user_languages.c.language_code).where(user_languages.c.user_id == user_id)
        )
    )
    return causes, skills, languages


def _signup_history(
    user_id: int, now: dt.datetime
) -> tuple[list[tuple[dt.datetime, dt.datetime]], set[int], set[int], int, int]:
    """(busy intervals ahead, shifts signed up for, causes served, attended, no-shows)."""
    signups = db.session.execute(
        sa.select(
            _signups.c.shift_id,
            Signup.status,
            Shift.starts_at,
            Shift.ends_at,
            Shift.status,
            _initiatives.c.cause_id,
        )
        .select_from(_signups)
        .join(_shifts, _shifts.c.id == _signups.c.shift_id)
        .join(_initiatives, _initiatives.c.id == _shifts.c.initiative_id)
        .where(_signups.c.user_id == user_id, _signups.c.status.in_(_ON_SHIFT))
    ).all()

    busy = []
    signed_up = set()
    past_causes = set()
    attended = no_shows = 0
    for shift_id, status, starts_at, ends_at, shift_status, cause_id in signups:
        signed_up.add(shift_id)
        if status == SignupStatus.ATTENDED:
            attended += 1
            past_causes.add(cause_id)
        elif status == SignupStatus.NO_SHOW:
            no_shows += 1
        elif (
            status == SignupStatus.CONFIRMED
            and shift_status == ShiftStatus.SCHEDULED
            and ends_at > now
        ):
            busy.append((starts_at, ends_at))
    return busy, signed_up, past_causes, attended, no_shows


def _helpers_by_initiative(
    initiative_ids: sa.Select | sa.ScalarSelect | list[int],
) -> tuple[dict[int, dict[int, str]], dict[int, dict[str, str]]]:
    """The skills and languages that help on each initiative, in two queries."""
    skills: dict[int, dict[int, str]] = defaultdict(dict)
    for initiative_id, skill_id, name in db.session.execute(
        sa.select(initiative_skills.c.initiative_id, Skill.id, Skill.name)
        .join(Skill, Skill.id == initiative_skills.c.skill_id)
        .where(initiative_skills.c.initiative_id.in_(initiative_ids))
    ):
        skills[initiative_id][skill_id] = name
    languages: dict[int, dict[str, str]] = defaultdict(dict)
    for initiative_id, code, name in db.session.execute(
        sa.select(initiative_languages.c.initiative_id, Language.code, Language.name)
        .join(Language, Language.code == initiative_languages.c.language_code)
        .where(initiative_languages.c.initiative_id.in_(initiative_ids))
    ):
        languages[initiative_id][code] = name
    return skills, languages


_NO_SKILLS: dict[int, str] = {}
_NO_LANGUAGES: dict[str, str] = {}


def _upcoming(
    now: dt.datetime, oldest_age: int | None, horizon_days: int
) -> list[sa.ColumnElement[bool]]:
    """Scheduled shifts of published initiatives starting after `now` and within the horizon.
    `oldest_age` (the most a person's age reaches within it, or None if unknown) drops the
    shifts whose minimum age they cannot meet."""
    conditions = [
        _initiatives.c.status == InitiativeStatus.PUBLISHED.value,
        _shifts.c.status == ShiftStatus.SCHEDULED.value,
        Shift.starts_at > now,
        Shift.starts_at < now + dt.timedelta(days=horizon_days),
    ]
    if oldest_age is None:
        conditions.append(_initiatives.c.minimum_age == 0)
    else:
        conditions.append(_initiatives.c.minimum_age <= oldest_age)
    return conditions


def _raw(column: sa.ColumnElement) -> sa.ColumnElement:
    """A timestamp column without per-row conversion: text on SQLite, a datetime from the
    driver on PostgreSQL. `_instants` turns each distinct value into a UTC datetime once."""
    return sa.type_coerce(column, sa.String)


class _Instants(dict):
    """Raw timestamps to aware UTC datetimes, each distinct value converted once."""

    def __missing__(self, raw):
        if isinstance(raw, str):
            value = dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)
        else:
            value = raw.astimezone(dt.UTC)
        self[raw] = value
        return value


def _shift_rows(conditions: list[sa.ColumnElement[bool]]) -> Sequence[sa.Row]:
    """The columns `_shift_features` reads, of the shifts matching `conditions`."""
    return db.session.execute(
        sa.select(
            _shifts.c.id,
            _raw(_shifts.c.starts_at),
            _raw(_shifts.c.ends_at),
            _initiatives.c.timezone,
            _initiatives.c.id,
            _initiatives.c.cause_id,
            Cause.name,
            _initiatives.c.minimum_age,
            sa.func.coalesce(_shifts.c.latitude, _hoods.c.centroid_lat),
            sa.func.coalesce(_shifts.c.longitude, _hoods.c.centroid_lon),
            _shifts.c.effort,
            _shifts.c.capacity,
            _shifts.c.spots_taken,
            sa.func.coalesce(_hoods.c.is_priority, sa.false()),
        )
        .select_from(_shifts)
        .join(_initiatives, _initiatives.c.id == _shifts.c.initiative_id)
        .join(Cause, Cause.id == _initiatives.c.cause_id)
        .outerjoin(_hoods, _hoods.c.id == _shifts.c.neighborhood_id)
        .where(*conditions)
    ).all()


def _shift_features(
    conditions: list[sa.ColumnElement[bool]],
    skills: dict[int, dict[int, str]],
    languages: dict[int, dict[str, str]],
) -> list[ShiftFeatures]:
    """The features of the shifts matching `conditions`, in one query."""
    rows = _shift_rows(conditions)
    instants = _Instants()
    # Many shifts start at the same hour: work out each local slot once.
    slots: dict[tuple[object, str], tuple[int, int, dt.date]] = {}
    features = []
    for (
        shift_id,
        starts_raw,
        ends_raw,
        tz,
        initiative_id,
        cause_id,
        cause_name,
        minimum_age,
        lat,
        lon,
        effort,
        capacity,
        taken,
        priority,
    ) in rows:
        starts_at = instants[starts_raw]
        slot = slots.get((starts_raw, tz))
        if slot is None:
            slot = slots[(starts_raw, tz)] = local_slot(starts_at, tz)
        features.append(
            ShiftFeatures(
                shift_id,
                starts_at,
                instants[ends_raw],
                tz,
                cause_id,
                initiative_id,
                cause_name,
                minimum_age,
                skills.get(initiative_id, _NO_SKILLS),
                languages.get(initiative_id, _NO_LANGUAGES),
                lat,
                lon,
                effort,
                capacity,
                taken,
                False,
                bool(priority),
                *slot,
            )
        )
    return features


def upcoming_shift_features(
    *, now: dt.datetime, oldest_age: int | None = None, horizon_days: int = HORIZON_DAYS
) -> list[ShiftFeatures]:
    """Every upcoming shift a person of `oldest_age` could join, in three queries."""
    published = sa.select(_initiatives.c.id).where(
        _initiatives.c.status == InitiativeStatus.PUBLISHED.value
    )
    skills, languages = _helpers_by_initiative(published.scalar_subquery())
    return _shift_features(_upcoming(now, oldest_age, horizon_days), skills, languages)


def shift_features(shift: Shift) -> ShiftFeatures:
    """The features of one shift (its initiative's skills and languages in two queries)."""
    initiative = shift.initiative
    lat, lon = shift.latitude, shift.longitude
    priority = False
    if shift.neighborhood_id is not None:
        hood = db.session.execute(
            sa.select(_hoods.c.centroid_lat, _hoods.c.centroid_lon, _hoods.c.is_priority).where(
                _hoods.c.id == shift.neighborhood_id
            )
        ).one()
        if lat is None or lon is None:
            lat, lon = hood.centroid_lat, hood.centroid_lon
        priority = bool(hood.is_priority)
    skills, languages = _helpers_by_initiative([initiative.id])
    cause_name = db.session.scalar(sa.select(Cause.name).where(Cause.id == initiative.cause_id))
    return ShiftFeatures(
        shift_id=shift.id,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        timezone=initiative.timezone,
        cause_id=initiative.cause_id,
        initiative_id=initiative.id,
        cause_name=cause_name or "",
        minimum_age=initiative.minimum_age,
        skills=skills.get(initiative.id, {}),
        languages=languages.get(initiative.id, {}),
        latitude=lat,
        longitude=lon,
        effort=shift.effort,
        capacity=shift.capacity,
        spots_taken=shift.spots_taken,
        cancelled=shift.status == ShiftStatus.CANCELLED,
        priority_neighborhood=priority,
    )
