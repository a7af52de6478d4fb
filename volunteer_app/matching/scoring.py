"""The matching score: how well one shift fits one volunteer, and why.

A pure function of plain data: `evaluate(volunteer, shift, context)` takes the features below
(no database, no Flask) and returns a `Match` with a score and the reasons behind it, or says
which hard rule excludes the pair. The queries that build the features live in queries.py;
the weights live in weights.py; turning reasons into words lives in reasons.py.

Hard rules (the pair is excluded, whatever the score):
- the shift is cancelled or has started;
- the person is younger than the initiative's minimum age on the shift's local date, or their
  age is unknown and there is a minimum age (the signup service refuses them too);
- the person already has a signup on the shift (confirmed, waitlisted, or already served);
- the shift overlaps another shift the person is confirmed for.

A full shift is *not* excluded: signups on a full shift join its waitlist, which the platform
always offers, so "full" is a heavy penalty instead (weights.FULL).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from volunteer_app.matching import weights as W

# Parts of the day, as in accounts.models.DAY_PARTS: morning before noon, afternoon until 5 pm.
MORNING, AFTERNOON, EVENING = 0, 1, 2
PARTS_PER_DAY = 3
EARTH_RADIUS_MILES = 3958.8

# Why a pair is excluded.
CLOSED = "closed"
TOO_YOUNG = "too_young"
AGE_UNKNOWN = "age_unknown"
SIGNED_UP = "signed_up"
BUSY = "busy"


# Features are plain slotted dataclasses, not frozen ones: ranking makes tens of thousands of
# them per request and a frozen dataclass is five times slower to build. Treat them as values.


@dataclass(slots=True)
class VolunteerFeatures:
    """What matching knows about one person. Every field may be empty: a new person with an
    empty profile still gets suggestions (soon, near if known, needing people)."""

    user_id: int
    cause_ids: frozenset[int] = frozenset()
    skill_ids: frozenset[int] = frozenset()
    language_codes: frozenset[str] = frozenset()
    # 21 bits, weekday * 3 + part of day, Monday morning = bit 0; 0 means "not told us".
    availability_mask: int = 0
    # Where they live: their neighborhood's centroid (or their ZIP code's neighborhood).
    latitude: float | None = None
    longitude: float | None = None
    travel_miles: float | None = None
    effort_preference: str | None = None
    birth_date: dt.date | None = None
    # (starts_at, ends_at) of the live shifts they are confirmed for.
    busy: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    # Shifts they hold a signup on (anything but cancelled).
    signed_up_shift_ids: frozenset[int] = frozenset()
    # History: causes of shifts they attended, and how often they came or did not.
    past_cause_ids: frozenset[int] = frozenset()
    attended: int = 0
    no_shows: int = 0


_EMPTY_SKILLS: dict[int, str] = {}
_EMPTY_LANGUAGES: dict[str, str] = {}


@dataclass(slots=True)
class ShiftFeatures:
    """What matching knows about one shift. The local weekday, part of day and date (in the
    initiative's timezone) are worked out from `starts_at` unless the caller passes them,
    which queries.py does from a cache because many shifts start at the same hour."""

    shift_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    cause_id: int
    initiative_id: int = 0
    cause_name: str = ""
    minimum_age: int = 0
    # Skills and languages that help: id or code -> name (for the reasons).
    skills: dict[int, str] = field(default_factory=lambda: _EMPTY_SKILLS)
    languages: dict[str, str] = field(default_factory=lambda: _EMPTY_LANGUAGES)
    # The shift's own coordinates, else its neighborhood's centroid.
    latitude: float | None = None
    longitude: float | None = None
    effort: str | None = None
    capacity: int = 0
    spots_taken: int = 0
    cancelled: bool = False
    priority_neighborhood: bool = False
    local_weekday: int = -1
    local_part: int = -1
    local_date: dt.date | None = None

    def __post_init__(self) -> None:
        if self.local_date is None:
            self.local_weekday, self.local_part, self.local_date = local_slot(
                self.starts_at, self.timezone
            )

    @property
    def spots_left(self) -> int:
        return max(self.capacity - self.spots_taken, 0)


@dataclass(frozen=True, slots=True)
class MatchContext:
    """What is the same for every pair scored in one go."""

    now: dt.datetime
    priority_boost: bool = False


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a shift fits, with the points it earned. `kind` says what it is about;
    `value` carries what the words need (a day and part, miles, a name): its type goes with
    `kind`, which reasons.describe reads it by."""

    kind: str
    points: float
    value: Any = None


@dataclass(slots=True)
class Match:
    shift_id: int
    user_id: int
    score: float
    reasons: tuple[Reason, ...] = ()
    excluded: str | None = None

    @property
    def is_excluded(self) -> bool:
        return self.excluded is not None


# Reasons read in this order: when, where, how, why.
REASON_ORDER = (
    "time",
    "soon",
    "distance",
    "language",
    "skill",
    "cause",
    "past_cause",
    "effort",
    "needs_people",
    "priority",
    "reliable",
)
REASON_RANK = {kind: rank for rank, kind in enumerate(REASON_ORDER)}

_zones: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _zones.get(name)
    if zone is None:
        zone = _zones[name] = ZoneInfo(name)
    return zone


def part_of_day(hour: int) -> int:
    """Morning before noon, afternoon from noon until 5 pm, evening from 5 pm."""
    if hour < 12:
        return MORNING
    return AFTERNOON if hour < 17 else EVENING


def local_slot(starts_at: dt.datetime, timezone: str) -> tuple[int, int, dt.date]:
    """The local weekday (Monday = 0), part of day and date of an instant in `timezone`."""
    start = starts_at.astimezone(_zone(timezone))
    return start.weekday(), part_of_day(start.hour), start.date()


def slot_bit(weekday: int, part: int) -> int:
    """The availability bit of a weekday (Monday = 0) and part of day."""
    return 1 << (weekday * PARTS_PER_DAY + part)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def miles_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


_MILES_PER_RADIAN = EARTH_RADIUS_MILES
_RADIANS = math.pi / 180


def miles_across_town(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in miles on a flat map around the two points (equirectangular). Within a
    city it differs from the haversine by far less than a hundredth of a mile, at a third
    of the cost; scoring measures every shift, so it uses this one."""
    x = (lon2 - lon1) * math.cos((lat1 + lat2) * (_RADIANS / 2))
    return _MILES_PER_RADIAN * _RADIANS * math.sqrt(x * x + (lat2 - lat1) ** 2)


def exclusion(volunteer: VolunteerFeatures, shift: ShiftFeatures, now: dt.datetime) -> str | None:
    """The hard rule that keeps `shift` from `volunteer`, or None."""
    if shift.cancelled or shift.starts_at <= now:
        return CLOSED
    if shift.minimum_age:
        if volunteer.birth_date is None:
            return AGE_UNKNOWN
        assert shift.local_date is not None  # __post_init__ sets it
        if age_on(volunteer.birth_date, shift.local_date) < shift.minimum_age:
            return TOO_YOUNG
    if shift.shift_id in volunteer.signed_up_shift_ids:
        return SIGNED_UP
    for busy_from, busy_until in volunteer.busy:
        if busy_from < shift.ends_at and busy_until > shift.starts_at:
            return BUSY
    return None


def evaluate(volunteer: VolunteerFeatures, shift: ShiftFeatures, context: MatchContext) -> Match:
    """How well `shift` fits `volunteer` (higher is better), and why; or which hard rule
    excludes the pair."""
    excluded = exclusion(volunteer, shift, context.now)
    if excluded is not None:
        return Match(shift.shift_id, volunteer.user_id, -math.inf, (), excluded)
    reasons: list[Reason] = []
    score = points_for(volunteer, shift, context, reasons)
    return Match(shift.shift_id, volunteer.user_id, score, _shown(reasons))


def points_for(  # noqa: C901, PLR0912, PLR0915 -- flat on purpose, see the docstring
    volunteer: VolunteerFeatures,
    shift: ShiftFeatures,
    context: MatchContext,
    reasons: list[Reason] | None = None,
) -> float:
    """The score of a pair that no hard rule excludes; appends the reasons to `reasons` when
    given. Written as one flat function on purpose: ranking calls it for every upcoming shift
    or every volunteer, and only the few pairs shown are scored again with their reasons."""
    score = 0.0

    # Cause, and causes served before.
    cause_id = shift.cause_id
    if cause_id in volunteer.cause_ids:
        score += W.CAUSE
        if reasons is not None:
            reasons.append(Reason("cause", W.CAUSE, shift.cause_name))
    if cause_id in volunteer.past_cause_ids:
        score += W.PAST_CAUSE
        if reasons is not None:
            reasons.append(Reason("past_cause", W.PAST_CAUSE, shift.cause_name))

    # When: the shift's local weekday and part of day against the weekly grid.
    mask = volunteer.availability_mask
    if mask:
        if mask & (1 << (shift.local_weekday * PARTS_PER_DAY + shift.local_part)):
            score += W.AVAILABLE
            if reasons is not None:
                slot = (shift.local_weekday, shift.local_part)
                reasons.append(Reason("time", W.AVAILABLE, slot))
        else:
            score += W.NOT_AVAILABLE

    # Where: from the person's neighborhood to the shift, against how far they will go.
    if (
        volunteer.latitude is not None
        and shift.latitude is not None
        and volunteer.longitude is not None
        and shift.longitude is not None
    ):
        miles = miles_across_town(
            volunteer.latitude, volunteer.longitude, shift.latitude, shift.longitude
        )
        reach = volunteer.travel_miles
        if reach is None:
            reach = W.DEFAULT_TRAVEL_MILES
        elif reach < 0.5:
            reach = 0.5  # "0 miles" means "my own block", not "nowhere"
        if miles <= reach:
            points = W.NEAR * (1 - miles / reach)
            score += points
            if reasons is not None and points > 0:
                reasons.append(Reason("distance", points, miles))
        else:
            score += W.TOO_FAR * min(1.0, (miles - reach) / reach)

    # Languages and skills the shift can use.
    if shift.languages and volunteer.language_codes:
        for code in sorted(shift.languages):
            if code in volunteer.language_codes and code not in W.COMMON_LANGUAGES:
                score += W.LANGUAGE
                if reasons is not None:
                    reasons.append(Reason("language", W.LANGUAGE, shift.languages[code]))
                break
    if shift.skills and volunteer.skill_ids:
        shared = [name for skill, name in shift.skills.items() if skill in volunteer.skill_ids]
        if shared:
            points = W.SKILL * min(len(shared), W.SKILLS_COUNTED)
            score += points
            if reasons is not None:
                reasons.append(Reason("skill", points, tuple(sorted(shared))))

    # Effort: a shift harder than asked for costs; the level asked for earns a little.
    if shift.effort and volunteer.effort_preference:
        wanted = W.EFFORT_LEVELS.get(volunteer.effort_preference)
        needed = W.EFFORT_LEVELS.get(shift.effort)
        if wanted is not None and needed is not None:
            if needed > wanted:
                score += W.EFFORT_TOO_HARD * (needed - wanted)
            elif needed == wanted:
                score += W.EFFORT_MATCH
                if reasons is not None:
                    reasons.append(Reason("effort", W.EFFORT_MATCH, shift.effort))

    # What the shift needs: open spots soon; a full shift only has its waitlist.
    days_left = (shift.starts_at - context.now).total_seconds() / 86400
    spots_left = shift.capacity - shift.spots_taken
    if spots_left <= 0:
        score += W.FULL
    else:
        closeness = 1.0 - (days_left - W.URGENT_DAYS) / (W.CALM_DAYS - W.URGENT_DAYS)
        if closeness > 0:
            points = W.URGENCY * min(closeness, 1.0) * spots_left / shift.capacity
            score += points
            if reasons is not None:
                reasons.append(Reason("needs_people", points, spots_left))
    if days_left < W.SOON_DAYS:
        points = W.SOON * (1 - days_left / W.SOON_DAYS)
        score += points
        if reasons is not None:
            reasons.append(Reason("soon", points, days_left))

    if context.priority_boost and shift.priority_neighborhood:
        score += W.PRIORITY_NEIGHBORHOOD
        if reasons is not None:
            reasons.append(Reason("priority", W.PRIORITY_NEIGHBORHOOD))

    # Show-up record, smoothed so a newcomer is neutral.
    served = volunteer.attended + volunteer.no_shows
    if served:
        points = W.RELIABILITY * (2 * (volunteer.attended + 1) / (served + 2) - 1)
        score += points
        if (
            reasons is not None
            and points > 0
            and served >= W.RELIABLE_MIN_SHIFTS
            and volunteer.attended / served >= W.RELIABLE_MIN_RATE
        ):
            reasons.append(Reason("reliable", points, (volunteer.attended, served)))
    return score


# --- Ceilings, so ranking can skip what cannot make the top -------------------------------
# Each is the most `points_for` could give under what is already known; ranking uses them
# to prove that the pairs it did not score could not have beaten the ones it shows. A test
# checks them against `points_for` on random pairs: change them together.


def _reliability_points(volunteer: VolunteerFeatures) -> float:
    served = volunteer.attended + volunteer.no_shows
    if not served:
        return 0.0
    return W.RELIABILITY * (2 * (volunteer.attended + 1) / (served + 2) - 1)


def initiative_ceiling(  # noqa: PLR0917 -- what a ceiling knows of an initiative, before its shifts
    volunteer: VolunteerFeatures,
    cause_id: int,
    skills: dict[int, str],
    languages: dict[str, str],
    context: MatchContext,
    first_starts_at: dt.datetime | None = None,
) -> float:
    """The best score any shift of an initiative (its cause, skills and languages) could
    reach for `volunteer`, whatever its place, effort and fill; given the start of its
    soonest shift, urgency and soonness are capped by it too."""
    ceiling = _reliability_points(volunteer)
    if cause_id in volunteer.cause_ids:
        ceiling += W.CAUSE
    if cause_id in volunteer.past_cause_ids:
        ceiling += W.PAST_CAUSE
    if volunteer.availability_mask:
        ceiling += W.AVAILABLE
    if volunteer.latitude is not None and volunteer.longitude is not None:
        ceiling += W.NEAR
    if any(c in volunteer.language_codes and c not in W.COMMON_LANGUAGES for c in languages):
        ceiling += W.LANGUAGE
    shared = sum(1 for skill in skills if skill in volunteer.skill_ids)
    ceiling += W.SKILL * min(shared, W.SKILLS_COUNTED)
    if volunteer.effort_preference:
        ceiling += W.EFFORT_MATCH
    if first_starts_at is None:
        ceiling += W.URGENCY + W.SOON
    else:
        # Both fade with time left, so the soonest shift bounds them.
        days_left = (first_starts_at - context.now).total_seconds() / 86400
        closeness = 1.0 - (days_left - W.URGENT_DAYS) / (W.CALM_DAYS - W.URGENT_DAYS)
        ceiling += W.URGENCY * min(max(closeness, 0.0), 1.0)
        ceiling += W.SOON * max(0.0, 1 - days_left / W.SOON_DAYS)
    if context.priority_boost:
        ceiling += W.PRIORITY_NEIGHBORHOOD
    return ceiling


def cause_and_time_points(cares: bool, availability_mask: int, shift: ShiftFeatures) -> float:
    """What `points_for` gives for sharing the shift's cause and for the weekly grid; the
    candidates query computes the same sum in SQL to sort people before scoring them."""
    points = W.CAUSE if cares else 0.0
    if availability_mask:
        bit = 1 << (shift.local_weekday * PARTS_PER_DAY + shift.local_part)
        points += W.AVAILABLE if availability_mask & bit else W.NOT_AVAILABLE
    return points


def ceiling_beyond_cause_and_time(shift: ShiftFeatures, context: MatchContext) -> float:
    """The most anyone could score on `shift` apart from `cause_and_time_points`."""
    blank = VolunteerFeatures(user_id=0)
    ceiling = points_for(blank, shift, context)  # what the shift itself brings: fill, time left
    ceiling += W.NEAR + W.PAST_CAUSE + W.RELIABILITY
    if any(code not in W.COMMON_LANGUAGES for code in shift.languages):
        ceiling += W.LANGUAGE
    ceiling += W.SKILL * min(len(shift.skills), W.SKILLS_COUNTED)
    if shift.effort:
        ceiling += W.EFFORT_MATCH
    return ceiling


def _shown(reasons: list[Reason]) -> tuple[Reason, ...]:
    """Every reason that earned points, in reading order; reasons.py picks the few to show."""
    return tuple(sorted(reasons, key=lambda r: REASON_RANK.get(r.kind, len(REASON_ORDER))))


def rank(
    volunteer: VolunteerFeatures,
    shifts: list[ShiftFeatures],
    context: MatchContext,
    *,
    limit: int,
) -> list[Match]:
    """The `limit` best shifts for one person, best first, with reasons; excluded shifts are
    left out. Ties go to the sooner shift."""
    now = context.now
    scored = [
        (points_for(volunteer, shift, context), shift.starts_at, shift.shift_id, index)
        for index, shift in enumerate(shifts)
        if exclusion(volunteer, shift, now) is None
    ]
    best = heapq.nsmallest(limit, scored, key=lambda row: (-row[0], row[1], row[2]))
    return [evaluate(volunteer, shifts[row[3]], context) for row in best]


def rank_volunteers(
    volunteers: list[VolunteerFeatures],
    shift: ShiftFeatures,
    context: MatchContext,
    *,
    limit: int,
) -> list[Match]:
    """The `limit` best people for one shift, best first, with reasons; excluded people are
    left out. Ties go to the lower user id, so the order is stable."""
    now = context.now
    scored = [
        (points_for(volunteer, shift, context), volunteer.user_id, index)
        for index, volunteer in enumerate(volunteers)
        if exclusion(volunteer, shift, now) is None
    ]
    best = heapq.nsmallest(limit, scored, key=lambda row: (-row[0], row[1]))
    return [evaluate(volunteers[row[2]], shift, context) for row in best]
