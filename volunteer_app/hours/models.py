"""Hours entries and their audit trail.

An entry is never deleted: corrections change `minutes` or `status` and add an `HoursAudit` row
saying who changed what, when, and why.

Each entry also keeps `days_to_next_service`: how many days later the same person next served
with approved hours (anywhere in the program). It is what program-wide retention reads ("served
again within 90 days"), so the dashboard need not look ahead entry by entry. It is kept right by
one rule, whoever writes: every flush that adds an entry or changes one's person, date or status
recomputes that person's entries (see refresh_service_gaps); bulk loads that bypass the session
call refresh_service_gaps themselves.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.core.sql import day_number
from volunteer_app.extensions import Model
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, Signup


class HoursStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class HoursSource(enum.StrEnum):
    ATTENDANCE = "attendance"  # from a shift's check-in and check-out
    SELF_REPORT = "self_report"  # served off-shift, waits for approval
    COORDINATOR = "coordinator"  # entered by a coordinator


class HoursEntry(Model):
    __tablename__ = "hours_entries"
    __table_args__ = (
        enum_check("status", HoursStatus),
        enum_check("source", HoursSource),
        sa.CheckConstraint("minutes >= 0 AND minutes <= 1440", name="minutes_in_a_day"),
        sa.UniqueConstraint("signup_id"),
        sa.Index("ix_hours_entries_user_served", "user_id", "served_on"),
        # An initiative's (or a list of initiatives') approved hours, read from the index
        # alone: the public pages and every report filtered by organization, cause or
        # initiative.
        sa.Index(
            "ix_hours_entries_initiative_served",
            "initiative_id",
            "served_on",
            "status",
            "user_id",
            "minutes",
            "shift_id",
        ),
        # Impact reports: approved hours by date, and each person's approved hours in order
        # with their minutes, read from the index alone (no table lookups) on SQLite and
        # PostgreSQL.
        sa.Index(
            "ix_hours_entries_status_served",
            "status",
            "served_on",
            "user_id",
            "initiative_id",
            "minutes",
            "shift_id",
        ),
        sa.Index(
            "ix_hours_entries_status_user",
            "status",
            "user_id",
            "served_on",
            "initiative_id",
            "minutes",
            "days_to_next_service",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    initiative_id: Mapped[int] = mapped_column(sa.ForeignKey("initiatives.id", ondelete="CASCADE"))
    shift_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shifts.id", ondelete="SET NULL"), index=True
    )
    signup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signups.id", ondelete="SET NULL"))
    # The local date of service (in the initiative's timezone): what reports group by.
    served_on: Mapped[dt.date]
    started_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    minutes: Mapped[int]
    source: Mapped[HoursSource] = mapped_column(StrEnumType(HoursSource))
    status: Mapped[HoursStatus] = mapped_column(
        StrEnumType(HoursStatus), default=HoursStatus.PENDING
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reviewed_at: Mapped[dt.datetime | None]
    # Days until this person's next later day of approved service; None while there is none.
    # Maintained by refresh_service_gaps, never set by hand.
    days_to_next_service: Mapped[int | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    initiative: Mapped[Initiative] = relationship()
    shift: Mapped[Shift | None] = relationship()
    signup: Mapped[Signup | None] = relationship()

    @property
    def hours(self) -> float:
        return self.minutes / 60


class HoursAudit(Model):
    """Who changed an hours entry, when, from what to what, and why."""

    __tablename__ = "hours_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    hours_entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hours_entries.id", ondelete="CASCADE"), index=True
    )
    changed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    minutes_before: Mapped[int | None]
    minutes_after: Mapped[int | None]
    status_before: Mapped[str | None] = mapped_column(sa.String(20))
    status_after: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")

    changed_by: Mapped[User | None] = relationship()


# ---------------------------------------------------------------------------------------------
# Keeping days_to_next_service right


def refresh_service_gaps(connection: sa.Connection, user_ids: set[int] | None = None) -> None:
    """Recompute days_to_next_service for every entry of these people (of everyone when None),
    in one UPDATE.

    On PostgreSQL the people's rows are locked first (FOR NO KEY UPDATE, which does not clash
    with the key-share lock an INSERT takes on the person it refers to), so two transactions
    adding hours for the same person run one after the other and the second reads the first's
    entries; SQLite serialises writers already. A transaction that also locks a shift has
    taken that lock first (the order of shifts/services).
    """
    entries = HoursEntry.__table__
    later = entries.alias("later")
    next_on = (
        sa.select(sa.func.min(later.c.served_on))
        .where(
            later.c.user_id == entries.c.user_id,
            later.c.status == HoursStatus.APPROVED,
            later.c.served_on > entries.c.served_on,
        )
        .scalar_subquery()
    )
    update = entries.update().values(
        days_to_next_service=day_number(next_on) - day_number(entries.c.served_on)
    )
    if user_ids is not None:
        if not user_ids:
            return
        ids = sorted(user_ids)
        if connection.dialect.name == "postgresql":
            users = User.__table__
            connection.execute(
                sa.select(users.c.id)
                .where(users.c.id.in_(ids))
                .order_by(users.c.id)
                .with_for_update(key_share=True)
            )
        update = update.where(entries.c.user_id.in_(ids))
    connection.execute(update)


_GAP_INPUTS = ("user_id", "served_on", "status")
_PENDING_KEY = "hours.service_gap_users"


@sa.event.listens_for(Session, "after_flush")
def _refresh_gaps_after_flush(session: Session, _flush_context) -> None:
    """Whoever wrote the entries (a service, the seed, a test factory), recompute the gaps of
    the people whose approved days may have changed, inside the same transaction."""
    user_ids: set[int] = set()
    for entry in session.new:
        if isinstance(entry, HoursEntry):
            user_ids.add(entry.user_id)
    for entry in session.dirty:
        if not isinstance(entry, HoursEntry):
            continue
        state: InstanceState[HoursEntry] = sa.inspect(entry)
        changed = [state.attrs[name].history for name in _GAP_INPUTS]
        if any(history.has_changes() for history in changed):
            user_ids.add(entry.user_id)
            user_ids.update(v for v in state.attrs.user_id.history.deleted if v is not None)
    if user_ids:
        refresh_service_gaps(session.connection(), user_ids)
        session.info.setdefault(_PENDING_KEY, set()).update(user_ids)


@sa.event.listens_for(Session, "after_flush_postexec")
def _expire_refreshed_gaps(session: Session, _flush_context) -> None:
    """Entries already loaded would otherwise keep the value read before the UPDATE."""
    user_ids = session.info.pop(_PENDING_KEY, None)
    if not user_ids:
        return
    for entry in list(session.identity_map.values()):
        if isinstance(entry, HoursEntry) and entry.user_id in user_ids:
            session.expire(entry, ["days_to_next_service"])
