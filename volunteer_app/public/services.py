"""Finding opportunities: the queries behind the home page, the initiatives list with its
filters, and an initiative's public page.

Where goals stand is impact's to say: progress comes from impact/outcomes.py, the one module
that computes it for every page, CSV and API.

Everything here only reads. Each function runs a fixed number of queries however many
initiatives, shifts, goals or outcome records there are.

Filters that depend on local time (a date range, weekday or weekend) are judged in each
initiative's own timezone, which SQLite cannot do: SQL narrows the upcoming shifts as far as
it safely can and Python makes the exact call on those light rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from volunteer_app.accounts.models import Organization, User
from volunteer_app.core.errors import NotFound
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact.outcomes import goals_with_progress
from volunteer_app.initiatives.models import (
    Initiative,
    InitiativeStatus,
    OutcomeMetric,
)
from volunteer_app.reference.models import Cause, Language, Neighborhood
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.queries import waitlist_ranks

WEEKDAY = "weekday"
WEEKEND = "weekend"
# How many words of a search we honour; the rest would only slow the query down.
MAX_SEARCH_WORDS = 8
# What the screens pass in as `goals`: each metric given, in order, with its progress (an
# impact.outcomes.GoalProgress, which the templates read as .metric, .achieved, .percent ...).
GoalsReader = Callable[[Sequence[OutcomeMetric]], Sequence[Any]]


# Local midnight is at most 14 hours before and 12 hours after UTC midnight (UTC+14, UTC-12).
_EARLIEST_OFFSET = dt.timedelta(hours=14)
_LATEST_OFFSET = dt.timedelta(hours=12)


# ---------------------------------------------------------------------------------------------
# Searching initiatives


@dataclass(frozen=True)
class InitiativeFilters:
    """What a visitor asked for on the initiatives list; None or empty means "any"."""

    q: str = ""
    cause: str | None = None  # cause slug
    neighborhood: str | None = None  # neighborhood slug
    from_on: dt.date | None = None  # local dates, inclusive
    to_on: dt.date | None = None
    open_only: bool = False
    when: str | None = None  # WEEKDAY or WEEKEND, in the initiative's local time
    language: str | None = None  # language code

    @property
    def needs_a_shift(self) -> bool:
        """Whether only initiatives with a matching upcoming shift can match."""
        return bool(self.from_on or self.to_on or self.open_only or self.when)

    @property
    def is_empty(self) -> bool:
        return self == InitiativeFilters()

    @property
    def search_words(self) -> list[str]:
        return self.q.split()[:MAX_SEARCH_WORDS]


@dataclass
class InitiativeResult:
    """One initiative in a list, with the upcoming shifts that matched the filters."""

    initiative: Initiative
    next_shift: Shift | None = None
    matching_shifts: int = 0
    spots_left: int = 0  # across all matching shifts
    headline_goal: Any = None  # impact.outcomes.GoalProgress of its first goal


@dataclass
class ResultsPage:
    items: list[InitiativeResult]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_number(self) -> int:
        """The position of the first item on this page, counting from 1."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.items) - 1 if self.items else 0


def _text_condition(word: str) -> sa.ColumnElement[bool]:
    # icontains escapes % and _ itself (autoescape) and is case-insensitive on both backends.
    organizations = sa.select(Organization.id).where(
        Organization.name.icontains(word, autoescape=True)
    )
    return sa.or_(
        Initiative.title.icontains(word, autoescape=True),
        Initiative.summary.icontains(word, autoescape=True),
        Initiative.story.icontains(word, autoescape=True),
        Initiative.organization_id.in_(organizations),
    )


def _initiative_conditions(filters: InitiativeFilters) -> list[sa.ColumnElement[bool]]:
    """Conditions on the initiative alone (everything but place and time)."""
    conditions = [Initiative.status == InitiativeStatus.PUBLISHED]
    conditions += [_text_condition(word) for word in filters.search_words]
    if filters.cause:
        conditions.append(Initiative.cause.has(Cause.slug == filters.cause))
    if filters.language:
        conditions.append(Initiative.languages.any(Language.code == filters.language))
    return conditions


def _serves(neighborhood_slug: str) -> sa.ColumnElement[bool]:
    return Initiative.neighborhoods.any(Neighborhood.slug == neighborhood_slug)


