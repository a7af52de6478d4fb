"""Shifts and the people on them.

Capacity is a database invariant: `shifts.spots_taken` counts the signups that hold a spot and
a CHECK keeps it between 0 and `capacity`; the service changes it only while holding the
shift's row lock (see shifts/services.py).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model
from volunteer_app.initiatives.models import Initiative
from volunteer_app.reference.models import Neighborhood


class ShiftStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SignupStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Statuses that hold one of the shift's spots.
SPOT_HOLDING = (SignupStatus.CONFIRMED, SignupStatus.ATTENDED, SignupStatus.NO_SHOW)


class SignupSource(enum.StrEnum):
    WEB = "web"
    SMS = "sms"
    COORDINATOR = "coordinator"
    WALK_IN = "walk_in"


class Shift(Model):
    __tablename__ = "shifts"
    __table_args__ = (
        enum_check("status", ShiftStatus),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint(
            "spots_taken >= 0 AND spots_taken <= capacity", name="spots_within_capacity"
        ),
        sa.CheckConstraint(
            "effort IS NULL OR effort IN ('light', 'moderate', 'heavy')", name="effort_valid"
        ),
        sa.Index("ix_shifts_initiative_starts", "initiative_id", "starts_at"),
        # Impact reports read scheduled shifts by start with where and when they end from the
        # index alone on SQLite (spots_taken stays out: it changes with every signup).
        sa.Index(
            "ix_shifts_status_starts",
            "status",
            "starts_at",
            "ends_at",
            "initiative_id",
            "neighborhood_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(sa.ForeignKey("initiatives.id", ondelete="CASCADE"))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    location_name: Mapped[str] = mapped_column(sa.String(140), default="")
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # Where the service happens, for the equity lens and for matching by place.
    neighborhood_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("neighborhoods.id", ondelete="SET NULL"), index=True
    )
    capacity: Mapped[int]
    spots_taken: Mapped[int] = mapped_column(default=0)
    role: Mapped[str | None] = mapped_column(sa.String(60))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    effort: Mapped[str | None] = mapped_column(sa.String(10))
    # The short public code people text ("JOIN 4821", "IN 4821").
    code: Mapped[str] = mapped_column(sa.String(8), unique=True)
    series_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    status: Mapped[ShiftStatus] = mapped_column(
        StrEnumType(ShiftStatus), default=ShiftStatus.SCHEDULED
    )
    team_lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    cancelled_at: Mapped[dt.datetime | None]

    initiative: Mapped[Initiative] = relationship()
    neighborhood: Mapped[Neighborhood | None] = relationship()
    team_lead: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Shift {self.id} {self.code}>"

    @property
    def spots_left(self) -> int:
        return max(self.capacity - self.spots_taken, 0)

    @property
    def is_cancelled(self) -> bool:
        return self.status == ShiftStatus.CANCELLED

    @property
    def duration(self) -> dt.timedelta:
        return self.ends_at - self.starts_at


class Signup(Model):
    """One person on one shift. A person has at most one signup row per shift; signing up again
    after cancelling reuses it."""

    __tablename__ = "signups"
    __table_args__ = (
        enum_check("status", SignupStatus),
        enum_check("source", SignupSource),
        sa.UniqueConstraint("shift_id", "user_id"),
        # Waitlist order is unique within a shift (NULL for everyone not waiting).
        sa.UniqueConstraint("shift_id", "waitlist_position"),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="waitlist_position_iff_waitlisted",
        ),
        sa.CheckConstraint(
            "checked_out_at IS NULL OR checked_in_at IS NOT NULL", name="check_out_after_in"
        ),
        sa.Index("ix_signups_user_status", "user_id", "status"),
        sa.Index("ix_signups_shift_status", "shift_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[SignupStatus] = mapped_column(StrEnumType(SignupStatus))
    waitlist_position: Mapped[int | None]
    source: Mapped[SignupSource] = mapped_column(
        StrEnumType(SignupSource), default=SignupSource.WEB
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    # "Reply OK to confirm": when the volunteer said they are still coming.
    reconfirmed_at: Mapped[dt.datetime | None]
    checked_in_at: Mapped[dt.datetime | None]
    checked_out_at: Mapped[dt.datetime | None]
    check_in_method: Mapped[str | None] = mapped_column(sa.String(20))  # web, kiosk, sms, roster

    shift: Mapped[Shift] = relationship()
    user: Mapped[User] = relationship(back_populates="signups", foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<Signup {self.id} shift={self.shift_id} user={self.user_id} {self.status}>"

    @property
    def holds_spot(self) -> bool:
        return self.status in SPOT_HOLDING
