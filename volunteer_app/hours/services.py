"""Attendance and hours: checking in and out, crediting hours, closing forgotten check-outs.

Hours from attendance are credited for the time inside the shift's scheduled window, rounded by
the program's rule (nearest 15 minutes by default), and approved at once; self-reported hours
wait for a coordinator. Any later change to an entry goes through `change_hours`, which keeps
the trail.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core import signals
from volunteer_app.core.auth import can_manage_organization, manageable_organization_ids
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.services import mark_attended


class AttendanceError(DomainError):
    pass


def round_minutes(minutes: float, step: int | None = None) -> int:
    """Round to the nearest `step` minutes (half rounds up, as people expect)."""
    step = step or int(get_setting("hours_rounding_minutes"))
    if step <= 1:
        return max(int(round(minutes)), 0)
    return max(int((minutes + step / 2) // step) * step, 0)


def check_in_window(shift: Shift) -> tuple[dt.datetime, dt.datetime]:
    opens = shift.starts_at - dt.timedelta(minutes=int(get_setting("check_in_opens_minutes")))
    return opens, shift.ends_at


def signups_open_for_check_in(user: User, *, now: dt.datetime) -> list[Signup]:
    """The person's spot-holding signups on shifts whose check-in window contains `now`."""
    opens_minutes = int(get_setting("check_in_opens_minutes"))
    return list(
        db.session.scalars(
            sa.select(Signup)
            .join(Signup.shift)
            .where(
                Signup.user_id == user.id,
                Signup.status.in_([SignupStatus.CONFIRMED, SignupStatus.ATTENDED]),
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.starts_at <= now + dt.timedelta(minutes=opens_minutes),
                Shift.ends_at >= now,
            )
            .order_by(Shift.starts_at)
            .options(joinedload(Signup.shift).joinedload(Shift.initiative))
        )
    )


def signups_checked_in(user: User) -> list[Signup]:
    """The person's signups that are checked in and not yet out."""
    return list(
        db.session.scalars(
            sa.select(Signup)
            .join(Signup.shift)
            .where(
                Signup.user_id == user.id,
                Signup.checked_in_at.is_not(None),
                Signup.checked_out_at.is_(None),
            )
            .order_by(Shift.starts_at)
            .options(joinedload(Signup.shift).joinedload(Shift.initiative))
        )
    )


def check_in(signup: Signup, *, now: dt.datetime, method: str) -> Signup:
    """Mark the person present. Idempotent: a second check-in keeps the first instant."""
    shift = signup.shift
    if shift.status != ShiftStatus.SCHEDULED:
        raise AttendanceError(_("This shift was cancelled."))
    if signup.status not in (SignupStatus.CONFIRMED, SignupStatus.ATTENDED):
        raise AttendanceError(_("You are not confirmed for this shift."))
    opens, closes = check_in_window(shift)
    if not opens <= now <= closes:
        raise AttendanceError(_("Check-in is open from 30 minutes before the shift to its end."))
    if signup.checked_in_at is None:
        signup.checked_in_at = now
        signup.check_in_method = method
    mark_attended(signup)
    return signup


def check_out(signup: Signup, *, now: dt.datetime, method: str) -> HoursEntry:
    """Close the person's attendance and credit the hours. Idempotent."""
    if signup.checked_in_at is None:
        raise AttendanceError(_("You have not checked in to this shift."))
    if signup.checked_out_at is None:
        signup.checked_out_at = max(now, signup.checked_in_at)
    db.session.flush()
    return credit_attendance(signup, now=now)


def credit_attendance(signup: Signup, *, now: dt.datetime, by: User | None = None) -> HoursEntry:
    """Create (or refresh) the hours entry for an attended signup."""
    shift = signup.shift
    if signup.checked_in_at is not None:
        start = max(signup.checked_in_at, shift.starts_at)
        end = min(signup.checked_out_at or shift.ends_at, shift.ends_at)
    else:  # marked present on the roster without times: the whole shift
        start, end = shift.starts_at, shift.ends_at
    minutes = round_minutes(max((end - start).total_seconds(), 0) / 60)
    entry = db.session.scalar(sa.select(HoursEntry).where(HoursEntry.signup_id == signup.id))
    if entry is None:
        entry = HoursEntry(
            user_id=signup.user_id,
            initiative_id=shift.initiative_id,
            shift_id=shift.id,
            signup_id=signup.id,
            served_on=local(shift.starts_at, shift.initiative.timezone).date(),
            started_at=start,
            ended_at=end,
            minutes=minutes,
            source=HoursSource.ATTENDANCE,
            status=HoursStatus.APPROVED,
            created_at=now,
            reviewed_at=now,
            reviewed_by_id=by.id if by else None,
        )
        db.session.add(entry)
        db.session.flush()
        signals.hours_changed.send(entry, now=now)
    elif entry.minutes != minutes:
        change_hours(entry, minutes=minutes, by=by, reason=_("Attendance times changed"), now=now)
    return entry


