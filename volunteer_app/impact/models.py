"""Outcome records and the dated value of a volunteer hour."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model
from volunteer_app.initiatives.models import OutcomeMetric
from volunteer_app.shifts.models import Shift


class OutcomeSource(enum.StrEnum):
    WEB = "web"
    SMS = "sms"
    IMPORT = "import"
    PARTNER_REPORT = "partner_report"


class OutcomeRecord(Model):
    """A measured value for a metric, from a shift or from a partner report over a date range.

    Records are never deleted: a correction voids the old record (keeping who and why) and adds
    a new one.
    """

    __tablename__ = "outcome_records"
    __table_args__ = (
        enum_check("source", OutcomeSource),
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
        sa.CheckConstraint(
            "period_end_on IS NULL OR period_end_on >= period_start_on", name="period_ordered"
        ),
        sa.Index("ix_outcome_records_metric_period", "metric_id", "period_start_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(sa.ForeignKey("outcome_metrics.id", ondelete="CASCADE"))
    shift_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shifts.id", ondelete="SET NULL"), index=True
    )
    value: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(14, 2))
    period_start_on: Mapped[dt.date]
    period_end_on: Mapped[dt.date | None]
    source: Mapped[OutcomeSource] = mapped_column(StrEnumType(OutcomeSource))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[dt.datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    void_reason: Mapped[str | None] = mapped_column(sa.String(500))

    metric: Mapped[OutcomeMetric] = relationship()
    shift: Mapped[Shift | None] = relationship()
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


class VolunteerHourRate(Model):
    """The value of one volunteer hour for a year and region ("US" or a state code), in cents.

    Applied by the year the service happened; Independent Sector publishes the national figure.
    """

    __tablename__ = "volunteer_hour_rates"
    __table_args__ = (
        sa.UniqueConstraint("year", "region"),
        sa.CheckConstraint("cents > 0", name="cents_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    region: Mapped[str] = mapped_column(sa.String(8), default="US")
    cents: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
