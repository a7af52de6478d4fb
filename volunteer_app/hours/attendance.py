"""Taking attendance on the day: a coordinator marking people present or absent, and people
checking themselves in and out (logged in, or by phone number with the code printed on the
sign-in sheet). Hours are credited through `hours.services`; a signup's status changes through
`shifts.services` (mark_attended / mark_no_show), its only owner.

Services flush and never commit.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.hours.services import (
    change_hours,
    check_in,
    check_in_window,
    check_out,
    credit_attendance,
)
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import SPOT_HOLDING, Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.shifts.services import lock_shift, mark_attended, mark_no_show, signup_of

# ---------------------------------------------------------------------------------------------
# Marking attendance on the roster

PRESENT = "present"
ABSENT = "absent"


@dataclass
class AttendanceResult:
    present: int = 0
    absent: int = 0


def attendance_opens_at(shift: Shift) -> dt.datetime:
    return check_in_window(shift)[0]


def mark_attendance(
    shift: Shift, marks: dict[int, str], *, by: User, now: dt.datetime
) -> AttendanceResult:
    """Mark people present or absent in one go, under the shift's row lock.

    Present: the signup is `attended` and hours are credited (the whole shift when nobody
    checked in; a mistaken rejection is approved again). Absent: `no_show`, and any hours
    already credited are rejected with a reason, never deleted. Marking again is allowed;
    every change of hours goes through the audit trail. Signups not marked are left alone.
    """
    shift = lock_shift(shift.id)
    if shift.status != ShiftStatus.SCHEDULED:
        raise DomainError(_("This shift was cancelled."))
    if now < attendance_opens_at(shift):
        raise DomainError(
            _(
                "Attendance can be taken from %(minutes)s minutes before the shift starts.",
                minutes=get_setting("check_in_opens_minutes"),
            )
        )
    if any(mark not in (PRESENT, ABSENT) for mark in marks.values()):
        raise DomainError(_("Please mark each person present or absent."))
    signups = db.session.scalars(
        sa.select(Signup)
        .where(
            Signup.shift_id == shift.id,
            Signup.id.in_(list(marks)),
            Signup.status.in_(SPOT_HOLDING),
        )
        .order_by(Signup.id)
    ).all()
    entries = {
        e.signup_id: e
        for e in db.session.scalars(
            sa.select(HoursEntry).where(HoursEntry.signup_id.in_([s.id for s in signups]))
        )
    }
    result = AttendanceResult()
    for signup in signups:
        if marks[signup.id] == PRESENT:
            signup.check_in_method = signup.check_in_method or "roster"
            mark_attended(signup)
            entry = credit_attendance(signup, now=now, by=by)
            if entry.status == HoursStatus.REJECTED:
                change_hours(
                    entry, by=by, reason=_("Marked present"), now=now, status=HoursStatus.APPROVED
                )
            result.present += 1
        else:
            mark_no_show(signup)
            recorded = entries.get(signup.id)
            if recorded is not None and recorded.status != HoursStatus.REJECTED:
                change_hours(
                    recorded, by=by, reason=_("Marked absent"), now=now, status=HoursStatus.REJECTED
                )
            result.absent += 1
    db.session.flush()
    return result


# ---------------------------------------------------------------------------------------------
# Self check-in


class CheckInRefused(DomainError):
    pass


class WrongNumber(CheckInRefused):
    """No matching signup for a typed phone number: what a guesser would see."""


def _wrong_number() -> WrongNumber:
    # One message for every miss, so the page never tells who is on the roster.
    return WrongNumber(
        _(
            "We could not find that phone number on this shift. Check the number, "
            "or ask the coordinator to check you in."
        )
    )


class WrongSheetCode(CheckInRefused):
    """The code from the sign-in sheet is missing or wrong: the phone number is not tried."""


# The sign-in sheet's code: 8 letters and digits (40 bits) that a person can type from paper.
SHEET_CODE_LENGTH = 8


def _sheet_code_with(key: str, shift: Shift) -> str:
    digest = hmac.new(key.encode(), f"check-in:{shift.id}:{shift.code}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode()[:SHEET_CODE_LENGTH]


def sheet_code(shift: Shift) -> str:
    """The code printed on the shift's sign-in sheet (and in its QR code), which checking in by
    phone number on one's own device needs: proof of standing at the sign-in table, so that
    nobody elsewhere can check in someone else by guessing their number. Derived from
    SECRET_KEY and the shift, so there is nothing to store, and a new SECRET_KEY (with the old
    one among SECRET_KEY_FALLBACKS for a while) makes new codes."""
    return _sheet_code_with(current_app.config["SECRET_KEY"], shift)


def display_sheet_code(shift: Shift) -> str:
    code = sheet_code(shift)
    return f"{code[:4]}-{code[4:]}"


def check_sheet_code(shift: Shift, typed: str | None) -> None:
    """Refuse unless `typed` is the shift's sign-in sheet code (spaces, dashes and case aside)."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", typed or "").upper()
    if not cleaned:
        raise WrongSheetCode(
            _(
                "Enter the code printed on the sign-in sheet, or scan its QR code. "
                "The coordinator can also check you in."
            )
        )
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    if not any(hmac.compare_digest(cleaned, _sheet_code_with(key, shift)) for key in keys):
        raise WrongSheetCode(
            _(
                "That is not the code on this shift's sign-in sheet. Check it, "
                "or ask the coordinator to check you in."
            )
        )