def change_hours(
    entry: HoursEntry,
    *,
    by: User | None,
    reason: str,
    now: dt.datetime,
    minutes: int | None = None,
    status: HoursStatus | None = None,
) -> HoursEntry:
    """Correct an hours entry, keeping who changed what, when and why."""
    audit = HoursAudit(
        hours_entry_id=entry.id,
        changed_by_id=by.id if by else None,
        changed_at=now,
        minutes_before=entry.minutes,
        status_before=str(entry.status),
        reason=reason,
    )
    if minutes is not None:
        if not 0 <= minutes <= 24 * 60:
            raise DomainError(_("Hours must be between 0 and 24."))
        entry.minutes = minutes
    if status is not None:
        entry.status = status
        entry.reviewed_at = now
        entry.reviewed_by_id = by.id if by else None
    audit.minutes_after = entry.minutes
    audit.status_after = str(entry.status)
    db.session.add(audit)
    db.session.flush()
    signals.hours_changed.send(entry, now=now)
    return entry


def forgotten_check_outs(*, now: dt.datetime, shift_id: int | None = None) -> list[Signup]:
    """Everyone still checked in to a shift that has ended (of one shift, given `shift_id`).

    People a coordinator marked absent after they checked in earn nothing, so they are left
    out.
    """
    query = (
        sa.select(Signup)
        .join(Signup.shift)
        .where(
            Signup.checked_in_at.is_not(None),
            Signup.checked_out_at.is_(None),
            Signup.status == SignupStatus.ATTENDED,
            Shift.ends_at <= now,
        )
        .options(joinedload(Signup.shift).joinedload(Shift.initiative))
    )
    if shift_id is not None:
        query = query.where(Signup.shift_id == shift_id)
    return list(db.session.scalars(query))


def close_forgotten_check_outs(*, now: dt.datetime, shift_id: int | None = None) -> int:
    """Check out, at the scheduled end, everyone `forgotten_check_outs` finds.

    `shift_id` limits the sweep to one shift (a coordinator opening that shift's roster).
    """
    forgotten = forgotten_check_outs(now=now, shift_id=shift_id)
    for signup in forgotten:
        assert signup.checked_in_at is not None  # forgotten_check_outs finds checked-in people
        signup.checked_out_at = max(signup.shift.ends_at, signup.checked_in_at)
        signup.check_in_method = signup.check_in_method or "auto"
        credit_attendance(signup, now=now)
    return len(forgotten)


# ---------------------------------------------------------------------------------------------
# Hours served off-shift, the approval queue and corrections

SELF_REPORT_MIN_MINUTES = 15
SELF_REPORT_STEP_MINUTES = 15
SELF_REPORT_MAX_AGE = dt.timedelta(days=365)


