"""Running a shift on the day, as the roster screen reads it: who is on the roster, the
roster's CSV export and QR codes. Walk-ins and moves between the waitlist and confirmed spots
are signup changes, owned by shifts/services (the only writer of `spots_taken`); attendance and
check-in are hours/attendance.py's, hours hours/services.py's, outcome values
impact/outcomes.py's.

Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.phone import display
from volunteer_app.core.spreadsheet import csv_bytes
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours import attendance
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.shifts.models import (
    SPOT_HOLDING,
    Shift,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.sms.models import Direction, Message, MessageStatus

# ---------------------------------------------------------------------------------------------
# Reading the roster


@dataclass
class LastText:
    """The latest text sent to a person, whatever it was about."""

    status: MessageStatus
    error_code: str | None
    error: str | None
    created_at: dt.datetime
    kind: str


@dataclass
class RosterRow:
    signup: Signup
    waitlist_rank: int | None = None
    last_text: LastText | None = None
    hours_entry: HoursEntry | None = None

    @property
    def user(self) -> User:
        return self.signup.user

    @property
    def consent(self) -> str:
        return consent_state(self.signup.user)


@dataclass
class Roster:
    shift: Shift
    confirmed: list[RosterRow] = field(default_factory=list)
    waitlisted: list[RosterRow] = field(default_factory=list)

    @property
    def rows(self) -> list[RosterRow]:
        return self.confirmed + self.waitlisted


def consent_state(user: User) -> str:
    """'opted_out', 'yes' or 'no': what the roster says about texting this person."""
    if user.sms_opted_out_at is not None:
        return "opted_out"
    return "yes" if user.sms_consent_at is not None else "no"


def last_texts(user_ids: list[int]) -> dict[int, LastText]:
    """The latest outbound message of each person, in one query whatever their number."""
    if not user_ids:
        return {}
    ranked = (
        sa.select(
            Message.user_id,
            Message.status,
            Message.error_code,
            Message.error,
            Message.created_at,
            Message.kind,
            sa.func.row_number()
            .over(
                partition_by=Message.user_id,
                order_by=(Message.created_at.desc(), Message.id.desc()),
            )
            .label("rank"),
        )
        .where(Message.direction == Direction.OUTBOUND, Message.user_id.in_(user_ids))
        .subquery()
    )
    rows = db.session.execute(sa.select(ranked).where(ranked.c.rank == 1))
    return {
        row.user_id: LastText(
            status=MessageStatus(row.status),
            error_code=row.error_code,
            error=row.error,
            created_at=row.created_at,
            kind=row.kind,
        )
        for row in rows
    }


def load_roster(shift: Shift, *, attendance_only: bool = False) -> Roster:
    """Everyone on the shift: spot holders by name, then the waitlist in order.

    Three queries whatever the roster's size: signups with people, their last texts, and the
    hours credited for the shift.
    """
    statuses = list(SPOT_HOLDING) if attendance_only else [*SPOT_HOLDING, SignupStatus.WAITLISTED]
    signups = db.session.scalars(
        sa.select(Signup)
        .join(Signup.user)
        .where(Signup.shift_id == shift.id, Signup.status.in_(statuses))
        .order_by(
            Signup.waitlist_position.is_not(None),
            Signup.waitlist_position,
            sa.func.lower(User.name),
            Signup.id,
        )
        .options(joinedload(Signup.user))
    ).all()
    texts = last_texts([s.user_id for s in signups])
    entries = {
        e.signup_id: e
        for e in db.session.scalars(
            sa.select(HoursEntry).where(HoursEntry.signup_id.in_([s.id for s in signups]))
        )
    }
    roster = Roster(shift=shift)
    for signup in signups:
        row = RosterRow(
            signup=signup,
            last_text=texts.get(signup.user_id),
            hours_entry=entries.get(signup.id),
        )
        if signup.status == SignupStatus.WAITLISTED:
            row.waitlist_rank = len(roster.waitlisted) + 1
            roster.waitlisted.append(row)
        else:
            roster.confirmed.append(row)
    return roster


def shift_has_ended(shift: Shift, *, now: dt.datetime) -> bool:
    return shift.ends_at <= now


# ---------------------------------------------------------------------------------------------
# QR codes for the sign-in sheet


def qr_svg(url: str, *, title: str = "") -> bytes:
    """A QR code for `url` as a standalone SVG document, made here (no outside service)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        out, kind="svg", scale=8, border=4, xmldecl=True, svgns=True, title=title or None
    )
    return out.getvalue()