def _utc_window(filters: InitiativeFilters) -> list[sa.ColumnElement[bool]]:
    """A UTC window wide enough to hold every shift on the local dates asked for, whatever
    the timezone; the exact local date is checked in Python."""
    conditions = []
    # The first or last day there is needs no bound on that side.
    if filters.from_on:
        start = dt.datetime.combine(filters.from_on, dt.time(), tzinfo=dt.UTC)
        with contextlib.suppress(OverflowError):
            conditions.append(Shift.starts_at >= start - _EARLIEST_OFFSET)
    if filters.to_on:
        end = dt.datetime.combine(filters.to_on, dt.time(), tzinfo=dt.UTC)
        with contextlib.suppress(OverflowError):
            conditions.append(Shift.starts_at < end + dt.timedelta(days=1) + _LATEST_OFFSET)
    return conditions


def _shift_matches_locally(starts_at: dt.datetime, tz: str, filters: InitiativeFilters) -> bool:
    if not (filters.from_on or filters.to_on or filters.when):
        return True
    local_start = local(starts_at, tz)
    day = local_start.date()
    if filters.from_on and day < filters.from_on:
        return False
    if filters.to_on and day > filters.to_on:
        return False
    is_weekend = local_start.weekday() >= 5
    if filters.when == WEEKEND and not is_weekend:
        return False
    return not (filters.when == WEEKDAY and is_weekend)


@dataclass
class _Match:
    next_shift_id: int
    next_starts_at: dt.datetime
    count: int = 0
    spots_left: int = 0


def search_initiatives(
    filters: InitiativeFilters,
    *,
    now: dt.datetime,
    page: int = 1,
    per_page: int = 12,
    scores: dict[int, float] | None = None,
    goals: GoalsReader = goals_with_progress,
) -> ResultsPage:
    """Published initiatives matching `filters`, soonest matching shift first, one page.

    A shift matches when it is scheduled, starts after `now`, and passes the place and time
    filters: its local date within `from_on`..`to_on` and its local day a weekday or weekend
    day, both in the initiative's timezone; `open_only` keeps shifts with spots left. A shift
    is in a neighborhood when it is located there, or has no location of its own and its
    initiative serves the neighborhood.

    An initiative matches when it passes the text, cause and language filters and, if a
    neighborhood is asked for, serves it or has a matching shift there. With a date, weekday
    or open-only filter it must also have a matching shift. Initiatives without a matching
    shift come last, by title. `page` is clamped to the pages there are.

    With `scores` (initiative id -> how well it fits the visitor, from matching), the best
    fitting come first, then the others as above.
    """
    per_page = max(1, per_page)
    conditions = _initiative_conditions(filters)

    serves_hood = _serves(filters.neighborhood) if filters.neighborhood else sa.true()
    candidates = db.session.execute(
        sa.select(Initiative.id, Initiative.title, serves_hood.label("serves_hood"))
        .where(*conditions)
        .order_by(Initiative.id)
    ).all()

    matches = _matching_shifts(filters, conditions, serves_hood, now=now)

    kept = _ordered(candidates, matches, filters, scores)
    total = len(kept)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(page, 1), pages)
    page_ids = [initiative_id for initiative_id, _title in kept][
        (page - 1) * per_page : page * per_page
    ]
    items = _load_results(page_ids, matches, goals)
    return ResultsPage(items=items, page=page, per_page=per_page, total=total)


def _matching_shifts(
    filters: InitiativeFilters, conditions: list, serves_hood, *, now: dt.datetime
) -> dict[int, _Match]:
    """Each initiative's shifts that pass the place and time filters (the first, how many, the
    spots left), in one query; the local date and weekday are checked in Python."""
    shift_conditions = [
        *conditions,
        Shift.status == ShiftStatus.SCHEDULED,
        Shift.starts_at > now,
        *_utc_window(filters),
    ]
    if filters.open_only:
        shift_conditions.append(Shift.spots_taken < Shift.capacity)
    if filters.neighborhood:
        hood_id = (
            sa.select(Neighborhood.id)
            .where(Neighborhood.slug == filters.neighborhood)
            .scalar_subquery()
        )
        shift_conditions.append(
            sa.or_(
                Shift.neighborhood_id == hood_id,
                sa.and_(Shift.neighborhood_id.is_(None), serves_hood),
            )
        )
    shift_rows = db.session.execute(
        sa.select(
            Shift.id,
            Shift.initiative_id,
            Shift.starts_at,
            Shift.capacity,
            Shift.spots_taken,
            Initiative.timezone,
        )
        .join(Initiative, Shift.initiative_id == Initiative.id)
        .where(*shift_conditions)
        .order_by(Shift.starts_at, Shift.id)
    ).all()

    matches: dict[int, _Match] = {}
    for shift_id, initiative_id, starts_at, capacity, spots_taken, tz in shift_rows:
        if not _shift_matches_locally(starts_at, tz, filters):
            continue
        match = matches.setdefault(initiative_id, _Match(shift_id, starts_at))
        match.count += 1
        match.spots_left += max(capacity - spots_taken, 0)
    return matches


