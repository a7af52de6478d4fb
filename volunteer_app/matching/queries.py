"""The queries that feed the matching score, set-based and in a fixed number of statements.

Two directions:
- `recommend_shifts`: one resident against every upcoming shift (the home page, the list's
  "best match" sort, /me/recommendations);
- `rank_candidates`: one shift against every volunteer who could be invited to it.

Both read plain tuples with Core selects (ORM objects for ten thousand shifts or fifty thousand
people would cost more than the scoring), turn them into the dataclasses scoring.py takes,
and load ORM objects only for the few results a page shows. Hard rules that SQL can judge
exactly (already on the shift, busy then, opted out, over the weekly invitation cap, too young)
are filtered in SQL as well, so fewer rows travel; scoring.py applies them again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import PhoneStatus, Role, User, user_causes, user_languages
from volunteer_app.accounts.models import user_skills as user_skill_table
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import (
    Initiative,
    InitiativeStatus,
    initiative_languages,
    initiative_skills,
)
from volunteer_app.matching import weights as W
from volunteer_app.matching.models import Invitation
from volunteer_app.matching.scoring import (
    Match,
    MatchContext,
    ShiftFeatures,
    VolunteerFeatures,
    age_on,
    ceiling_beyond_cause_and_time,
    evaluate,
    exclusion,
    initiative_ceiling,
    local_slot,
    points_for,
    rank_volunteers,
    slot_bit,
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


def _helpers_by_initiative(
    initiative_ids: sa.Select | list[int],
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


def _shift_features(
    conditions: list[sa.ColumnElement[bool]],
    skills: dict[int, dict[int, str]],
    languages: dict[int, dict[str, str]],
) -> list[ShiftFeatures]:
    """The features of the shifts matching `conditions`, in one query."""
    rows = db.session.execute(
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


@dataclass
class Recommendation:
    shift: Shift
    match: Match


# Recommendations score the shifts of the most promising initiatives first, and the rest
# only if an initiative's ceiling says one of its shifts could still make the list.
FIRST_PASS_SHIFTS = 1500


def _oldest_age(person: VolunteerFeatures, now: dt.datetime, horizon_days: int) -> int | None:
    if person.birth_date is None:
        return None
    return age_on(person.birth_date, (now + dt.timedelta(days=horizon_days)).date())


def recommend_shifts(
    user_id: int,
    *,
    now: dt.datetime,
    limit: int = 3,
    horizon_days: int = HORIZON_DAYS,
    first_pass: int = FIRST_PASS_SHIFTS,
    per_initiative: int | None = None,
) -> list[Recommendation]:
    """The `limit` upcoming shifts that fit one person best, with reasons, best first;
    with `per_initiative`, at most that many from one initiative while others remain.

    At most twelve queries whatever the number of shifts: the person (five), the places, a
    summary of the initiatives with upcoming shifts and their skills and languages, the
    shifts of the initiatives whose ceiling could reach the list (one or two), and the shifts
    shown. The order is exactly the order `scoring.evaluate` gives over every upcoming shift.
    """
    where = places()
    person = volunteer_features(user_id, now=now, where=where)
    context = match_context(now)
    conditions = _upcoming(now, _oldest_age(person, now, horizon_days), horizon_days)
    summary = db.session.execute(
        sa.select(
            _initiatives.c.id,
            _initiatives.c.cause_id,
            sa.func.count(),
            sa.func.min(_raw(_shifts.c.starts_at)),
        )
        .select_from(_shifts)
        .join(_initiatives, _initiatives.c.id == _shifts.c.initiative_id)
        .where(*conditions)
        .group_by(_initiatives.c.id, _initiatives.c.cause_id)
    ).all()
    if not summary:
        return []
    skills, languages = _helpers_by_initiative([row[0] for row in summary])
    instants = _Instants()
    ceilings = sorted(
        (
            (
                initiative_ceiling(
                    person,
                    cause_id,
                    skills.get(initiative_id, _NO_SKILLS),
                    languages.get(initiative_id, _NO_LANGUAGES),
                    context,
                    instants[first_raw],
                ),
                initiative_id,
                count,
            )
            for initiative_id, cause_id, count, first_raw in summary
        ),
        reverse=True,
    )
    chosen, planned = [], 0
    for _ceiling, initiative_id, count in ceilings:
        if planned >= first_pass:
            break
        chosen.append(initiative_id)
        planned += count

    with gc_paused():
        shifts = _shift_features(
            [*conditions, _shifts.c.initiative_id.in_(chosen)], skills, languages
        )
        scored = _shift_scores(person, shifts, context)
        best = _varied_top(scored, limit, per_initiative)
        # Shifts not scored yet can only matter if their initiative's ceiling reaches the
        # list; a list still short (topped up or not) lets every initiative in.
        kth = (
            -best[-1][0]
            if len(best) >= limit and not _topped_up(best, per_initiative)
            else -math.inf
        )
        rest = [i for ceiling, i, _n in ceilings[len(chosen) :] if ceiling >= kth]
        if rest:
            more = _shift_features(
                [*conditions, _shifts.c.initiative_id.in_(rest)], skills, languages
            )
            best = _varied_top(scored + _shift_scores(person, more, context), limit, per_initiative)
        matches = [evaluate(person, shift, context) for *_order, shift in best]
    return _with_shifts(matches)


def _varied_top(scored: list[tuple], limit: int, per_initiative: int | None) -> list[tuple]:
    """The best `limit` rows, at most `per_initiative` from one initiative (so one weekly
    series does not fill the list), topped up with the next best if that leaves it short."""
    if per_initiative is None:
        return heapq.nsmallest(limit, scored, key=lambda row: row[:3])
    ordered = sorted(scored, key=lambda row: row[:3])
    taken: dict[int, int] = defaultdict(int)
    best, spare = [], []
    for row in ordered:
        initiative_id = row[3].initiative_id
        if taken[initiative_id] < per_initiative:
            taken[initiative_id] += 1
            best.append(row)
            if len(best) == limit:
                return best
        else:
            spare.append(row)
    return sorted(best + spare[: limit - len(best)], key=lambda row: row[:3])


def _topped_up(best: list[tuple], per_initiative: int | None) -> bool:
    if per_initiative is None:
        return False
    counts: dict[int, int] = defaultdict(int)
    for row in best:
        counts[row[3].initiative_id] += 1
    return any(count > per_initiative for count in counts.values())


def _shift_scores(
    person: VolunteerFeatures, shifts: list[ShiftFeatures], context: MatchContext
) -> list[tuple[float, dt.datetime, int, ShiftFeatures]]:
    """(minus score, start, id, shift) for each shift no hard rule excludes: sorting these
    puts the best first, and the sooner shift first among equals."""
    now = context.now
    return [
        (-points_for(person, shift, context), shift.starts_at, shift.shift_id, shift)
        for shift in shifts
        if exclusion(person, shift, now) is None
    ]


def best_scores_by_initiative(user_id: int, *, now: dt.datetime) -> dict[int, float]:
    """For the list's "best match" sort: each initiative's best score among its upcoming
    shifts that the person may join."""
    where = places()
    person = volunteer_features(user_id, now=now, where=where)
    context = match_context(now)
    best: dict[int, float] = {}
    with gc_paused():
        shifts = upcoming_shift_features(now=now, oldest_age=_oldest_age(person, now, HORIZON_DAYS))
        for shift in shifts:
            if exclusion(person, shift, now) is not None:
                continue
            score = points_for(person, shift, context)
            if score > best.get(shift.initiative_id, -math.inf):
                best[shift.initiative_id] = score
    return best


def _with_shifts(matches: list[Match]) -> list[Recommendation]:
    if not matches:
        return []
    shifts = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Shift)
            .where(Shift.id.in_([m.shift_id for m in matches]))
            .options(
                joinedload(Shift.initiative).joinedload(Initiative.organization),
                joinedload(Shift.neighborhood),
            )
        )
    }
    return [Recommendation(shifts[m.shift_id], m) for m in matches if m.shift_id in shifts]


# ---------------------------------------------------------------------------------------------
# One shift


@dataclass
class Candidate:
    user_id: int
    name: str
    neighborhood: str | None
    channel: str  # "sms" or "email": how an invitation would reach them
    match: Match


def _week_ago(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=7)


def textable() -> sa.ColumnElement[bool]:
    """SQL for User.can_text: a phone, consent, no STOP, and a number that works."""
    return sa.and_(
        _users.c.phone.is_not(None),
        _users.c.sms_consent_at.is_not(None),
        _users.c.sms_opted_out_at.is_(None),
        _users.c.phone_status == PhoneStatus.OK.value,
    )


def _birth_cutoff(shift: ShiftFeatures) -> dt.date:
    """The latest birth date of someone old enough on the shift's local date."""
    day = shift.local_date
    try:
        return day.replace(year=day.year - shift.minimum_age)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - shift.minimum_age, day=28)


