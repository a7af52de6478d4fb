"""Coordinators set up initiatives: create and edit them, move them through draft, published
and closed, and keep their goals (outcome metrics), optionally pre-filled from a Cities of
Service blueprint. (The pace a goal needs is impact/outcomes.py's.)

Services flush and never commit; the request commits once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from volunteer_app.accounts.models import Organization, User
from volunteer_app.core import signals
from volunteer_app.core.auth import manageable_organization_ids
from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.core.slugs import SLUG_MAX, slugify
from volunteer_app.core.time import is_valid_timezone
from volunteer_app.extensions import db
from volunteer_app.initiatives.blueprints import get_blueprint
from volunteer_app.initiatives.models import (
    Initiative,
    InitiativeStatus,
    MetricKind,
    OutcomeMetric,
)
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill

MAX_REMINDERS = 5
# A reminder more than two weeks ahead is not a reminder any more.
MAX_REMINDER_MINUTES = 14 * 24 * 60


# ---------------------------------------------------------------------------------------------
# What a coordinator may pick from


def organizations_for(user: User) -> list[Organization]:
    """The organizations `user` may create initiatives for, by name (all of them for admins)."""
    allowed = manageable_organization_ids(user)
    query = sa.select(Organization).order_by(Organization.name)
    if allowed is not None:
        query = query.where(Organization.id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


def initiatives_for(user: User) -> list[Initiative]:
    """The initiatives `user` manages, drafts first then by title, with what the list shows."""
    allowed = manageable_organization_ids(user)
    status_order = sa.case(
        (Initiative.status == InitiativeStatus.DRAFT, 0),
        (Initiative.status == InitiativeStatus.PUBLISHED, 1),
        else_=2,
    )
    query = (
        sa.select(Initiative)
        .options(joinedload(Initiative.organization), joinedload(Initiative.cause))
        .order_by(status_order, Initiative.title, Initiative.id)
    )
    if allowed is not None:
        query = query.where(Initiative.organization_id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


# ---------------------------------------------------------------------------------------------
# Slugs and reminder offsets


def unique_slug(title: str, *, exclude_id: int | None = None) -> str:
    """A slug for `title` that no other initiative uses, adding -2, -3, ... when needed."""
    base = slugify(title)
    query = sa.select(Initiative.slug).where(
        sa.or_(Initiative.slug == base, Initiative.slug.startswith(base + "-", autoescape=True))
    )
    if exclude_id is not None:
        query = query.where(Initiative.id != exclude_id)
    taken = set(db.session.scalars(query))
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


_OFFSET_RE = re.compile(r"^(\d{1,5})\s*(d|days?|h|hours?|m|min|mins|minutes?)?$")


def parse_reminder_offsets(raw: str) -> list[int]:
    """ "24h, 2h" (or "1 day, 30 min"; a bare number means hours) -> minutes, largest first.

    Raises DomainError with a message for anything else.
    """
    minutes: set[int] = set()
    parts = [p.strip().lower() for p in re.split(r"[,;]", raw or "") if p.strip()]
    if len(parts) > MAX_REMINDERS:
        raise DomainError(_("Use at most %(num)d reminders.", num=MAX_REMINDERS))
    for part in parts:
        match = _OFFSET_RE.match(part)
        if not match:
            raise DomainError(
                _('"%(text)s" is not a reminder time. Write for example "24h, 2h".', text=part[:20])
            )
        amount, unit = int(match.group(1)), (match.group(2) or "h")
        factor = 24 * 60 if unit.startswith("d") else 60 if unit.startswith("h") else 1
        value = amount * factor
        if not 1 <= value <= MAX_REMINDER_MINUTES:
            raise DomainError(_("Reminders go out between 1 minute and 14 days before a shift."))
        minutes.add(value)
    return sorted(minutes, reverse=True)


def format_reminder_offsets(minutes: Iterable[int]) -> str:
    """The inverse of `parse_reminder_offsets`, for a form's initial value."""
    parts = []
    for value in minutes:
        if value % (24 * 60) == 0 and value >= 48 * 60:
            parts.append(f"{value // (24 * 60)}d")
        elif value % 60 == 0:
            parts.append(f"{value // 60}h")
        else:
            parts.append(f"{value}m")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Creating and editing initiatives


