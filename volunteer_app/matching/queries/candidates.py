"""One shift against every volunteer who could be invited to it: `rank_candidates`.

Hard rules that SQL can judge exactly (already on the shift, busy then, opted out, over the
weekly invitation cap, too young) are filtered in SQL as well, so fewer rows travel;
scoring.py applies them again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from volunteer_app.accounts.models import PhoneStatus, Role, User, user_causes, user_languages
from volunteer_app.accounts.models import user_skills as user_skill_table
from volunteer_app.extensions import db
from volunteer_app.matching import weights as W
from volunteer_app.matching.models import Invitation
from volunteer_app.matching.queries.features import (
    _ON_SHIFT,
    Places,
    _hoods,
    _initiatives,
    _invitations,
    _shifts,
    _signups,
    _users,
    gc_paused,
    match_context,
    places,
    shift_features,
)
from volunteer_app.matching.scoring import (
    Match,
    MatchContext,
    ShiftFeatures,
    VolunteerFeatures,
    ceiling_beyond_cause_and_time,
    exclusion,
    points_for,
    rank_volunteers,
    slot_bit,
)
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import Shift, ShiftStatus, SignupStatus

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
    assert day is not None  # ShiftFeatures.__post_init__ sets it
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

    people, head = _people(features, _eligible(shift, features, now=now, cap=cap))

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


def _eligible(
    shift: Shift, features: ShiftFeatures, *, now: dt.datetime, cap: int
) -> list[sa.ColumnElement[bool]]:
    """The hard rules SQL can judge exactly, as conditions on users: active volunteers who can
    be reached, not on the shift, not busy then, not invited to it, under the weekly cap,
    old enough."""
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
    return conditions


def _people(
    features: ShiftFeatures, conditions: list[sa.ColumnElement[bool]]
) -> tuple[sa.Select, sa.ColumnElement[float]]:
    """The select of everyone meeting `conditions`, with `head`: the cause and weekly-grid
    points, as scoring.cause_and_time_points gives them, which the select can be sorted by."""
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
    return people, head


def _candidate_rows(people: sa.Select, cause_id: int) -> Sequence[sa.Row]:
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
    rows: Sequence[sa.Row],
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