def report_hours(
    user: User,
    initiative: Initiative,
    *,
    served_on: dt.date,
    minutes: int,
    note: str,
    now: dt.datetime,
) -> HoursEntry:
    """A volunteer's own report of hours served off-shift; it waits for a coordinator.

    The date is the local date in the initiative's timezone: not in the future and at most a
    year back. Hours go in quarter hours, from a quarter hour to a whole day.
    """
    if initiative.status != InitiativeStatus.PUBLISHED:
        raise DomainError(_("Hours can be reported only for a published initiative."))
    today = local(now, initiative.timezone).date()
    if served_on > today:
        raise DomainError(_("The date cannot be in the future."))
    if served_on < today - SELF_REPORT_MAX_AGE:
        raise DomainError(_("Hours can be reported for the last 12 months only."))
    if not SELF_REPORT_MIN_MINUTES <= minutes <= 24 * 60 or minutes % SELF_REPORT_STEP_MINUTES != 0:
        raise DomainError(_("Hours must be between 0.25 and 24, in quarter hours."))
    entry = HoursEntry(
        user_id=user.id,
        initiative_id=initiative.id,
        served_on=served_on,
        minutes=minutes,
        source=HoursSource.SELF_REPORT,
        status=HoursStatus.PENDING,
        note=note.strip()[:500],
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    signals.hours_changed.send(entry, now=now)
    return entry


def review_hours(
    entries: list[HoursEntry],
    *,
    approve: bool,
    by: User,
    reason: str,
    now: dt.datetime,
) -> list[HoursEntry]:
    """Approve or reject waiting entries, each with its own line in the audit trail.

    Entries no longer pending (someone else reviewed them a moment ago) are passed over, so a
    double click never writes two verdicts. A rejection needs a reason the volunteer will see.
    Returns the entries reviewed now.
    """
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError(_("Please say why these hours are rejected."))
    if not entries:
        raise DomainError(_("Please choose at least one entry."))
    locked = db.session.scalars(
        sa.select(HoursEntry)
        .where(HoursEntry.id.in_([e.id for e in entries]))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    reviewed = []
    for entry in sorted(locked, key=lambda e: e.id):
        if entry.status != HoursStatus.PENDING:
            continue
        change_hours(
            entry,
            by=by,
            reason=reason or _("Approved"),
            now=now,
            status=HoursStatus.APPROVED if approve else HoursStatus.REJECTED,
        )
        reviewed.append(entry)
    return reviewed


def correct_hours(
    entry: HoursEntry, *, minutes: int, by: User, reason: str, now: dt.datetime
) -> HoursEntry:
    """A coordinator's correction of an entry's minutes; the reason is required and kept."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Please say why the hours are corrected."))
    if minutes == entry.minutes:
        raise DomainError(_("Those are the hours already recorded: nothing changed."))
    return change_hours(entry, minutes=minutes, by=by, reason=reason[:500], now=now)


def hours_trail(entry: HoursEntry) -> list[HoursAudit]:
    """Every change to an entry, oldest first, with who made it."""
    return list(
        db.session.scalars(
            sa.select(HoursAudit)
            .where(HoursAudit.hours_entry_id == entry.id)
            .order_by(HoursAudit.changed_at, HoursAudit.id)
            .options(joinedload(HoursAudit.changed_by))
        )
    )


def my_hours(user: User) -> list[HoursEntry]:
    """A volunteer's own entries, newest service first, with their initiatives."""
    return list(
        db.session.scalars(
            sa.select(HoursEntry)
            .where(HoursEntry.user_id == user.id)
            .order_by(HoursEntry.served_on.desc(), HoursEntry.id.desc())
            .options(joinedload(HoursEntry.initiative))
        )
    )


def latest_reasons(entry_ids: list[int]) -> dict[int, str]:
    """The reason given with the most recent change of each entry, in one query."""
    if not entry_ids:
        return {}
    ranked = (
        sa.select(
            HoursAudit.hours_entry_id,
            HoursAudit.reason,
            sa.func.row_number()
            .over(
                partition_by=HoursAudit.hours_entry_id,
                order_by=(HoursAudit.changed_at.desc(), HoursAudit.id.desc()),
            )
            .label("rank"),
        )
        .where(HoursAudit.hours_entry_id.in_(entry_ids))
        .subquery()
    )
    rows = db.session.execute(
        sa.select(ranked.c.hours_entry_id, ranked.c.reason).where(ranked.c.rank == 1)
    )
    return {entry_id: reason for entry_id, reason in rows}


# ---------------------------------------------------------------------------------------------
# What coordinators may review, and what a volunteer may report against


def pending_hours(user: User) -> list[HoursEntry]:
    """Entries waiting for approval in the initiatives `user` manages, oldest service first."""
    query = (
        sa.select(HoursEntry)
        .join(HoursEntry.initiative)
        .where(HoursEntry.status == HoursStatus.PENDING)
        .order_by(HoursEntry.served_on, HoursEntry.id)
        .options(joinedload(HoursEntry.user), joinedload(HoursEntry.initiative))
    )
    allowed = manageable_organization_ids(user)
    if allowed is not None:
        query = query.where(Initiative.organization_id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


def manageable_hours_entries(user: User, entry_ids: list[int]) -> list[HoursEntry]:
    """The entries among `entry_ids` that `user` may review; others are silently left out."""
    if not entry_ids:
        return []
    query = sa.select(HoursEntry).join(HoursEntry.initiative).where(HoursEntry.id.in_(entry_ids))
    allowed = manageable_organization_ids(user)
    if allowed is not None:
        query = query.where(Initiative.organization_id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


def manageable_hours_entry(entry_id: int, user: User) -> HoursEntry:
    entry = db.session.get(
        HoursEntry,
        entry_id,
        options=[joinedload(HoursEntry.initiative), joinedload(HoursEntry.user)],
    )
    if entry is None or not can_manage_organization(user, entry.initiative.organization_id):
        raise NotFound(_("We could not find that entry."))
    return entry


def published_initiatives_for_report(user: User) -> tuple[list[Initiative], list[Initiative]]:
    """(initiatives the person has served, other published ones), each by title."""
    published = list(
        db.session.scalars(
            sa.select(Initiative)
            .where(Initiative.status == InitiativeStatus.PUBLISHED)
            .order_by(Initiative.title)
        )
    )
    served_ids = set(
        db.session.scalars(
            sa.select(Shift.initiative_id)
            .join(Signup, Signup.shift_id == Shift.id)
            .where(Signup.user_id == user.id, Signup.status == SignupStatus.ATTENDED)
            .union(sa.select(HoursEntry.initiative_id).where(HoursEntry.user_id == user.id))
        )
    )
    served = [i for i in published if i.id in served_ids]
    others = [i for i in published if i.id not in served_ids]
    return served, others