@dataclass
class MetricDetails:
    """A goal as a coordinator typed it."""

    name: str
    unit: str
    kind: MetricKind
    target: decimal.Decimal
    baseline: decimal.Decimal | None = None
    deadline_on: dt.date | None = None
    sms_keyword: str | None = None


@dataclass
class InitiativeDetails:
    """An initiative as a coordinator typed it; ids come from the form's choices."""

    organization_id: int
    cause_id: int
    title: str
    summary: str = ""
    story: str = ""
    timezone: str = "America/New_York"
    minimum_age: int = 0
    neighborhood_ids: Sequence[int] = ()
    skill_ids: Sequence[int] = ()
    language_codes: Sequence[str] = ()
    reminder_minutes: Sequence[int] = ()
    blueprint: str | None = None
    metrics: Sequence[MetricDetails] = field(default_factory=list)


def metrics_from_blueprint(slug: str | None) -> list[MetricDetails]:
    """The goals a Cities of Service blueprint suggests, in the current language, ready for a
    coordinator to adjust; an unknown slug suggests nothing."""
    blueprint = get_blueprint(slug)
    if blueprint is None:
        return []
    return [
        MetricDetails(
            name=str(template.name),
            unit=str(template.unit),
            kind=template.kind,
            target=template.suggested_target,
            baseline=template.suggested_baseline,
            sms_keyword=template.sms_keyword,
        )
        for template in blueprint.metrics
    ]


def _check_details(user: User, details: InitiativeDetails) -> None:
    allowed = manageable_organization_ids(user)
    if allowed is not None and details.organization_id not in allowed:
        raise NotFound(_("We could not find that organization."))
    if db.session.get(Organization, details.organization_id) is None:
        raise NotFound(_("We could not find that organization."))
    if db.session.get(Cause, details.cause_id) is None:
        raise DomainError(_("Please choose a cause."))
    if len(details.timezone) > 64 or not is_valid_timezone(details.timezone):
        raise DomainError(_("That is not a time zone we know."))
    if not details.title.strip():
        raise DomainError(_("Please give a title."))


def _by_ids(model, column, ids: Iterable) -> list:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    rows = list(db.session.scalars(sa.select(model).where(column.in_(ids))))
    if len(rows) != len(ids):
        raise DomainError(_("Please choose from the list."))
    return rows


def _apply(initiative: Initiative, details: InitiativeDetails) -> None:
    initiative.organization_id = details.organization_id
    initiative.cause_id = details.cause_id
    initiative.title = details.title.strip()
    initiative.summary = details.summary.strip()
    initiative.story = details.story.strip()
    initiative.timezone = details.timezone
    initiative.minimum_age = details.minimum_age
    initiative.reminder_minutes = list(details.reminder_minutes)
    initiative.neighborhoods = _by_ids(Neighborhood, Neighborhood.id, details.neighborhood_ids)
    initiative.skills = _by_ids(Skill, Skill.id, details.skill_ids)
    initiative.languages = _by_ids(Language, Language.code, details.language_codes)


def create_initiative(user: User, details: InitiativeDetails, *, now: dt.datetime) -> Initiative:
    """A new draft initiative with its goals (for example those of a blueprint)."""
    _check_details(user, details)
    names = [m.name.strip().casefold() for m in details.metrics]
    if len(names) != len(set(names)):
        raise DomainError(_("Two goals have the same name; give each its own."))
    initiative = Initiative(
        slug=unique_slug(details.title),
        status=InitiativeStatus.DRAFT,
        blueprint=details.blueprint if get_blueprint(details.blueprint) else None,
        created_at=now,
    )
    _apply(initiative, details)
    db.session.add(initiative)
    db.session.flush()
    for metric in details.metrics:
        add_metric(initiative, metric, now=now)
    return initiative


