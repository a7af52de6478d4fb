"""Invitations a coordinator sends to a matched volunteer, tracked so they see what works."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model
from volunteer_app.shifts.models import Shift


class InvitationStatus(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Invitation(Model):
    __tablename__ = "invitations"
    __table_args__ = (
        enum_check("status", InvitationStatus),
        sa.UniqueConstraint("shift_id", "user_id"),
        sa.Index("ix_invitations_user_sent", "user_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(sa.ForeignKey("shifts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(sa.String(10))  # sms, email
    status: Mapped[InvitationStatus] = mapped_column(
        StrEnumType(InvitationStatus), default=InvitationStatus.SENT
    )
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[dt.datetime | None]

    shift: Mapped[Shift] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