# People are sorted in SQL by the part of the score SQL can judge (cause and weekly grid),
# and only the first batch is scored in Python, unless the ceiling on everyone else's score
# says one of them could still make the list (then a second query fetches those few).
CANDIDATE_BATCH = 4000


def rank_candidates(
    shift: Shift,
    *,
    now: dt.datetime,
    limit: int = 50,
    weekly_cap: int | None = None,
    batch: int = CANDIDATE_BATCH,
) -> list[Candidate]:
    """The `limit` people best suited to `shift` who could be invited to it now, with reasons.

    Everyone listed is an active volunteer who is not on the shift, not already invited to it,
    not confirmed for another shift at that time, has not replied STOP, can be reached (a
    textable phone or an email), is old enough, and has had fewer than the weekly cap of
    invitations in the last seven days. At most eight queries whatever the number of people;
    the order is exactly the order `scoring.evaluate` gives.
    """
    features = shift_features(shift)
    context = match_context(now)
    cap = int(get_setting("max_invitations_per_week")) if weekly_cap is None else weekly_cap
    where = places()

    on_shift = sa.exists().where(
        _signups.c.user_id == _users.c.id,
        _signups.c.shift_id == shift.id,
        _signups.c.status.in_([s.value for s in _ON_SHIFT]),
    )
    busy = (
        sa.select(_signups.c.user_id)
        .join(_shifts, _shifts.c.id == _signups.c.shift_id)
        .where(
            _signups.c.status == SignupStatus.CONFIRMED.value,
            _shifts.c.status == ShiftStatus.SCHEDULED.value,
            _shifts.c.id != shift.id,
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
        )
    )
    invited_here = sa.select(_invitations.c.user_id).where(_invitations.c.shift_id == shift.id)
    at_cap = (
        sa.select(_invitations.c.user_id)
        .where(Invitation.sent_at > _week_ago(now))
        .group_by(_invitations.c.user_id)
        .having(sa.func.count() >= cap)
    )
    conditions = [
        _users.c.active.is_(True),
        _users.c.role == Role.VOLUNTEER.value,
        _users.c.sms_opted_out_at.is_(None),
        sa.or_(textable(), _users.c.email.is_not(None)),
        ~on_shift,
        _users.c.id.not_in(busy),
        _users.c.id.not_in(invited_here),
        _users.c.id.not_in(at_cap),
    ]
    if features.minimum_age:
        conditions += [
            _users.c.birth_date.is_not(None),
            User.birth_date <= _birth_cutoff(features),
        ]

    # The cause and weekly-grid points, as scoring.cause_and_time_points gives them.
    # An outer join on the (user, cause) primary key: one lookup per person.
    shared_cause = user_causes.alias("shared_cause")
    cares = shared_cause.c.user_id.is_not(None)
    mask = _users.c.availability_mask
    bit = slot_bit(features.local_weekday, features.local_part)
    head = sa.case((cares, W.CAUSE), else_=0.0) + sa.case(
        (mask == 0, 0.0), (mask.op("&")(bit) != 0, W.AVAILABLE), else_=W.NOT_AVAILABLE
    )
    people = (
        sa.select(
            _users.c.id.label("id"),
            mask.label("mask"),
            _users.c.neighborhood_id.label("hood_id"),
            _users.c.zip_code.label("zip_code"),
            _users.c.travel_miles.label("travel"),
            _users.c.effort_preference.label("effort"),
            (User.birth_date if features.minimum_age else sa.null()).label("born"),
            cares.label("cares"),
            head.label("head"),
        )
        .select_from(
            _users.outerjoin(
                shared_cause,
                sa.and_(
                    shared_cause.c.user_id == _users.c.id,
                    shared_cause.c.cause_id == features.cause_id,
                ),
            )
        )
        .where(*conditions)
    )

    ceiling = ceiling_beyond_cause_and_time(features, context)
    languages_of, skills_of = _offers(features)
    first = _candidate_rows(
        people.order_by(head.desc(), _users.c.id).limit(batch), features.cause_id
    )
    rows = {row[0]: row for row in first}
    if len(first) == batch:
        batch_people = _volunteers(first, features, where, skills_of, languages_of)
        scored = _scores(batch_people, features, context)
        kth = scored[limit - 1][0] if len(scored) >= limit else -math.inf
        if not kth > first[-1].head + ceiling:
            # Someone not fetched could still make the list: fetch everyone who could.
            more = people if kth == -math.inf else people.where(head >= kth - ceiling)
            for row in _candidate_rows(more, features.cause_id):
                rows.setdefault(row[0], row)

    volunteers = _volunteers(list(rows.values()), features, where, skills_of, languages_of)
    with gc_paused():
        matches = rank_volunteers(volunteers, features, context, limit=limit)
    return _with_people(matches)