def _ordered(
    candidates, matches: dict[int, _Match], filters: InitiativeFilters, scores
) -> list[tuple[int, str]]:
    """The initiatives kept, best fitting first (with `scores`), then soonest matching shift,
    then by title."""
    kept = [
        (initiative_id, title)
        for initiative_id, title, serves in candidates
        if initiative_id in matches or (not filters.needs_a_shift and serves)
    ]
    far_future = dt.datetime.max.replace(tzinfo=dt.UTC)
    kept.sort(
        key=lambda row: (
            -scores.get(row[0], -math.inf) if scores is not None else 0,
            matches[row[0]].next_starts_at if row[0] in matches else far_future,
            row[1].casefold(),
            row[0],
        )
    )
    return kept


def _load_results(
    initiative_ids: list[int], matches: dict[int, _Match], goals: GoalsReader
) -> list[InitiativeResult]:
    """The full rows for one page of results, in order, in a fixed number of queries."""
    if not initiative_ids:
        return []
    initiatives = {
        i.id: i
        for i in db.session.scalars(
            sa.select(Initiative)
            .where(Initiative.id.in_(initiative_ids))
            .options(
                joinedload(Initiative.organization),
                joinedload(Initiative.cause),
                selectinload(Initiative.neighborhoods),
                selectinload(Initiative.languages),
                selectinload(Initiative.metrics),
            )
        )
    }
    next_ids = [matches[i].next_shift_id for i in initiative_ids if i in matches]
    shifts = (
        {
            s.id: s
            for s in db.session.scalars(
                sa.select(Shift)
                .where(Shift.id.in_(next_ids))
                .options(joinedload(Shift.neighborhood))
            )
        }
        if next_ids
        else {}
    )
    headlines = [initiatives[i].metrics[0] for i in initiative_ids if initiatives[i].metrics]
    headline_goals = {goal.metric.id: goal for goal in goals(headlines)}

    results = []
    for initiative_id in initiative_ids:
        initiative = initiatives[initiative_id]
        result = InitiativeResult(initiative)
        match = matches.get(initiative_id)
        if match is not None:
            result.next_shift = shifts[match.next_shift_id]
            result.matching_shifts = match.count
            result.spots_left = match.spots_left
        if initiative.metrics:
            result.headline_goal = headline_goals.get(initiative.metrics[0].id)
        results.append(result)
    return results


@dataclass
class FilterChoices:
    causes: list[Cause]
    neighborhoods: list[Neighborhood]
    languages: list[Language]


def filter_choices() -> FilterChoices:
    """What the filter form offers: every cause, neighborhood and language, by name."""
    return FilterChoices(
        causes=list(db.session.scalars(sa.select(Cause).order_by(Cause.name))),
        neighborhoods=list(db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name))),
        languages=list(db.session.scalars(sa.select(Language).order_by(Language.name))),
    )


# ---------------------------------------------------------------------------------------------
# The home page


def upcoming_shifts(*, now: dt.datetime, limit: int = 8) -> list[Shift]:
    """The next scheduled shifts of published initiatives that still have spots left."""
    return list(
        db.session.scalars(
            sa.select(Shift)
            .join(Shift.initiative)
            .where(
                Initiative.status == InitiativeStatus.PUBLISHED,
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.starts_at > now,
                Shift.spots_taken < Shift.capacity,
            )
            .order_by(Shift.starts_at, Shift.id)
            .limit(limit)
            .options(
                contains_eager(Shift.initiative).joinedload(Initiative.organization),
                joinedload(Shift.neighborhood),
            )
        )
    )


@dataclass
class ProgramTotals:
    volunteers: int
    hours: int
    initiatives: int


def program_totals() -> ProgramTotals:
    """Headline numbers: people with approved hours, approved hours, published initiatives."""
    from volunteer_app.hours.models import HoursEntry, HoursStatus

    published = (
        sa.select(sa.func.count())
        .select_from(Initiative)
        .where(Initiative.status == InitiativeStatus.PUBLISHED)
        .scalar_subquery()
    )
    volunteers, minutes, initiatives = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(HoursEntry.user_id)),
            sa.func.coalesce(sa.func.sum(HoursEntry.minutes), 0),
            published,
        ).where(HoursEntry.status == HoursStatus.APPROVED)
    ).one()
    return ProgramTotals(
        volunteers=int(volunteers), hours=int(minutes) // 60, initiatives=int(initiatives)
    )


@dataclass
class HomePage:
    upcoming: list[Shift]
    featured: list[InitiativeResult]
    totals: ProgramTotals
    causes: list[Cause]