def qr_svg_inline(url: str) -> str:
    """The same QR code as an <svg> element to put straight into a page."""
    return segno.make(url, error="m", micro=False).svg_inline(scale=5, border=4)


def check_in_url(shift: Shift, *, with_sheet_code: bool = False) -> str:
    """The public address a QR code points to; the configured base, not the request's host,
    so a printed sheet works whichever server rendered it. The sign-in sheet's own QR code
    carries the sheet code; the public one does not."""
    from flask import url_for

    # url_for's **values are Any; a plain dict[str, str] would be matched to _external too.
    extra: dict[str, Any] = {"sheet": attendance.sheet_code(shift)} if with_sheet_code else {}
    return current_app.config["PUBLIC_BASE_URL"] + url_for(
        "roster.checkin", code=shift.code, **extra
    )


# ---------------------------------------------------------------------------------------------
# CSV export


def roster_csv(roster: Roster) -> bytes:
    """The roster as spreadsheet-safe CSV, local times in the initiative's zone."""
    shift = roster.shift
    tz = shift.initiative.timezone
    status_names = {
        SignupStatus.CONFIRMED: _("confirmed"),
        SignupStatus.WAITLISTED: _("waitlisted"),
        SignupStatus.ATTENDED: _("attended"),
        SignupStatus.NO_SHOW: _("no-show"),
    }
    consent_names = {"yes": _("yes"), "no": _("no"), "opted_out": _("opted out")}
    source_names = {
        SignupSource.WEB: _("web"),
        SignupSource.SMS: _("text message"),
        SignupSource.COORDINATOR: _("coordinator"),
        SignupSource.WALK_IN: _("walk-in"),
    }
    text_names = {
        MessageStatus.QUEUED: _("queued"),
        MessageStatus.CLAIMED: _("sending"),
        MessageStatus.SENDING: _("sending"),
        MessageStatus.UNCONFIRMED: _("checking with Twilio"),
        MessageStatus.SENT: _("sent"),
        MessageStatus.DELIVERED: _("delivered"),
        MessageStatus.UNDELIVERED: _("undelivered"),
        MessageStatus.FAILED: _("failed"),
        MessageStatus.REVIEW: _("needs review"),
        MessageStatus.DROPPED: _("not sent"),
    }

    def when(instant: dt.datetime | None) -> str:
        return local(instant, tz).strftime("%Y-%m-%d %H:%M") if instant else ""

    header = [
        _("Name"),
        _("Phone"),
        _("Email"),
        _("Status"),
        _("Waitlist position"),
        _("SMS consent"),
        _("Last text"),
        _("Source"),
        _("Checked in (%(zone)s)", zone=tz),
        _("Checked out (%(zone)s)", zone=tz),
        _("Hours"),
    ]

    def text_status(text) -> str:
        if text is None:
            return ""
        status = text_names.get(text.status, str(text.status))
        return f"{status} ({text.error_code})" if text.error_code else status

    rows = (
        (
            row.user.name,
            display(row.user.phone),
            row.user.email or "",
            status_names.get(row.signup.status, str(row.signup.status)),
            row.waitlist_rank or "",
            consent_names[row.consent],
            text_status(row.last_text),
            source_names.get(row.signup.source, str(row.signup.source)),
            when(row.signup.checked_in_at),
            when(row.signup.checked_out_at),
            f"{row.hours_entry.minutes / 60:.2f}"
            if row.hours_entry and row.hours_entry.status == HoursStatus.APPROVED
            else "",
        )
        for row in roster.rows
    )
    return csv_bytes(header, rows)
