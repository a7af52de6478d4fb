"""Demo phase 4: hours: approved hours for every attended shift, one correction with its
audit trail, and hours reported by volunteers themselves (pending, approved, rejected)."""

from __future__ import annotations

import datetime as dt

from volunteer_app.accounts.models import User
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.seed.demo.city import City
from volunteer_app.shifts.models import SignupStatus

# Hours served off-shift and reported by the volunteers themselves:
# (initiative, days ago, minutes, note, the coordinator's decision or None while pending).
SELF_REPORTS = (
    ("love-your-block-east", 4, 90, "Cleaned up the alley behind my building.", None),
    ("lets-grow", 2, 60, "Watered the Deanwood garden beds on Sunday.", None),
    ("third-grade-reads", 6, 45, "Prepared the reading-log binders at home.", None),
    ("prepared-is-protected", 3, 120, "Handed out kits at my church.", None),
    ("storm-busters", 20, 150, "Mulched the street trees on my block.", "approved"),
    ("lets-grow", 25, 600, "Gardening at home.", "rejected"),
)


def add_hours(city: City) -> None:
    entries = _attendance_hours(city)
    db.session.add_all(entries)
    _correct(city, entries[len(entries) // 3])
    _add_self_reports(city)


def _attendance_hours(city: City) -> list[HoursEntry]:
    """Approved hours for every attended signup that checked out."""
    entries = []
    for planned, signup in city.signups:
        if signup.status != SignupStatus.ATTENDED or signup.checked_out_at is None:
            continue
        shift = planned.shift
        entries.append(
            HoursEntry(
                user_id=signup.user_id,
                initiative_id=shift.initiative_id,
                shift_id=shift.id,
                signup_id=signup.id,
                served_on=local(shift.starts_at, planned.plan.timezone).date(),
                started_at=shift.starts_at,
                ended_at=shift.ends_at,
                minutes=int(shift.duration.total_seconds() // 60),
                source=HoursSource.ATTENDANCE,
                status=HoursStatus.APPROVED,
                created_at=signup.checked_out_at,
                reviewed_at=signup.checked_out_at,
            )
        )
    return entries


def _correct(city: City, corrected: HoursEntry) -> None:
    """One correction, with its trail: a volunteer left an hour early."""
    coordinator = _coordinator_of(city, corrected.initiative_id)
    db.session.flush()
    db.session.add(
        HoursAudit(
            hours_entry_id=corrected.id,
            changed_by_id=coordinator.id,
            changed_at=city.past(corrected.created_at + dt.timedelta(days=1)),
            minutes_before=corrected.minutes,
            minutes_after=corrected.minutes - 60,
            status_before=str(HoursStatus.APPROVED),
            status_after=str(HoursStatus.APPROVED),
            reason="Left an hour early; confirmed with the team lead.",
        )
    )
    corrected.minutes -= 60


def _add_self_reports(city: City) -> None:
    rng, now = city.rng, city.now
    reporters = [p for p in city.people if p.user.email is not None]
    for slug, days_ago, minutes, note, decision in SELF_REPORTS:
        initiative = city.initiatives[slug]
        person = rng.choice(reporters)
        served_on = local(now, initiative.timezone).date() - dt.timedelta(days=days_ago)
        entry = HoursEntry(
            user_id=person.user.id,
            initiative_id=initiative.id,
            served_on=served_on,
            minutes=minutes,
            source=HoursSource.SELF_REPORT,
            status=HoursStatus.PENDING,
            note=note,
            created_at=now - dt.timedelta(days=days_ago - 1, hours=rng.randint(1, 12)),
        )
        db.session.add(entry)
        if decision is not None:
            _review(city, entry, city.coordinators[initiative.organization.slug], decision)


def _review(city: City, entry: HoursEntry, coordinator: User, decision: str) -> None:
    """The coordinator's decision on a self-report, two days after it came in."""
    db.session.flush()
    reviewed_at = city.past(entry.created_at + dt.timedelta(days=2))
    entry.status = HoursStatus(decision)
    entry.reviewed_by_id = coordinator.id
    entry.reviewed_at = reviewed_at
    db.session.add(
        HoursAudit(
            hours_entry_id=entry.id,
            changed_by_id=coordinator.id,
            changed_at=reviewed_at,
            minutes_before=entry.minutes,
            minutes_after=entry.minutes,
            status_before=str(HoursStatus.PENDING),
            status_after=decision,
            reason="Thanks!" if decision == "approved" else "Not a program activity.",
        )
    )


def _coordinator_of(city: City, initiative_id: int) -> User:
    for initiative in city.initiatives.values():
        if initiative.id == initiative_id:
            return city.coordinators[initiative.organization.slug]
    raise KeyError(initiative_id)
