"""Factories for test data: each makes a valid row with sensible defaults and flushes it."""

from __future__ import annotations

import datetime as dt
import functools
import itertools

from volunteer_app.accounts.models import Membership, Organization, Role, User
from volunteer_app.accounts.passwords import hash_password
from volunteer_app.core.time import from_local, local, utcnow
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.reference.models import Cause, Neighborhood
from volunteer_app.shifts.models import Shift

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def days_ahead(days: int = 3, *, tz: str = "America/New_York") -> dt.datetime:
    """10:00 local, `days` after the real today in `tz`: where tests of pages (which read the
    real clock) put a shift, so that it starts on a day of its own and never runs past local
    midnight, whatever the hour the suite runs at."""
    day = local(utcnow(), tz).date() + dt.timedelta(days=days)
    return from_local(dt.datetime.combine(day, dt.time(10)), tz)


@functools.cache
def _hashed(password: str) -> str:
    # Argon2 is slow on purpose; hash each test password once per run.
    return hash_password(password)


def make_cause(slug: str = "environment", name: str = "Environment") -> Cause:
    cause = db.session.query(Cause).filter_by(slug=slug).one_or_none()
    if cause is None:
        cause = Cause(slug=slug, name=name)
        db.session.add(cause)
        db.session.flush()
    return cause


def make_neighborhood(slug: str | None = None, **kw) -> Neighborhood:
    n = next(_seq)
    hood = Neighborhood(slug=slug or f"hood-{n}", name=kw.pop("name", f"Hood {n}"), **kw)
    db.session.add(hood)
    db.session.flush()
    return hood


def make_user(
    email: str | None = None,
    *,
    password: str | None = PASSWORD,
    role: Role = Role.VOLUNTEER,
    phone: str | None = None,
    consent_at: dt.datetime | None = None,
    **kw,
) -> User:
    n = next(_seq)
    user = User(
        email=email if email is not None else f"person{n}@example.org",
        name=kw.pop("name", f"Person {n}"),
        password_hash=_hashed(password) if password else None,
        role=role,
        phone=phone,
        **kw,
    )
    if consent_at is not None:
        user.sms_consent_at = consent_at
        user.sms_consent_version = "test"
        user.sms_consent_source = "web"
    db.session.add(user)
    db.session.flush()
    return user


def make_organization(name: str | None = None) -> Organization:
    n = next(_seq)
    org = Organization(slug=f"org-{n}", name=name or f"Organization {n}")
    db.session.add(org)
    db.session.flush()
    return org


def make_coordinator(org: Organization, email: str | None = None) -> User:
    user = make_user(email, role=Role.COORDINATOR)
    db.session.add(Membership(user_id=user.id, organization_id=org.id))
    db.session.flush()
    return user


def make_initiative(
    org: Organization | None = None,
    *,
    status: InitiativeStatus = InitiativeStatus.PUBLISHED,
    timezone: str = "America/New_York",
    cause: Cause | None = None,
    **kw,
) -> Initiative:
    n = next(_seq)
    initiative = Initiative(
        organization=org or make_organization(),
        cause=cause or make_cause(),
        slug=kw.pop("slug", f"initiative-{n}"),
        title=kw.pop("title", f"Initiative {n}"),
        summary=kw.pop("summary", "Making the city better, one block at a time."),
        timezone=timezone,
        status=status,
        **kw,
    )
    db.session.add(initiative)
    db.session.flush()
    return initiative


def make_metric(initiative: Initiative, name: str = "Trees planted", **kw) -> OutcomeMetric:
    metric = OutcomeMetric(
        initiative=initiative,
        name=name,
        unit=kw.pop("unit", "trees"),
        target=kw.pop("target", 100),
        **kw,
    )
    db.session.add(metric)
    db.session.flush()
    return metric


def make_shift(
    initiative: Initiative | None = None,
    *,
    starts_at: dt.datetime,
    hours: float = 3,
    capacity: int = 10,
    **kw,
) -> Shift:
    n = next(_seq)
    shift = Shift(
        initiative=initiative or make_initiative(),
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=hours),
        capacity=capacity,
        location_name=kw.pop("location_name", f"Park {n}"),
        address=kw.pop("address", f"{n} Main St"),
        code=kw.pop("code", f"{1000 + n}"),
        **kw,
    )
    db.session.add(shift)
    db.session.flush()
    return shift


def make_language(code: str = "es", name: str = "Spanish"):
    from volunteer_app.reference.models import Language

    language = db.session.get(Language, code)
    if language is None:
        language = Language(code=code, name=name)
        db.session.add(language)
        db.session.flush()
    return language


def make_outcome_record(
    metric: OutcomeMetric,
    value=1,
    *,
    voided_at: dt.datetime | None = None,
    period_start_on: dt.date = dt.date(2026, 5, 1),
    **kw,
):
    from volunteer_app.impact.models import OutcomeRecord, OutcomeSource

    record = OutcomeRecord(
        metric_id=metric.id,
        value=value,
        period_start_on=period_start_on,
        source=kw.pop("source", OutcomeSource.WEB),
        voided_at=voided_at,
        void_reason="test" if voided_at else None,
        **kw,
    )
    db.session.add(record)
    db.session.flush()
    return record


def make_hours_entry(user: User, initiative: Initiative, minutes: int = 120, **kw):
    from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus

    entry = HoursEntry(
        user_id=user.id,
        initiative_id=initiative.id,
        served_on=kw.pop("served_on", dt.date(2026, 5, 1)),
        minutes=minutes,
        source=kw.pop("source", HoursSource.COORDINATOR),
        status=kw.pop("status", HoursStatus.APPROVED),
        **kw,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def make_signup(user: User, shift: Shift, status: str = "confirmed", **kw):
    """A signup written directly (any status, even on a past shift), keeping `spots_taken` and
    the waitlist order right, as the signup service would."""
    import sqlalchemy as sa

    from volunteer_app.shifts.models import SPOT_HOLDING, Signup, SignupStatus

    status = SignupStatus(status)
    position = None
    if status == SignupStatus.WAITLISTED:
        highest = db.session.scalar(
            sa.select(sa.func.max(Signup.waitlist_position)).where(Signup.shift_id == shift.id)
        )
        position = (highest or 0) + 1
    signup = Signup(
        shift_id=shift.id,
        user_id=user.id,
        status=status,
        waitlist_position=position,
        confirmed_at=kw.pop("confirmed_at", shift.starts_at - dt.timedelta(days=1)),
        **kw,
    )
    if status in SPOT_HOLDING:
        shift.spots_taken += 1
    db.session.add(signup)
    db.session.flush()
    return signup


def make_message(user: User, status: str = "sent", **kw):
    """An outbound text to `user` in any status."""
    from volunteer_app.sms.models import Direction, Message, MessageStatus

    message = Message(
        direction=kw.pop("direction", Direction.OUTBOUND),
        status=MessageStatus(status),
        user_id=user.id,
        to_phone=user.phone or "+12025550100",
        body=kw.pop("body", "Hello"),
        kind=kw.pop("kind", "reminder"),
        **kw,
    )
    db.session.add(message)
    db.session.flush()
    return message
