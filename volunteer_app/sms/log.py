"""Reading the message table for people: the SMS log (scoped by organization) and the
simulator's conversation with one phone. Each page is a fixed number of queries.

Coordinators see messages about their own organizations' shifts, the texts their
organizations sent (broadcasts), and the messages about no shift and from no organization in
particular (replies to HELP, STOP) to or from volunteers signed up for those shifts. Admins see
everything.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.auth import manageable_organization_ids
from volunteer_app.core.time import from_local
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, Signup, SignupStatus
from volunteer_app.sms.models import Direction, Message

PAGE_SIZE = 50
CONVERSATION_LIMIT = 200


@dataclass
class LogFilters:
    status: str | None = None
    direction: str | None = None
    kind: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    phone: str | None = None


@dataclass
class LogRow:
    message: Message
    timezone: str
    shift_code: str | None


@dataclass
class LogPage:
    rows: list[LogRow]
    total: int
    page: int
    pages: int


def visible_to(viewer: User) -> sa.ColumnElement[bool]:
    """The messages `viewer` may read, as a WHERE condition."""
    organization_ids = manageable_organization_ids(viewer)
    if organization_ids is None:
        return sa.true()
    if not organization_ids:
        return sa.false()
    own_shifts = (
        sa.select(Shift.id)
        .join(Initiative, Initiative.id == Shift.initiative_id)
        .where(Initiative.organization_id.in_(organization_ids))
    )
    own_volunteers = sa.select(Signup.user_id).where(
        Signup.shift_id.in_(own_shifts), Signup.status != SignupStatus.CANCELLED
    )
    return sa.or_(
        Message.shift_id.in_(own_shifts),
        Message.organization_id.in_(organization_ids),
        sa.and_(
            Message.shift_id.is_(None),
            Message.organization_id.is_(None),
            # A broadcast without its organization (queued before they were recorded) is
            # some organization's text, but which is unknown: admins only.
            Message.kind != "broadcast",
            Message.user_id.in_(own_volunteers),
        ),
    )


def _filtered(filters: LogFilters, viewer: User, timezone: str) -> list[sa.ColumnElement[bool]]:
    conditions = [visible_to(viewer)]
    if filters.status:
        conditions.append(Message.status == filters.status)
    if filters.direction:
        conditions.append(Message.direction == filters.direction)
    if filters.kind:
        conditions.append(Message.kind == filters.kind)
    if filters.date_from:
        start = from_local(dt.datetime.combine(filters.date_from, dt.time()), timezone)
        conditions.append(Message.created_at >= start)
    if filters.date_to:
        end = from_local(
            dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time()), timezone
        )
        conditions.append(Message.created_at < end)
    digits = re.sub(r"\D", "", filters.phone or "")
    if digits:
        conditions.append(
            sa.or_(Message.to_phone.contains(digits), Message.from_phone.contains(digits))
        )
    return conditions


def message_log(
    viewer: User, filters: LogFilters, *, page: int, timezone: str, page_size: int = PAGE_SIZE
) -> LogPage:
    """One page of the SMS log as `viewer` may see it, newest first, in three queries."""
    conditions = _filtered(filters, viewer, timezone)
    total = db.session.execute(sa.select(sa.func.count(Message.id)).where(*conditions)).scalar_one()
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        sa.select(Message, Initiative.timezone, Shift.code)
        .outerjoin(Shift, Shift.id == Message.shift_id)
        .outerjoin(Initiative, Initiative.id == Shift.initiative_id)
        .where(*conditions)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
        .options(joinedload(Message.user))
    ).all()
    return LogPage(
        rows=[LogRow(message, tz or timezone, code) for message, tz, code in rows],
        total=total,
        page=page,
        pages=pages,
    )


def known_kinds() -> list[str]:
    return [
        kind
        for kind in db.session.scalars(sa.select(Message.kind).distinct().order_by(Message.kind))
        if kind
    ]


def conversation(phone: str, *, limit: int = CONVERSATION_LIMIT) -> list[Message]:
    """Every text to and from `phone`, oldest first (the latest `limit` of them)."""
    latest = db.session.scalars(
        sa.select(Message)
        .where(
            sa.or_(
                sa.and_(Message.direction == Direction.INBOUND, Message.from_phone == phone),
                sa.and_(Message.direction == Direction.OUTBOUND, Message.to_phone == phone),
            )
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(latest))


def phones_to_try(limit: int = 30) -> list[tuple[str, str]]:
    """Phones an admin may want to act as in the simulator: people with a phone, newest first."""
    return [
        (phone, name)
        for phone, name in db.session.execute(
            sa.select(User.phone, User.name)
            .where(User.phone.is_not(None))
            .order_by(User.id.desc())
            .limit(limit)
        )
        if phone is not None  # (the query's condition, for the type checker)
    ]