def _candidate_rows(people: sa.Select, cause_id: int) -> list[sa.Row]:
    """People with their show-up record and whether they served the cause, worked out only
    for the rows `people` returns (the correlated subqueries sit outside its LIMIT)."""
    inner = people.subquery()
    status = sa.type_coerce(_signups.c.status, sa.String)  # plain text: no enum per row

    def history_count(value: str):
        return (
            sa.select(sa.func.count())
            .where(_signups.c.user_id == inner.c.id, status == value)
            .scalar_subquery()
        )

    served_cause = sa.exists().where(
        _signups.c.user_id == inner.c.id,
        status == SignupStatus.ATTENDED.value,
        _signups.c.shift_id.in_(
            sa.select(_shifts.c.id)
            .join(_initiatives, _initiatives.c.id == _shifts.c.initiative_id)
            .where(_initiatives.c.cause_id == cause_id)
        ),
    )
    return db.session.execute(
        sa.select(
            *inner.c,
            history_count(SignupStatus.ATTENDED.value).label("attended"),
            history_count(SignupStatus.NO_SHOW.value).label("no_shows"),
            served_cause.label("served_cause"),
        ).order_by(inner.c.head.desc(), inner.c.id)
    ).all()


def _offers(features: ShiftFeatures) -> tuple[dict[int, set[str]], dict[int, set[int]]]:
    """Which of the shift's languages and skills each person offers, in two queries."""
    languages_of: dict[int, set[str]] = defaultdict(set)
    wanted = [code for code in features.languages if code not in W.COMMON_LANGUAGES]
    if wanted:
        for user_id, code in db.session.execute(
            sa.select(user_languages.c.user_id, user_languages.c.language_code).where(
                user_languages.c.language_code.in_(wanted)
            )
        ):
            languages_of[user_id].add(code)
    skills_of: dict[int, set[int]] = defaultdict(set)
    if features.skills:
        for user_id, skill_id in db.session.execute(
            sa.select(user_skill_table.c.user_id, user_skill_table.c.skill_id).where(
                user_skill_table.c.skill_id.in_(list(features.skills))
            )
        ):
            skills_of[user_id].add(skill_id)
    return languages_of, skills_of


