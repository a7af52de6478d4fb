"""What the coordinator screens read across features: the organizations overview, who a
cancelled shift tells, the coordinator home, an initiative's overview and the CSV exports.
Organizations, members and invitations are accounts/organizations.py's."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, contains_eager, joinedload

from volunteer_app.accounts.models import Membership, Organization, User
from volunteer_app.core.auth import manageable_organization_ids
from volunteer_app.core.errors import NotFound
from volunteer_app.core.time import from_local, local
from volunteer_app.extensions import db
from volunteer_app.impact.outcomes import GoalStatus, goal_statuses
from volunteer_app.initiatives.models import Initiative, OutcomeMetric
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus

# ---------------------------------------------------------------------------------------------
# Organizations


@dataclass
class OrganizationRow:
    organization: Organization
    members: int
    initiatives: int


def organizations_overview() -> list[OrganizationRow]:
    """Every organization with its number of coordinators and initiatives, in one query."""
    members = (
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(Membership.organization_id == Organization.id)
        .scalar_subquery()
    )
    initiatives = (
        sa.select(sa.func.count())
        .select_from(Initiative)
        .where(Initiative.organization_id == Organization.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(Organization, members, initiatives).order_by(Organization.name, Organization.id)
    )
    return [OrganizationRow(org, count, owned) for org, count, owned in rows]


@dataclass
class WhoIsTold:
    """Who cancelling a shift tells: the people on it, and how many of them get a text."""

    confirmed: int
    waitlisted: int
    texted: int


def who_is_told(*shifts: Shift) -> WhoIsTold:
    """Everyone confirmed or waitlisted is told when a shift is cancelled or moved; those who
    agreed to texts get a text (sms/listeners.py)."""
    signups = db.session.scalars(
        sa.select(Signup)
        .where(
            Signup.shift_id.in_([shift.id for shift in shifts]),
            Signup.status.in_((SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)),
        )
        .options(joinedload(Signup.user))
    ).all()
    return WhoIsTold(
        confirmed=sum(s.status == SignupStatus.CONFIRMED for s in signups),
        waitlisted=sum(s.status == SignupStatus.WAITLISTED for s in signups),
        texted=sum(s.user.can_text for s in signups),
    )


# ---------------------------------------------------------------------------------------------
# The coordinator home


@dataclass
class CoordinatorHome:
    upcoming: list[Shift]
    underfilled: list[Shift]
    pending_hours: int
    missing_outcomes: list[Shift]
    underfilled_percent: int

    @property
    def is_empty(self) -> bool:
        return not (self.upcoming or self.missing_outcomes or self.pending_hours)


def fill_percent(shift: Shift) -> int:
    if shift.capacity <= 0:
        return 100
    return round(shift.spots_taken * 100 / shift.capacity)


def _scope(query, allowed: set[int] | None):
    if allowed is None:
        return query
    return query.where(Initiative.organization_id.in_(allowed or [-1]))


def coordinator_home(
    user: User,
    *,
    now: dt.datetime,
    upcoming_limit: int = 20,
    underfilled_percent: int = 50,
    outcome_lookback_days: int = 60,
) -> CoordinatorHome:
    """What needs a coordinator's attention, in a fixed number of queries:

    - the next scheduled shifts of their initiatives, with how full they are;
    - shifts in the next 7 days filled below `underfilled_percent`;
    - how many self-reported hours wait for approval;
    - shifts that ended in the last `outcome_lookback_days` days without any outcome recorded,
      for initiatives that have goals to record against.
    """
    from volunteer_app.hours.models import HoursEntry, HoursStatus
    from volunteer_app.impact.models import OutcomeRecord

    allowed = manageable_organization_ids(user)

    def shifts(*conditions, order, limit):
        query = (
            sa.select(Shift)
            .join(Shift.initiative)
            .where(Shift.status == ShiftStatus.SCHEDULED, *conditions)
            .options(contains_eager(Shift.initiative))
            .order_by(*order)
            .limit(limit)
        )
        return list(db.session.scalars(_scope(query, allowed)))

    upcoming = shifts(
        Shift.starts_at > now, order=[Shift.starts_at, Shift.id], limit=upcoming_limit
    )
    underfilled = shifts(
        Shift.starts_at > now,
        Shift.starts_at <= now + dt.timedelta(days=7),
        Shift.capacity > 0,
        Shift.spots_taken * 100 < Shift.capacity * underfilled_percent,
        order=[Shift.starts_at, Shift.id],
        limit=50,
    )
    has_goal = (
        sa.select(OutcomeMetric.id).where(OutcomeMetric.initiative_id == Initiative.id).exists()
    )
    has_outcome = (
        sa.select(OutcomeRecord.id)
        .where(OutcomeRecord.shift_id == Shift.id, OutcomeRecord.voided_at.is_(None))
        .exists()
    )
    missing = shifts(
        Shift.ends_at <= now,
        Shift.ends_at > now - dt.timedelta(days=outcome_lookback_days),
        has_goal,
        ~has_outcome,
        order=[Shift.ends_at.desc(), Shift.id],
        limit=20,
    )
    pending = db.session.scalar(
        _scope(
            sa.select(sa.func.count(HoursEntry.id))
            .join(Initiative, HoursEntry.initiative_id == Initiative.id)
            .where(HoursEntry.status == HoursStatus.PENDING),
            allowed,
        )
    )
    return CoordinatorHome(
        upcoming=upcoming,
        underfilled=underfilled,
        pending_hours=int(pending or 0),
        missing_outcomes=missing,
        underfilled_percent=underfilled_percent,
    )


# ---------------------------------------------------------------------------------------------
# CSV exports

EXPORT_KINDS = ("shifts", "signups", "hours", "outcomes")


@dataclass(frozen=True)
class ExportRange:
    """Local dates in the initiative's timezone, both included; None means open-ended."""

    from_on: dt.date | None = None
    to_on: dt.date | None = None

    def instants(self, tz: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        start = (
            from_local(dt.datetime.combine(self.from_on, dt.time()), tz) if self.from_on else None
        )
        end = None
        if self.to_on:
            end = from_local(dt.datetime.combine(self.to_on + dt.timedelta(days=1), dt.time()), tz)
        return start, end


def _shift_window(query, initiative: Initiative, period: ExportRange):
    start, end = period.instants(initiative.timezone)
    if start is not None:
        query = query.where(Shift.starts_at >= start)
    if end is not None:
        query = query.where(Shift.starts_at < end)
    return query


def _local_date(instant: dt.datetime | None, tz: str) -> str:
    return local(instant, tz).date().isoformat() if instant else ""


def _local_time(instant: dt.datetime | None, tz: str) -> str:
    return local(instant, tz).strftime("%H:%M") if instant else ""


def _local_datetime(instant: dt.datetime | None, tz: str) -> str:
    return local(instant, tz).strftime("%Y-%m-%d %H:%M") if instant else ""


def _number(value: decimal.Decimal | None):
    if value is None:
        return ""
    value = decimal.Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def export_rows(
    initiative: Initiative, kind: str, period: ExportRange
) -> tuple[list[str], Iterator[list[object]]]:
    """The header and rows of one export. Times are local to the initiative, its zone named
    in the header; each export runs one query."""
    tz = initiative.timezone
    if kind == "shifts":
        return _shifts_export(initiative, period, tz)
    if kind == "signups":
        return _signups_export(initiative, period, tz)
    if kind == "hours":
        return _hours_export(initiative, period, tz)
    if kind == "outcomes":
        return _outcomes_export(initiative, period, tz)
    raise NotFound(_("There is no such export."))


def _shifts_export(initiative, period, tz):
    waiting = (
        sa.select(sa.func.count(Signup.id))
        .where(Signup.shift_id == Shift.id, Signup.status == SignupStatus.WAITLISTED)
        .scalar_subquery()
    )
    query = _shift_window(
        sa.select(Shift, waiting)
        .where(Shift.initiative_id == initiative.id)
        .options(joinedload(Shift.neighborhood))
        .order_by(Shift.starts_at, Shift.id),
        initiative,
        period,
    )
    header = [
        _("Shift code"),
        _("Date"),
        _("Start (%(tz)s)", tz=tz),
        _("End (%(tz)s)", tz=tz),
        _("Role"),
        _("Place"),
        _("Address"),
        _("Neighborhood"),
        _("Capacity"),
        _("Confirmed"),
        _("Waitlisted"),
        _("Status"),
        _("Series"),
    ]

    def rows():
        for shift, waitlisted in db.session.execute(query):
            yield [
                shift.code,
                _local_date(shift.starts_at, tz),
                _local_time(shift.starts_at, tz),
                _local_time(shift.ends_at, tz),
                shift.role or "",
                shift.location_name,
                shift.address,
                shift.neighborhood.name if shift.neighborhood else "",
                shift.capacity,
                shift.spots_taken,
                waitlisted,
                shift.status.value,
                shift.series_id or "",
            ]

    return header, rows()


def _signups_export(initiative, period, tz):
    query = _shift_window(
        sa.select(Signup)
        .join(Signup.shift)
        .join(Signup.user)
        .where(Shift.initiative_id == initiative.id)
        .options(contains_eager(Signup.shift), contains_eager(Signup.user))
        .order_by(Shift.starts_at, Shift.id, Signup.status, Signup.waitlist_position, User.name),
        initiative,
        period,
    )
    header = [
        _("Shift code"),
        _("Date"),
        _("Start (%(tz)s)", tz=tz),
        _("Name"),
        _("Email"),
        _("Phone"),
        _("Status"),
        _("Waitlist position"),
        _("Source"),
        _("Signed up (%(tz)s)", tz=tz),
        _("Checked in (%(tz)s)", tz=tz),
        _("Checked out (%(tz)s)", tz=tz),
    ]

    def rows():
        for signup in db.session.scalars(query):
            yield [
                signup.shift.code,
                _local_date(signup.shift.starts_at, tz),
                _local_time(signup.shift.starts_at, tz),
                signup.user.name,
                signup.user.email or "",
                signup.user.phone or "",
                signup.status.value,
                signup.waitlist_position,
                signup.source.value,
                _local_datetime(signup.created_at, tz),
                _local_datetime(signup.checked_in_at, tz),
                _local_datetime(signup.checked_out_at, tz),
            ]

    return header, rows()


def _hours_export(initiative, period, tz):
    from volunteer_app.hours.models import HoursEntry

    reviewer = aliased(User)
    query = (
        sa.select(HoursEntry, User, Shift.code, reviewer.name)
        .join(User, HoursEntry.user_id == User.id)
        .outerjoin(Shift, HoursEntry.shift_id == Shift.id)
        .outerjoin(reviewer, HoursEntry.reviewed_by_id == reviewer.id)
        .where(HoursEntry.initiative_id == initiative.id)
        .order_by(HoursEntry.served_on, User.name, HoursEntry.id)
    )
    if period.from_on:
        query = query.where(HoursEntry.served_on >= period.from_on)
    if period.to_on:
        query = query.where(HoursEntry.served_on <= period.to_on)
    header = [
        _("Served on"),
        _("Name"),
        _("Email"),
        _("Phone"),
        _("Minutes"),
        _("Hours"),
        _("Source"),
        _("Status"),
        _("Shift code"),
        _("Started (%(tz)s)", tz=tz),
        _("Ended (%(tz)s)", tz=tz),
        _("Note"),
        _("Reviewed by"),
        _("Reviewed (%(tz)s)", tz=tz),
    ]

    def rows():
        for entry, person, code, reviewer_name in db.session.execute(query):
            yield [
                entry.served_on.isoformat(),
                person.name,
                person.email or "",
                person.phone or "",
                entry.minutes,
                round(entry.minutes / 60, 2),
                entry.source.value,
                entry.status.value,
                code or "",
                _local_datetime(entry.started_at, tz),
                _local_datetime(entry.ended_at, tz),
                entry.note,
                reviewer_name or "",
                _local_datetime(entry.reviewed_at, tz),
            ]

    return header, rows()


def _outcomes_export(initiative, period, tz):
    from volunteer_app.impact.models import OutcomeRecord

    recorder = aliased(User)
    query = (
        sa.select(OutcomeRecord, OutcomeMetric, Shift.code, recorder.name)
        .join(OutcomeMetric, OutcomeRecord.metric_id == OutcomeMetric.id)
        .outerjoin(Shift, OutcomeRecord.shift_id == Shift.id)
        .outerjoin(recorder, OutcomeRecord.recorded_by_id == recorder.id)
        .where(OutcomeMetric.initiative_id == initiative.id)
        .order_by(OutcomeRecord.period_start_on, OutcomeMetric.position, OutcomeRecord.id)
    )
    if period.from_on:
        query = query.where(OutcomeRecord.period_start_on >= period.from_on)
    if period.to_on:
        query = query.where(OutcomeRecord.period_start_on <= period.to_on)
    header = [
        _("Goal"),
        _("Unit"),
        _("Kind"),
        _("Value"),
        _("From"),
        _("To"),
        _("Shift code"),
        _("Source"),
        _("Recorded by"),
        _("Recorded (%(tz)s)", tz=tz),
        _("Voided (%(tz)s)", tz=tz),
        _("Void reason"),
        _("Note"),
    ]

    def rows():
        for record, metric, code, recorder_name in db.session.execute(query):
            yield [
                metric.name,
                metric.unit,
                metric.kind.value,
                _number(record.value),
                record.period_start_on.isoformat(),
                record.period_end_on.isoformat() if record.period_end_on else "",
                code or "",
                record.source.value,
                recorder_name or "",
                _local_datetime(record.recorded_at, tz),
                _local_datetime(record.voided_at, tz),
                record.void_reason or "",
                record.note,
            ]

    return header, rows()


def export_filename(initiative: Initiative, kind: str, period: ExportRange) -> str:
    parts = [initiative.slug, kind]
    if period.from_on:
        parts.append(period.from_on.isoformat())
    if period.to_on:
        parts.append(("to-" if period.from_on else "until-") + period.to_on.isoformat())
    return "-".join(parts) + ".csv"


# ---------------------------------------------------------------------------------------------
# An initiative's coordinator page


@dataclass
class InitiativeOverview:
    initiative: Initiative
    goals: list[GoalStatus]
    shifts: list[Shift]
    more_shifts: bool


def initiative_overview(
    initiative: Initiative, *, now: dt.datetime, shift_limit: int = 60
) -> InitiativeOverview:
    """An initiative's goals with progress and pace, and its shifts that have not ended
    (cancelled ones too, marked), in a fixed number of queries."""
    goals = goal_statuses(initiative.metrics, today=local(now, initiative.timezone).date())
    shifts = list(
        db.session.scalars(
            sa.select(Shift)
            .where(Shift.initiative_id == initiative.id, Shift.ends_at > now)
            .options(joinedload(Shift.team_lead))
            .order_by(Shift.starts_at, Shift.id)
            .limit(shift_limit + 1)
        )
    )
    return InitiativeOverview(
        initiative=initiative,
        goals=goals,
        shifts=shifts[:shift_limit],
        more_shifts=len(shifts) > shift_limit,
    )
