"""Every SMS in or out, in one table.

Outbound rows are written by services inside the transaction that caused them (status
`queued`, a unique idempotency key such as `reminder:1440:signup:123`) and sent by the worker
after commit. Inbound rows are keyed by Twilio's MessageSid, so a retried webhook acts once.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from volunteer_app.accounts.models import User
from volunteer_app.core.db import StrEnumType, enum_check, utcnow
from volunteer_app.extensions import Model


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for the worker (maybe deferred by send_after)
    CLAIMED = "claimed"  # taken by a worker, not handed to Twilio yet; a crash requeues it
    SENDING = "sending"  # handed to Twilio, its answer awaited; a crash makes it `unconfirmed`
    # Handed to Twilio without an answer (a timeout, a crash): the worker looks it up at Twilio
    # from send_after on, and never resends it blindly.
    UNCONFIRMED = "unconfirmed"
    SENT = "sent"  # accepted by Twilio (or written to the console)
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    REVIEW = "review"  # outcome still unknown after looking it up: a person decides
    DROPPED = "dropped"  # not sent on purpose: no consent, opted out, too late; see error
    RECEIVED = "received"  # inbound


class Message(Model):
    __tablename__ = "messages"
    __table_args__ = (
        enum_check("direction", Direction),
        enum_check("status", MessageStatus),
        sa.Index("ix_messages_status_send_after", "status", "send_after"),
        sa.Index("ix_messages_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(StrEnumType(Direction))
    status: Mapped[MessageStatus] = mapped_column(StrEnumType(MessageStatus))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    twilio_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    to_phone: Mapped[str] = mapped_column(sa.String(20))
    from_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    # Which template made it (confirmation, reminder, broadcast, ...) or the inbound command.
    kind: Mapped[str] = mapped_column(sa.String(40), default="")
    segments: Mapped[int] = mapped_column(default=1)
    shift_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("shifts.id", ondelete="SET NULL"), index=True
    )
    signup_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signups.id", ondelete="SET NULL"))
    # The organization that sent it, for texts a coordinator wrote (broadcasts): whose log
    # shows it when it concerns no shift.
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    # Not before this instant (quiet hours, reminders, retry backoff; for an unconfirmed text,
    # its next lookup).
    send_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A reminder is pointless after this instant (the shift's start).
    expires_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)  # times handed to Twilio
    # When a worker last took charge of it: claimed it, or handed it to Twilio.
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(20))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    # The TwiML reply given to an inbound message, so a retried webhook gets the same answer.
    reply_body: Mapped[str | None] = mapped_column(sa.Text)
    status_history: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Message {self.id} {self.direction} {self.status} {self.kind}>"