def update_initiative(user: User, initiative: Initiative, details: InitiativeDetails) -> None:
    """Change an initiative's details. Its slug (and so its public address) stays."""
    _check_details(user, details)
    _apply(initiative, details)
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Status


def publish(initiative: Initiative, *, now: dt.datetime) -> None:
    """Open an initiative to the public. It needs at least one goal: impact volunteering
    promises a measurable change."""
    if initiative.status == InitiativeStatus.PUBLISHED:
        return
    if not initiative.metrics:
        raise DomainError(_("Add at least one goal before publishing."))
    initiative.status = InitiativeStatus.PUBLISHED
    initiative.published_at = now
    initiative.closed_at = None
    db.session.flush()


def close(initiative: Initiative, *, now: dt.datetime) -> None:
    """Stop taking signups; the public page stays up to show what was achieved."""
    if initiative.status == InitiativeStatus.CLOSED:
        return
    initiative.status = InitiativeStatus.CLOSED
    initiative.closed_at = now
    db.session.flush()


def back_to_draft(initiative: Initiative) -> None:
    """Take an initiative off the public pages to rework it."""
    initiative.status = InitiativeStatus.DRAFT
    initiative.closed_at = None
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Goals


def _check_metric_name(initiative_id: int, name: str, exclude_id: int | None = None) -> None:
    query = sa.select(OutcomeMetric.id, OutcomeMetric.name).where(
        OutcomeMetric.initiative_id == initiative_id
    )
    for metric_id, other in db.session.execute(query):
        if metric_id != exclude_id and other.strip().casefold() == name.strip().casefold():
            raise Conflict(_("This initiative already has a goal called %(name)s.", name=name))


def _apply_metric(metric: OutcomeMetric, details: MetricDetails) -> None:
    if details.target is None or details.target <= 0:
        raise DomainError(_("The target must be more than zero."))
    metric.name = details.name.strip()
    metric.unit = details.unit.strip()
    metric.kind = MetricKind(details.kind)
    metric.target = details.target
    metric.baseline = details.baseline
    metric.deadline_on = details.deadline_on
    metric.sms_keyword = (details.sms_keyword or "").strip().upper() or None


def add_metric(
    initiative: Initiative, details: MetricDetails, *, now: dt.datetime
) -> OutcomeMetric:
    """Add a goal at the end of the initiative's list."""
    _check_metric_name(initiative.id, details.name)
    position = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.max(OutcomeMetric.position), -1)).where(
            OutcomeMetric.initiative_id == initiative.id
        )
    ).scalar_one()
    metric = OutcomeMetric(initiative_id=initiative.id, position=position + 1, created_at=now)
    _apply_metric(metric, details)
    db.session.add(metric)
    db.session.flush()
    db.session.expire(initiative, ["metrics"])
    return metric


def update_metric(metric: OutcomeMetric, details: MetricDetails) -> None:
    _check_metric_name(metric.initiative_id, details.name, exclude_id=metric.id)
    _apply_metric(metric, details)
    db.session.flush()


def delete_metric(metric: OutcomeMetric) -> None:
    """Remove a goal nobody has measured yet. A goal with outcome records stays: deleting it
    would delete what volunteers achieved (impact says so, listening to `deleting_goal`)."""
    # impact refuses when the goal has outcome records (impact/listeners.py).
    signals.deleting_goal.send(metric)
    initiative = metric.initiative
    if initiative.status == InitiativeStatus.PUBLISHED and len(initiative.metrics) <= 1:
        raise DomainError(_("A published initiative needs at least one goal."))
    db.session.delete(metric)
    db.session.flush()
    db.session.expire(initiative, ["metrics"])


def initiative_for_management(initiative_id: int) -> Initiative | None:
    """One initiative with everything its coordinator page shows, loaded up front."""
    return db.session.scalar(
        sa.select(Initiative)
        .where(Initiative.id == initiative_id)
        .options(
            joinedload(Initiative.organization),
            joinedload(Initiative.cause),
            selectinload(Initiative.metrics),
            selectinload(Initiative.neighborhoods),
            selectinload(Initiative.skills),
            selectinload(Initiative.languages),
        )
    )
