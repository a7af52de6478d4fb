"""Users (volunteers, coordinators, admins), organizations and who coordinates for which.

A person who only ever texts has a user row too: a phone number, maybe a name, no email and no
password. The volunteer profile lives on the same row because matching, SMS and rosters all
read it together.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model, db
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill

if TYPE_CHECKING:  # shifts.models imports this module
    from volunteer_app.shifts.models import Signup


class Role(enum.StrEnum):
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Effort(enum.StrEnum):
    LIGHT = "light"
    MODERATE = "moderate"
    HEAVY = "heavy"


class PhoneStatus(enum.StrEnum):
    OK = "ok"
    INVALID = "invalid"  # Twilio 21211
    NOT_SMS_CAPABLE = "not_sms_capable"  # Twilio 21614


# Weekly availability: 21 bits, one per (weekday, part of day), Monday morning = bit 0.
DAY_PARTS = ("morning", "afternoon", "evening")


def availability_bit(weekday: int, part: int) -> int:
    return 1 << (weekday * len(DAY_PARTS) + part)


user_causes = sa.Table(
    "user_causes",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("cause_id", sa.ForeignKey("causes.id", ondelete="CASCADE"), primary_key=True),
)
user_skills = sa.Table(
    "user_skills",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
)
user_languages = sa.Table(
    "user_languages",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "language_code", sa.ForeignKey("languages.code", ondelete="CASCADE"), primary_key=True
    ),
)


class Organization(Model):
    """A city department or partner nonprofit that owns initiatives."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20), default="department")
    website: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organization {self.slug}>"


class Membership(Model):
    """A coordinator belongs to an organization."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        enum_check("role", Role),
        enum_check("phone_status", PhoneStatus),
        sa.CheckConstraint(
            "effort_preference IS NULL OR effort_preference IN ('light', 'moderate', 'heavy')",
            name="effort_preference_valid",
        ),
        # Consent is only ever recorded together with the text version the person agreed to.
        sa.CheckConstraint(
            "(sms_consent_at IS NULL) = (sms_consent_version IS NULL)", name="sms_consent_whole"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: someone who joined by text message has only a phone.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    role: Mapped[Role] = mapped_column(StrEnumType(Role), default=Role.VOLUNTEER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    # Phone and SMS consent
    phone: Mapped[str | None] = mapped_column(sa.String(20), unique=True)  # E.164
    phone_status: Mapped[PhoneStatus] = mapped_column(
        StrEnumType(PhoneStatus), default=PhoneStatus.OK
    )
    sms_consent_at: Mapped[dt.datetime | None]
    sms_consent_version: Mapped[str | None] = mapped_column(sa.String(40))
    sms_consent_source: Mapped[str | None] = mapped_column(sa.String(20))  # web, sms, paper
    sms_opted_out_at: Mapped[dt.datetime | None]

    # Profile
    preferred_language: Mapped[str] = mapped_column(sa.String(8), default="en")
    neighborhood_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("neighborhoods.id", ondelete="SET NULL"), index=True
    )
    zip_code: Mapped[str | None] = mapped_column(sa.String(10))
    availability_mask: Mapped[int] = mapped_column(default=0)
    travel_miles: Mapped[float | None]
    effort_preference: Mapped[str | None] = mapped_column(sa.String(10))
    birth_date: Mapped[dt.date | None]
    onboarded_at: Mapped[dt.datetime | None]

    # Private calendar feed; rotating the token revokes the old URL.
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    neighborhood: Mapped[Neighborhood | None] = relationship()
    causes: Mapped[list[Cause]] = relationship(secondary=user_causes)
    skills: Mapped[list[Skill]] = relationship(secondary=user_skills)
    languages: Mapped[list[Language]] = relationship(secondary=user_languages)
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    signups: WriteOnlyMapped[Signup] = relationship(
        back_populates="user", foreign_keys="Signup.user_id"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email or self.phone}>"

    # Flask-Login
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    # The login this request runs under; accounts/sessions.py sets it when the person logs in
    # or a cookie brings them back. Not a column: one person has a login per browser (and the
    # ORM refuses an annotation that is not Mapped[], so only mypy sees the types).
    if TYPE_CHECKING:
        login_session: LoginSession | None = None
        login_token: str | None = None
    else:
        login_session = None
        login_token = None

    def get_id(self) -> str | None:
        """What the session and the remember-me cookie hold: the random token of this login
        (see LoginSession), never the user's id, so ending the login ends both cookies."""
        return self.login_token

    # UserMixin compares people by get_id(), which is now a login's token (None for everyone
    # not logged in in this request): one row is one object in a session, so identity it is.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR or bool(self.memberships)

    @property
    def organization_ids(self) -> set[int]:
        return {m.organization_id for m in self.memberships}

    @property
    def can_text(self) -> bool:
        """Whether the SMS outbox may write to this person at all."""
        return (
            self.phone is not None
            and self.sms_consent_at is not None
            and self.sms_opted_out_at is None
            and self.phone_status == PhoneStatus.OK
        )

    @property
    def display_name(self) -> str:
        return self.name or (self.email or "").split("@")[0] or "Volunteer"

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class LoginSession(Model):
    """One login in one browser. The session cookie and the remember-me cookie carry its random
    token; the table keeps only the token's SHA-256, so a copy of the database opens nobody's
    account. Logging out revokes this row; "log out everywhere" and a password reset revoke
    every row of the person."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # "Keep me logged in": the login lasts as long as the remember-me cookie; otherwise it ends
    # after LOGIN_SESSION_IDLE_SECONDS without a visit.
    remember: Mapped[bool] = mapped_column(default=False)
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} user {self.user_id}>"
