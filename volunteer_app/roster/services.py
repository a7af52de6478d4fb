"""Running a shift on the day: who is on the roster, walk-ins, moving people between the
waitlist and confirmed spots, and the roster's CSV export and QR codes. Attendance and check-in
are hours/attendance.py's, hours hours/services.py's, outcome values impact/outcomes.py's.

Every change to who holds a spot happens under the shift's row lock (shifts/services.lock_shift),
as signing up does, so the CHECK on `spots_taken` is never the thing that stops a mistake.
Services flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.core.phone import InvalidPhone, display, to_e164
from volunteer_app.core.spreadsheet import csv_bytes
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours import attendance
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.shifts.models import (
    SPOT_HOLDING,
    Shift,
    ShiftStatus,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.shifts.services import (
    confirm_waiting,
    lock_shift,
    lock_user,
    next_waitlist_position,
    signup_of,
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
# Walk-ins


class ShiftFull(Conflict):
    pass


WHEN_FULL_CHOICES = ("raise", "waitlist")


def find_person(lookup: str) -> User | None:
    """A person by email address or phone number, as a coordinator would type either."""
    lookup = (lookup or "").strip()
    if not lookup:
        return None
    if "@" in lookup:
        return db.session.scalar(
            sa.select(User).where(sa.func.lower(User.email) == lookup.lower()).limit(1)
        )
    try:
        phone = to_e164(lookup)
    except InvalidPhone:
        return None
    return db.session.scalar(sa.select(User).where(User.phone == phone))


def walk_in_person(
    name: str, raw_phone: str, *, agreed_to_texts: bool, now: dt.datetime
) -> tuple[User, bool]:
    """The person behind a name and phone typed at the sign-in table: an existing account with
    that phone, or a new minimal one. Returns (person, created).

    Consent to texts is recorded only when the volunteer agreed in person (source "paper",
    current wording version); someone who once texted STOP is never re-subscribed here.
    """
    name = name.strip()
    if not name:
        raise DomainError(_("Please give the volunteer's name."))
    try:
        phone = to_e164(raw_phone)
    except InvalidPhone as exc:
        raise DomainError(_("Please enter a valid phone number.")) from exc
    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    created = person is None
    if person is None:
        person = User(name=name[:120], phone=phone, email=None, password_hash=None, created_at=now)
        db.session.add(person)
    if agreed_to_texts and person.sms_consent_at is None and person.sms_opted_out_at is None:
        person.sms_consent_at = now
        person.sms_consent_version = current_app.config["SMS_CONSENT_VERSION"]
        person.sms_consent_source = "paper"
    db.session.flush()
    return person, created


@dataclass
class WalkInResult:
    signup: Signup
    waitlisted: bool
    capacity_raised: bool = False


def add_walk_in(
    person: User, shift: Shift, *, now: dt.datetime, when_full: str | None = None
) -> WalkInResult:
    """Put someone who turned up on the roster (source walk_in), confirmed while spots last.

    Capacity is never exceeded: on a full shift the coordinator chooses to raise the capacity
    by one for this person (`when_full="raise"`) or to put them at the end of the waitlist
    (`"waitlist"`); without a choice the walk-in is refused with ShiftFull. Walk-ins are
    allowed after the start (that is when people walk in) but not on a cancelled shift, and
    they get no confirmation text: they are standing at the table.
    """
    shift = lock_shift(shift.id)
    if shift.status != ShiftStatus.SCHEDULED:
        raise DomainError(_("This shift was cancelled."))
    lock_user(person.id)
    signup = signup_of(person, shift)
    if signup is not None and signup.status != SignupStatus.CANCELLED:
        raise Conflict(_("%(name)s is already on this shift's roster.", name=person.display_name))
    if signup is None:
        signup = Signup(shift_id=shift.id, user_id=person.id, created_at=now)
    signup.source = SignupSource.WALK_IN
    signup.cancelled_at = None
    signup.checked_in_at = signup.checked_out_at = None
    signup.check_in_method = None

    raised = False
    if shift.spots_taken >= shift.capacity:
        if when_full == "raise":
            shift.capacity += 1
            raised = True
        elif when_full == "waitlist":
            position = next_waitlist_position(shift.id)
            db.session.add(signup)
            signup.status = SignupStatus.WAITLISTED
            signup.waitlist_position = position
            db.session.flush()
            return WalkInResult(signup, waitlisted=True)
        else:
            raise ShiftFull(
                _(
                    "The shift is full. Raise its capacity by one for this person, "
                    "or add them to the waitlist."
                )
            )
    db.session.add(signup)
    signup.status = SignupStatus.CONFIRMED
    signup.waitlist_position = None
    signup.confirmed_at = now
    shift.spots_taken += 1
    db.session.flush()
    return WalkInResult(signup, waitlisted=False, capacity_raised=raised)


def add_new_walk_in(
    name: str,
    raw_phone: str,
    shift: Shift,
    *,
    agreed_to_texts: bool,
    now: dt.datetime,
    when_full: str | None = None,
) -> tuple[WalkInResult, User, bool]:
    """A walk-in typed in by name and phone: find or create the person (`walk_in_person`),
    then put them on the roster (`add_walk_in`). Returns (result, person, created)."""
    # The shift's lock before the person's row is written (consent): the order every signup
    # takes its locks in (see shifts/services).
    lock_shift(shift.id)
    person, created = walk_in_person(name, raw_phone, agreed_to_texts=agreed_to_texts, now=now)
    return add_walk_in(person, shift, now=now, when_full=when_full), person, created


# ---------------------------------------------------------------------------------------------
# Moving people between the waitlist and confirmed spots


def roster_signup(shift: Shift, signup_id: int) -> Signup:
    """A signup of this shift; an id from any other shift answers NotFound."""
    signup = db.session.get(Signup, signup_id, options=[joinedload(Signup.user)])
    if signup is None or signup.shift_id != shift.id:
        raise NotFound(_("That person is not on this shift's roster."))
    return signup


def confirm_from_waitlist(signup: Signup, *, now: dt.datetime) -> Signup:
    """Give a waiting person a free spot, ahead of the queue if the coordinator says so.

    Only into a free spot: to make room, raise the capacity or move someone to the waitlist
    first. The person gets the usual "a spot opened" text if the shift is still ahead.
    """
    shift = lock_shift(signup.shift_id)
    db.session.refresh(signup)
    if shift.status != ShiftStatus.SCHEDULED:
        raise DomainError(_("This shift was cancelled."))
    if signup.status != SignupStatus.WAITLISTED:
        raise Conflict(_("That person is not on the waitlist any more."))
    if shift.spots_taken >= shift.capacity:
        raise ShiftFull(
            _("No spot is free. Raise the capacity or move someone to the waitlist first.")
        )
    confirm_waiting(shift, signup, now=now)
    return signup


def move_to_waitlist(signup: Signup, *, now: dt.datetime) -> Signup:
    """Move a confirmed person to the end of the waitlist, freeing their spot.

    Nobody is promoted into the freed spot automatically: a coordinator who moves someone back
    is usually making room for a particular person, and a silent promotion would take the spot
    first. Use "confirm" on the waitlist to fill it.
    """
    shift = lock_shift(signup.shift_id)
    db.session.refresh(signup)
    if signup.status != SignupStatus.CONFIRMED:
        raise Conflict(_("Only confirmed people who have not attended can be moved."))
    position = next_waitlist_position(shift.id)
    signup.status = SignupStatus.WAITLISTED
    signup.waitlist_position = position
    shift.spots_taken -= 1
    db.session.flush()
    return signup


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

    extra = {"sheet": attendance.sheet_code(shift)} if with_sheet_code else {}
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