_NOTHING: frozenset = frozenset()


def _volunteers(
    rows: list[sa.Row],
    features: ShiftFeatures,
    where: Places,
    skills_of: dict[int, set[int]],
    languages_of: dict[int, set[str]],
) -> list[VolunteerFeatures]:
    """People's features as far as they bear on this one shift: whether they share its
    cause, which of its skills and languages they offer, their grid, place and record."""
    cause = frozenset({features.cause_id})
    volunteers = []
    for row in rows:
        user_id = row[0]
        lat, lon = where.locate(row.hood_id, row.zip_code)
        skills = skills_of.get(user_id)
        languages = languages_of.get(user_id)
        volunteers.append(
            VolunteerFeatures(
                user_id,
                cause if row.cares else _NOTHING,
                frozenset(skills) if skills else _NOTHING,
                frozenset(languages) if languages else _NOTHING,
                row.mask or 0,
                lat,
                lon,
                row.travel,
                row.effort,
                row.born,
                (),
                _NOTHING,
                cause if row.served_cause else _NOTHING,
                row.attended,
                row.no_shows,
            )
        )
    return volunteers


def _scores(
    volunteers: list[VolunteerFeatures], features: ShiftFeatures, context: MatchContext
) -> list[tuple[float, int]]:
    """Scores of a batch, best first, for deciding whether a second query is needed."""
    scored = [
        (points_for(v, features, context), v.user_id)
        for v in volunteers
        if exclusion(v, features, context.now) is None
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return scored


def _with_people(matches: list[Match]) -> list[Candidate]:
    if not matches:
        return []
    rows = {
        row.id: row
        for row in db.session.execute(
            sa.select(
                _users.c.id,
                _users.c.name,
                _users.c.email,
                textable().label("textable"),
                _hoods.c.name.label("neighborhood"),
            )
            .outerjoin(_hoods, _hoods.c.id == _users.c.neighborhood_id)
            .where(_users.c.id.in_([m.user_id for m in matches]))
        )
    }
    candidates = []
    for match in matches:
        row = rows[match.user_id]
        candidates.append(
            Candidate(
                user_id=row.id,
                name=short_name(row.name, row.email),
                neighborhood=row.neighborhood,
                channel="sms" if row.textable else "email",
                match=match,
            )
        )
    return candidates


def short_name(name: str | None, email: str | None = None) -> str:
    """First name and last initial ("María G."): enough to recognise a regular, no more,
    for people a coordinator does not yet work with."""
    parts = (name or "").split()
    if not parts:
        return (email or "").split("@")[0][:2] + "…" if email else "—"
    if len(parts) == 1:
        return parts[0]
    return f"{parts[0]} {parts[-1][0]}."
