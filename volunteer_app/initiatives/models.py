"""Initiatives and their goals (outcome metrics)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import Organization
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model, db
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill


class InitiativeStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class MetricKind(enum.StrEnum):
    OUTPUT = "output"  # what volunteers did: trees planted, pounds of litter
    OUTCOME = "outcome"  # what changed: students reading at grade level


initiative_neighborhoods = sa.Table(
    "initiative_neighborhoods",
    db.metadata,
    sa.Column(
        "initiative_id", sa.ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "neighborhood_id", sa.ForeignKey("neighborhoods.id", ondelete="CASCADE"), primary_key=True
    ),
)
initiative_skills = sa.Table(
    "initiative_skills",
    db.metadata,
    sa.Column(
        "initiative_id", sa.ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("skill_id", sa.ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)
initiative_languages = sa.Table(
    "initiative_languages",
    db.metadata,
    sa.Column(
        "initiative_id", sa.ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "language_code", sa.ForeignKey("languages.code", ondelete="CASCADE"), primary_key=True
    ),
)

DEFAULT_REMINDER_MINUTES = [24 * 60, 2 * 60]


class Initiative(Model):
    __tablename__ = "initiatives"
    __table_args__ = (
        enum_check("status", InitiativeStatus),
        sa.CheckConstraint("minimum_age >= 0 AND minimum_age <= 120", name="minimum_age_range"),
        sa.Index("ix_initiatives_status_cause", "status", "cause_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    cause_id: Mapped[int] = mapped_column(sa.ForeignKey("causes.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(140))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    story: Mapped[str] = mapped_column(sa.Text, default="")
    blueprint: Mapped[str | None] = mapped_column(sa.String(40))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="America/New_York")
    status: Mapped[InitiativeStatus] = mapped_column(
        StrEnumType(InitiativeStatus), default=InitiativeStatus.DRAFT
    )
    minimum_age: Mapped[int] = mapped_column(default=0)
    # Minutes before a shift's start at which SMS reminders go out.
    reminder_minutes: Mapped[list[int]] = mapped_column(
        sa.JSON, default=lambda: list(DEFAULT_REMINDER_MINUTES)
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    organization: Mapped[Organization] = relationship()
    cause: Mapped[Cause] = relationship()
    neighborhoods: Mapped[list[Neighborhood]] = relationship(secondary=initiative_neighborhoods)
    skills: Mapped[list[Skill]] = relationship(secondary=initiative_skills)
    languages: Mapped[list[Language]] = relationship(secondary=initiative_languages)
    metrics: Mapped[list[OutcomeMetric]] = relationship(
        back_populates="initiative",
        order_by="OutcomeMetric.position",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Initiative {self.slug}>"

    @property
    def is_published(self) -> bool:
        return self.status == InitiativeStatus.PUBLISHED


class OutcomeMetric(Model):
    """A goal an initiative promises: a target for a measured quantity by a deadline."""

    __tablename__ = "outcome_metrics"
    __table_args__ = (
        enum_check("kind", MetricKind),
        sa.CheckConstraint("target > 0", name="target_positive"),
        sa.UniqueConstraint("initiative_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(
        sa.ForeignKey("initiatives.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    unit: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[MetricKind] = mapped_column(StrEnumType(MetricKind), default=MetricKind.OUTPUT)
    target: Mapped[decimal.Decimal] = mapped_column(sa.Numeric(14, 2))
    baseline: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(14, 2))
    deadline_on: Mapped[dt.date | None]
    # A short word volunteers can text with a number ("TREES 12"); optional.
    sms_keyword: Mapped[str | None] = mapped_column(sa.String(20))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    initiative: Mapped[Initiative] = relationship(back_populates="metrics")
