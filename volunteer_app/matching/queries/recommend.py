"""One resident against every upcoming shift: `recommend_shifts` (the home page, the list's
"best match" sort, /me/recommendations) and each initiative's best score for a resident."""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from volunteer_app.extensions import db
from volunteer_app.initiatives.models import (
    Initiative,
)
from volunteer_app.matching.queries.features import (
    _NO_LANGUAGES,
    _NO_SKILLS,
    HORIZON_DAYS,
    _helpers_by_initiative,
    _initiatives,
    _Instants,
    _raw,
    _shift_features,
    _shifts,
    _upcoming,
    gc_paused,
    match_context,
    places,
    upcoming_shift_features,
    volunteer_features,
)
from volunteer_app.matching.scoring import (
    Match,
    MatchContext,
    ShiftFeatures,
    VolunteerFeatures,
    age_on,
    evaluate,
    exclusion,
    initiative_ceiling,
    points_for,
)
from volunteer_app.shifts.models import Shift


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
    summary = _initiative_summary(conditions)
    if not summary:
        return []
    skills, languages = _helpers_by_initiative([row[0] for row in summary])
    ceilings = _ceilings(person, summary, skills, languages, context)
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


def _initiative_summary(conditions: list[sa.ColumnElement[bool]]) -> Sequence[sa.Row]:
    """(initiative id, cause id, shifts, first start) of the initiatives with matching shifts."""
    return db.session.execute(
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


def _ceilings(
    person: VolunteerFeatures,
    summary: Sequence[sa.Row],
    skills: dict[int, dict[int, str]],
    languages: dict[int, dict[str, str]],
    context: MatchContext,
) -> list[tuple[float, int, int]]:
    """(ceiling, initiative id, shifts) for each initiative, highest ceiling first."""
    instants = _Instants()
    return sorted(
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
