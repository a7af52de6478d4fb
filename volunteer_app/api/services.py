"""The queries behind the open data API: public facts only, a fixed number of queries a page.

Nothing here ever selects a person's name, phone or email: initiatives, shifts, goals and
aggregates only.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from volunteer_app.extensions import db
from volunteer_app.impact import reports
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.reference.models import Cause, Neighborhood
from volunteer_app.shifts.models import Shift, ShiftStatus

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20


class PageOutOfRange(Exception):
    """The page asked for is past the last one."""


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _check_page(page: int, per_page: int, total: int) -> None:
    if page > max(1, math.ceil(total / per_page)):
        raise PageOutOfRange


def _paged(query: sa.Select, count_query: sa.Select, page: int, per_page: int) -> Page:
    total = db.session.scalar(count_query) or 0
    _check_page(page, per_page, total)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items, page, per_page, total)


def published_initiatives(
    *, page: int, per_page: int, cause: str | None = None, neighborhood: str | None = None
) -> Page:
    """Published initiatives by title, optionally of one cause or serving one neighborhood."""
    conditions = [Initiative.status == InitiativeStatus.PUBLISHED]
    if cause:
        conditions.append(Initiative.cause.has(Cause.slug == cause))
    if neighborhood:
        conditions.append(Initiative.neighborhoods.any(Neighborhood.slug == neighborhood))
    query = (
        sa.select(Initiative)
        .where(*conditions)
        .options(
            joinedload(Initiative.cause),
            joinedload(Initiative.organization),
            selectinload(Initiative.neighborhoods),
        )
        .order_by(Initiative.title, Initiative.id)
    )
    count = sa.select(sa.func.count()).select_from(Initiative).where(*conditions)
    return _paged(query, count, page, per_page)


def public_initiative(slug: str) -> Initiative | None:
    """A published or closed initiative, with what its API record shows."""
    return db.session.scalar(
        sa.select(Initiative)
        .where(Initiative.slug == slug, Initiative.status.in_(reports.PUBLIC_STATUSES))
        .options(
            joinedload(Initiative.cause),
            joinedload(Initiative.organization),
            selectinload(Initiative.neighborhoods),
        )
    )


def upcoming_shifts(
    *,
    now: dt.datetime,
    page: int,
    per_page: int,
    tz: str,
    initiative: str | None = None,
    neighborhood: str | None = None,
    from_on: dt.date | None = None,
    to_on: dt.date | None = None,
) -> Page:
    """Scheduled shifts of published initiatives that have not started, soonest first.
    Dates are local dates in `tz` (the program's timezone), both included."""
    conditions = [
        Shift.status == ShiftStatus.SCHEDULED,
        Shift.starts_at > now,
        Initiative.status == InitiativeStatus.PUBLISHED,
    ]
    if initiative:
        conditions.append(Initiative.slug == initiative)
    if neighborhood:
        conditions.append(Shift.neighborhood.has(Neighborhood.slug == neighborhood))
    if from_on:
        conditions.append(Shift.starts_at >= reports.local_start(from_on, tz))
    if to_on:
        conditions.append(Shift.starts_at < reports.local_start(to_on + dt.timedelta(days=1), tz))
    query = (
        sa.select(Shift)
        .join(Initiative, Shift.initiative_id == Initiative.id)
        .where(*conditions)
        .options(joinedload(Shift.initiative), joinedload(Shift.neighborhood))
        .order_by(Shift.starts_at, Shift.id)
    )
    count = (
        sa.select(sa.func.count())
        .select_from(Shift)
        .join(Initiative, Shift.initiative_id == Initiative.id)
        .where(*conditions)
    )
    return _paged(query, count, page, per_page)


def public_initiatives_page(*, page: int, per_page: int) -> Page:
    """Published and closed initiatives by title, one page."""
    conditions = [Initiative.status.in_(reports.PUBLIC_STATUSES)]
    query = sa.select(Initiative).where(*conditions).order_by(Initiative.title, Initiative.id)
    count = sa.select(sa.func.count()).select_from(Initiative).where(*conditions)
    return _paged(query, count, page, per_page)


def neighborhood_impact(
    period: reports.Period, *, tz: str, page: int, per_page: int
) -> tuple[Page, reports.Equity]:
    """Every neighborhood's figures for `period` (public initiatives only), one page."""
    scope = reports.Scope(public_only=True)
    equity = reports.equity(
        scope,
        period,
        shift_range=(
            reports.local_start(period.from_on, tz),
            reports.local_start(period.to_on + dt.timedelta(days=1), tz),
        ),
        total_minutes=0,
    )
    rows = equity.neighborhoods
    _check_page(page, per_page, len(rows))
    start = (page - 1) * per_page
    return Page(rows[start : start + per_page], page, per_page, len(rows)), equity


def number(value: decimal.Decimal | int | None) -> float | int | None:
    """A JSON number: whole numbers stay integers."""
    if value is None:
        return None
    value = decimal.Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)
