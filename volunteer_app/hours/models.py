"""Hours entries and their audit trail.

An entry is never deleted: corrections change `minutes` or `status` and add an `HoursAudit` row
saying who changed what, when, and why.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import db
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


class HoursEntry(db.Model):
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

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    initiative: Mapped[Initiative] = relationship()
    shift: Mapped[Shift | None] = relationship()
    signup: Mapped[Signup | None] = relationship()

    @property
    def hours(self) -> float:
        return self.minutes / 60


class HoursAudit(db.Model):
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