def home_page(
    *,
    now: dt.datetime,
    upcoming_limit: int = 8,
    featured_limit: int = 6,
    goals: GoalsReader = goals_with_progress,
) -> HomePage:
    """Everything the home page shows: what is happening soon, initiatives to explore (those
    with the soonest shifts first), headline totals, and causes to browse by."""
    featured = search_initiatives(
        InitiativeFilters(), now=now, per_page=featured_limit, goals=goals
    )
    return HomePage(
        upcoming=upcoming_shifts(now=now, limit=upcoming_limit),
        featured=featured.items,
        totals=program_totals(),
        causes=list(db.session.scalars(sa.select(Cause).order_by(Cause.name))),
    )


# ---------------------------------------------------------------------------------------------
# An initiative's page


def can_preview(viewer: Any, initiative: Initiative) -> bool:
    """Admins and coordinators of the owning organization may see an unpublished initiative."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return viewer.is_admin or initiative.organization_id in viewer.organization_ids


@dataclass
class InitiativePage:
    initiative: Initiative
    goals: Sequence[Any]  # impact.outcomes.GoalProgress, one per goal
    shifts: list[Shift] = field(default_factory=list)
    more_shifts: bool = False  # there are more upcoming shifts than shown
    is_preview: bool = False  # a draft seen by its own coordinators

    @property
    def is_closed(self) -> bool:
        return self.initiative.status == InitiativeStatus.CLOSED


def initiative_page(
    slug: str,
    *,
    viewer: Any,
    now: dt.datetime,
    shift_limit: int = 30,
    goals: GoalsReader = goals_with_progress,
) -> InitiativePage:
    """An initiative's public page: its story, goals with progress and upcoming shifts.

    Drafts are NotFound except for those who may preview them. Closed initiatives stay
    visible, so the public can see what was achieved, but list no shifts. Upcoming shifts
    are the scheduled ones that have not ended yet, at most `shift_limit` of them.
    """
    initiative = db.session.scalar(
        sa.select(Initiative)
        .where(Initiative.slug == slug)
        .options(
            joinedload(Initiative.organization),
            joinedload(Initiative.cause),
            selectinload(Initiative.neighborhoods),
            selectinload(Initiative.skills),
            selectinload(Initiative.languages),
            selectinload(Initiative.metrics),
        )
    )
    if initiative is None:
        raise NotFound(_("We could not find that initiative."))
    is_preview = initiative.status == InitiativeStatus.DRAFT
    if is_preview and not can_preview(viewer, initiative):
        raise NotFound(_("We could not find that initiative."))

    page = InitiativePage(
        initiative=initiative,
        goals=goals(initiative.metrics),
        is_preview=is_preview,
    )
    if initiative.status != InitiativeStatus.CLOSED:
        shifts = list(
            db.session.scalars(
                sa.select(Shift)
                .where(
                    Shift.initiative_id == initiative.id,
                    Shift.status == ShiftStatus.SCHEDULED,
                    Shift.ends_at > now,
                )
                .order_by(Shift.starts_at, Shift.id)
                .limit(shift_limit + 1)
                .options(joinedload(Shift.neighborhood))
            )
        )
        page.shifts = shifts[:shift_limit]
        page.more_shifts = len(shifts) > shift_limit
    return page


# ---------------------------------------------------------------------------------------------
# A volunteer's own shifts


@dataclass
class MyShifts:
    upcoming: list[Signup]
    past: list[Signup]
    approved_minutes: int
    # Signup id -> place in its shift's waitlist, for the waitlisted signups.
    waitlist_ranks: dict[int, int] = field(default_factory=dict)


def my_shifts(user: User, *, now: dt.datetime) -> MyShifts:
    """Everything 'My shifts' shows, in three queries whatever the history's length."""

    signups = db.session.scalars(
        sa.select(Signup)
        .join(Signup.shift)
        .where(Signup.user_id == user.id)
        .order_by(Shift.starts_at)
        .options(
            joinedload(Signup.shift)
            .joinedload(Shift.initiative)
            .joinedload(Initiative.organization)
        )
    ).all()
    upcoming = [
        s
        for s in signups
        if s.shift.ends_at > now and s.status in (SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    ]
    upcoming_ids = {s.id for s in upcoming}
    past = [s for s in reversed(signups) if s.id not in upcoming_ids]
    minutes = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(HoursEntry.minutes), 0)).where(
            HoursEntry.user_id == user.id, HoursEntry.status == HoursStatus.APPROVED
        )
    ).scalar_one()
    return MyShifts(
        upcoming=upcoming,
        past=past,
        approved_minutes=int(minutes),
        waitlist_ranks=waitlist_ranks(upcoming),
    )