def check_in_page_state(shift: Shift, *, now: dt.datetime) -> str:
    """'cancelled', 'early', 'open' or 'ended': what the check-in page can offer now."""
    if shift.status != ShiftStatus.SCHEDULED:
        return "cancelled"
    opens, closes = check_in_window(shift)
    if now < opens:
        return "early"
    return "open" if now <= closes else "ended"


def _require_check_in_open(shift: Shift, *, now: dt.datetime) -> None:
    state = check_in_page_state(shift, now=now)
    if state == "cancelled":
        raise CheckInRefused(_("This shift was cancelled."))
    if state == "early":
        raise CheckInRefused(
            _(
                "Check-in opens %(minutes)s minutes before the shift starts.",
                minutes=get_setting("check_in_opens_minutes"),
            )
        )
    if state == "ended":
        raise CheckInRefused(_("This shift has ended, so check-in is closed."))


def _signup_by_phone(shift: Shift, raw_phone: str, statuses) -> Signup:
    try:
        phone = to_e164(raw_phone)
    except InvalidPhone as exc:
        raise CheckInRefused(_("Please enter a valid phone number.")) from exc
    signup = db.session.scalar(
        sa.select(Signup)
        .join(Signup.user)
        .where(Signup.shift_id == shift.id, User.phone == phone, Signup.status.in_(statuses))
        .options(joinedload(Signup.shift).joinedload(Shift.initiative))
    )
    if signup is None:
        raise _wrong_number()
    return signup


def check_in_by_phone(shift: Shift, raw_phone: str, *, now: dt.datetime) -> Signup:
    """Check in whoever holds a confirmed spot with this phone number. Every miss gets the same
    answer, and the window is checked first, so a closed window reveals nothing either."""
    _require_check_in_open(shift, now=now)
    signup = _signup_by_phone(shift, raw_phone, (SignupStatus.CONFIRMED, SignupStatus.ATTENDED))
    return check_in(signup, now=now, method="web")


def check_out_by_phone(shift: Shift, raw_phone: str, *, now: dt.datetime) -> HoursEntry:
    """'I'm leaving' for whoever checked in to this shift with this phone number."""
    signup = _signup_by_phone(shift, raw_phone, (SignupStatus.ATTENDED,))
    if signup.checked_in_at is None:
        raise _wrong_number()
    return check_out(signup, now=now, method="web")


def check_in_self(user: User, shift: Shift, *, now: dt.datetime) -> Signup:
    """One-button check-in for a logged-in volunteer."""
    _require_check_in_open(shift, now=now)
    signup = signup_of(user, shift)
    if signup is None or signup.status not in (SignupStatus.CONFIRMED, SignupStatus.ATTENDED):
        raise CheckInRefused(_("You do not have a confirmed spot on this shift."))
    return check_in(signup, now=now, method="web")


def check_out_self(user: User, shift: Shift, *, now: dt.datetime) -> HoursEntry:
    signup = signup_of(user, shift)
    if signup is None or signup.checked_in_at is None or signup.status != SignupStatus.ATTENDED:
        raise CheckInRefused(_("You have not checked in to this shift."))
    return check_out(signup, now=now, method="web")


def public_shift_by_code(code: str) -> Shift:
    """The shift behind a check-in code; draft initiatives' shifts do not exist to the public."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) > 8:
        raise NotFound(_("That shift does not exist."))
    shift = db.session.scalar(
        sa.select(Shift).where(Shift.code == code).options(joinedload(Shift.initiative))
    )
    if shift is None or shift.initiative.status == InitiativeStatus.DRAFT:
        raise NotFound(_("That shift does not exist."))
    return shift
