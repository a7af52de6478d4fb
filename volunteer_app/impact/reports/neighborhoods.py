"""Equity: per neighborhood, who lives there and served and what service happened there,
plus the ZIP codes of volunteers who gave no neighborhood."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import sqlalchemy as sa

from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry
from volunteer_app.impact.reports.basics import (
    Period,
    Ratio,
    Scope,
    approved_hours,
    minutes_to_hours,
)
from volunteer_app.impact.reports.figures import (
    HomeGroup,
    people_by_home,
)
from volunteer_app.reference.models import Neighborhood
from volunteer_app.shifts.models import Shift, ShiftStatus


@dataclass
class NeighborhoodRow:
    """A neighborhood with who lives there and served, and the service that happened there."""

    id: int
    slug: str
    name: str
    is_priority: bool
    resident_volunteers: int = 0
    resident_minutes: int = 0
    service_minutes: int = 0
    service_volunteers: int = 0
    shifts: int = 0

    @property
    def resident_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.resident_minutes)

    @property
    def service_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.service_minutes)

    @property
    def is_idle(self) -> bool:
        return not (self.service_minutes or self.shifts)


@dataclass(frozen=True)
class ZipRow:
    """Volunteers who gave a ZIP code but no neighborhood."""

    zip_code: str
    volunteers: int
    minutes: int

    @property
    def hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.minutes)


@dataclass
class Equity:
    neighborhoods: list[NeighborhoodRow]
    zips: list[ZipRow]
    total_minutes: int
    unplaced_minutes: int  # hours not tied to a shift in a known neighborhood
    unknown_home_volunteers: int  # volunteers with neither neighborhood nor ZIP

    @property
    def unplaced_hours(self) -> decimal.Decimal:
        return minutes_to_hours(self.unplaced_minutes)

    @property
    def priority_minutes(self) -> int:
        return sum(row.service_minutes for row in self.neighborhoods if row.is_priority)

    @property
    def priority_share(self) -> Ratio:
        """Share of all hours served in priority neighborhoods."""
        return Ratio(self.priority_minutes, self.total_minutes)

    @property
    def priority_residents_share(self) -> Ratio:
        volunteers = sum(r.resident_volunteers for r in self.neighborhoods) + sum(
            z.volunteers for z in self.zips
        )
        priority = sum(r.resident_volunteers for r in self.neighborhoods if r.is_priority)
        return Ratio(priority, volunteers + self.unknown_home_volunteers)

    @property
    def idle_priority(self) -> list[NeighborhoodRow]:
        """Priority neighborhoods where nothing happened in the period: the need is there,
        the service is not."""
        return [row for row in self.neighborhoods if row.is_priority and row.is_idle]

    @property
    def max_service_minutes(self) -> int:
        return max((row.service_minutes for row in self.neighborhoods), default=0)

    @property
    def max_resident_volunteers(self) -> int:
        return max((row.resident_volunteers for row in self.neighborhoods), default=0)


def _service_places(scope: Scope, period: Period, shift_range: tuple[dt.datetime, dt.datetime]):
    """Subqueries per neighborhood: hours served there (volunteers, minutes) and the scheduled
    shifts there."""
    hours = approved_hours(scope, period.from_on, period.to_on)
    place = (
        sa.select(
            Shift.neighborhood_id.label("neighborhood_id"),
            sa.func.count(sa.distinct(HoursEntry.user_id)).label("volunteers"),
            sa.func.sum(HoursEntry.minutes).label("minutes"),
        )
        .join(Shift, HoursEntry.shift_id == Shift.id)
        .where(*hours, Shift.neighborhood_id.is_not(None))
        .group_by(Shift.neighborhood_id)
        .subquery()
    )
    scheduled = (
        sa.select(
            Shift.neighborhood_id.label("neighborhood_id"),
            sa.func.count(Shift.id).label("shifts"),
        )
        .where(
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at >= shift_range[0],
            Shift.starts_at < shift_range[1],
            Shift.neighborhood_id.is_not(None),
            *scope.on(Shift.initiative_id),
        )
        .group_by(Shift.neighborhood_id)
        .subquery()
    )
    return place, scheduled


def equity(
    scope: Scope,
    period: Period,
    *,
    shift_range: tuple[dt.datetime, dt.datetime],
    total_minutes: int,
    homes: list[HomeGroup] | None = None,
) -> Equity:
    """Per neighborhood: volunteers living there and their hours; hours served there and the
    scheduled shifts there; plus ZIP codes of volunteers who gave no neighborhood. One query
    for where service happened, and people_by_home for where volunteers live unless the
    caller already has it (`homes`)."""
    if homes is None:
        homes = people_by_home(scope, period, period.previous(), retention=False)
    place, scheduled = _service_places(scope, period, shift_range)
    residents = {h.neighborhood_id: h for h in homes if h.neighborhood_id is not None}
    rows = []
    for (
        hood_id,
        slug,
        name,
        priority,
        place_minutes,
        place_volunteers,
        shifts,
    ) in db.session.execute(
        sa.select(
            Neighborhood.id,
            Neighborhood.slug,
            Neighborhood.name,
            Neighborhood.is_priority,
            place.c.minutes,
            place.c.volunteers,
            scheduled.c.shifts,
        )
        .outerjoin(place, place.c.neighborhood_id == Neighborhood.id)
        .outerjoin(scheduled, scheduled.c.neighborhood_id == Neighborhood.id)
        .order_by(Neighborhood.name, Neighborhood.id)
    ):
        home = residents.get(hood_id)
        rows.append(
            NeighborhoodRow(
                id=hood_id,
                slug=slug,
                name=name,
                is_priority=bool(priority),
                resident_volunteers=home.volunteers if home else 0,
                resident_minutes=home.minutes if home else 0,
                service_minutes=int(place_minutes or 0),
                service_volunteers=int(place_volunteers or 0),
                shifts=int(shifts or 0),
            )
        )
    # Homes of people who served only in the previous period have no volunteers in this one.
    elsewhere = [h for h in homes if h.neighborhood_id is None and h.volunteers]
    zips = sorted(
        (ZipRow(h.zip_code, h.volunteers, h.minutes) for h in elsewhere if h.zip_code),
        key=lambda z: z.zip_code,
    )
    placed = sum(row.service_minutes for row in rows)
    return Equity(
        neighborhoods=rows,
        zips=zips,
        total_minutes=total_minutes,
        unplaced_minutes=max(total_minutes - placed, 0),
        unknown_home_volunteers=sum(h.volunteers for h in elsewhere if not h.zip_code),
    )
