"""Running a shift on the day: who is on the roster, attendance, self check-in, outcome values,
the coordinators' hours queue, and the roster's CSV export and QR code.

Walk-ins and moves between the waitlist and confirmed spots are signup changes, owned by
shifts/services (the only writer of `spots_taken`); the roster's views call it directly.
Services flush and never commit.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field

import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.auth import can_manage_organization, manageable_organization_ids
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.phone import InvalidPhone, display, to_e164
from volunteer_app.core.spreadsheet import csv_bytes
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.hours import services as hours
from volunteer_app.hours.models import HoursEntry, HoursStatus
from volunteer_app.impact import services as impact
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.initiatives.models import Initiative, OutcomeMetric
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import (
    SPOT_HOLDING,
    Shift,
    ShiftStatus,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.shifts.queries import signup_of
from volunteer_app.shifts.services import lock_shift
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
# Attendance

PRESENT = "present"
ABSENT = "absent"


@dataclass
class AttendanceResult:
    present: int = 0
    absent: int = 0


def attendance_opens_at(shift: Shift) -> dt.datetime:
    return hours.check_in_window(shift)[0]


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
            signup.status = SignupStatus.ATTENDED
            signup.check_in_method = signup.check_in_method or "roster"
            db.session.flush()
            entry = hours.credit_attendance(signup, now=now, by=by)
            if entry.status == HoursStatus.REJECTED:
                hours.change_hours(
                    entry, by=by, reason=_("Marked present"), now=now, status=HoursStatus.APPROVED
                )
            result.present += 1
        else:
            signup.status = SignupStatus.NO_SHOW
            entry = entries.get(signup.id)
            if entry is not None and entry.status != HoursStatus.REJECTED:
                hours.change_hours(
                    entry, by=by, reason=_("Marked absent"), now=now, status=HoursStatus.REJECTED
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
    opens, closes = hours.check_in_window(shift)
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
    return hours.check_in(signup, now=now, method="web")


def check_out_by_phone(shift: Shift, raw_phone: str, *, now: dt.datetime) -> HoursEntry:
    """'I'm leaving' for whoever checked in to this shift with this phone number."""
    signup = _signup_by_phone(shift, raw_phone, (SignupStatus.ATTENDED,))
    if signup.checked_in_at is None:
        raise _wrong_number()
    return hours.check_out(signup, now=now, method="web")


def check_in_self(user: User, shift: Shift, *, now: dt.datetime) -> Signup:
    """One-button check-in for a logged-in volunteer."""
    _require_check_in_open(shift, now=now)
    signup = signup_of(user, shift)
    if signup is None or signup.status not in (SignupStatus.CONFIRMED, SignupStatus.ATTENDED):
        raise CheckInRefused(_("You do not have a confirmed spot on this shift."))
    return hours.check_in(signup, now=now, method="web")


def check_out_self(user: User, shift: Shift, *, now: dt.datetime) -> HoursEntry:
    signup = signup_of(user, shift)
    if signup is None or signup.checked_in_at is None or signup.status != SignupStatus.ATTENDED:
        raise CheckInRefused(_("You have not checked in to this shift."))
    return hours.check_out(signup, now=now, method="web")


def public_shift_by_code(code: str) -> Shift:
    """The shift behind a check-in code; draft initiatives' shifts do not exist to the public."""
    from volunteer_app.initiatives.models import InitiativeStatus

    code = (code or "").strip()
    if not code.isdigit() or len(code) > 8:
        raise NotFound(_("That shift does not exist."))
    shift = db.session.scalar(
        sa.select(Shift).where(Shift.code == code).options(joinedload(Shift.initiative))
    )
    if shift is None or shift.initiative.status == InitiativeStatus.DRAFT:
        raise NotFound(_("That shift does not exist."))
    return shift


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

    extra = {"sheet": sheet_code(shift)} if with_sheet_code else {}
    return current_app.config["PUBLIC_BASE_URL"] + url_for(
        "roster.checkin", code=shift.code, **extra
    )


# ---------------------------------------------------------------------------------------------
# Outcome values


def shift_outcome_records(shift: Shift) -> list[OutcomeRecord]:
    """The standing (not voided) outcome records of a shift, with their metrics and authors."""
    return list(
        db.session.scalars(
            sa.select(OutcomeRecord)
            .where(OutcomeRecord.shift_id == shift.id, OutcomeRecord.voided_at.is_(None))
            .order_by(OutcomeRecord.recorded_at, OutcomeRecord.id)
            .options(joinedload(OutcomeRecord.recorded_by))
        )
    )


def shift_metrics(shift: Shift) -> list[OutcomeMetric]:
    return list(
        db.session.scalars(
            sa.select(OutcomeMetric)
            .where(OutcomeMetric.initiative_id == shift.initiative_id)
            .order_by(OutcomeMetric.position, OutcomeMetric.id)
        )
    )


def record_shift_outcomes(
    shift: Shift, values: dict[int, str], *, by: User, now: dt.datetime
) -> int:
    """Record what a finished shift achieved, one value per metric (blank ones skipped).

    A value typed again on the roster replaces the earlier roster value of the same metric for
    this shift: the old record is voided with a reason and a new one added, so totals never
    count a correction twice and nothing is deleted. Values texted in by volunteers stay.
    Returns how many values were recorded.
    """
    if shift.ends_at > now:
        raise DomainError(_("Outcomes can be recorded once the shift has ended."))
    metrics = {m.id: m for m in shift_metrics(shift)}
    parsed: dict[int, decimal.Decimal] = {}
    for metric_id, raw in values.items():
        if raw is None or not str(raw).strip():
            continue
        if metric_id not in metrics:
            raise NotFound(_("That measure belongs to another initiative."))
        parsed[metric_id] = impact.parse_value(raw)
    standing: dict[int, list[OutcomeRecord]] = {}
    for record in shift_outcome_records(shift):
        if record.source == OutcomeSource.WEB:
            standing.setdefault(record.metric_id, []).append(record)
    recorded = 0
    for metric_id, value in parsed.items():
        earlier = standing.get(metric_id, [])
        if len(earlier) == 1 and earlier[0].value == value:
            continue
        for record in earlier:
            impact.void_outcome(record, by=by, reason=_("Replaced by a corrected value"), now=now)
        impact.record_outcome(
            metrics[metric_id], value, now=now, source=OutcomeSource.WEB, by=by, shift=shift
        )
        recorded += 1
    return recorded


def record_partner_report(
    initiative: Initiative,
    metric_id: int,
    value: str,
    *,
    period_start_on: dt.date,
    period_end_on: dt.date,
    note: str,
    by: User,
    now: dt.datetime,
) -> OutcomeRecord:
    """A value reported for a date range (a partner's monthly count, a survey)."""
    metric = db.session.get(OutcomeMetric, metric_id)
    if metric is None or metric.initiative_id != initiative.id:
        raise NotFound(_("That measure belongs to another initiative."))
    today = local(now, initiative.timezone).date()
    if period_end_on > today:
        raise DomainError(_("The period cannot end in the future."))
    return impact.record_outcome(
        metric,
        value,
        now=now,
        source=OutcomeSource.PARTNER_REPORT,
        by=by,
        period_start_on=period_start_on,
        period_end_on=period_end_on,
        note=note.strip(),
    )


@dataclass
class OutcomeListing:
    records: list[OutcomeRecord]
    voided_by: dict[int, User]


def initiative_outcome_records(initiative: Initiative) -> OutcomeListing:
    """Every outcome record of an initiative, voided ones included, newest first."""
    records = list(
        db.session.scalars(
            sa.select(OutcomeRecord)
            .join(OutcomeRecord.metric)
            .where(OutcomeMetric.initiative_id == initiative.id)
            .order_by(OutcomeRecord.recorded_at.desc(), OutcomeRecord.id.desc())
            .options(
                joinedload(OutcomeRecord.metric),
                joinedload(OutcomeRecord.recorded_by),
                joinedload(OutcomeRecord.shift),
            )
        )
    )
    voider_ids = {r.voided_by_id for r in records if r.voided_by_id}
    voided_by = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(voider_ids)))}
        if voider_ids
        else {}
    )
    return OutcomeListing(records=records, voided_by=voided_by)


def manageable_outcome_record(record_id: int, user: User) -> OutcomeRecord:
    """An outcome record the user may manage; anything else answers NotFound."""
    record = db.session.get(
        OutcomeRecord,
        record_id,
        options=[joinedload(OutcomeRecord.metric).joinedload(OutcomeMetric.initiative)],
    )
    if record is None or not can_manage_organization(
        user, record.metric.initiative.organization_id
    ):
        raise NotFound(_("We could not find that record."))
    return record


# ---------------------------------------------------------------------------------------------
# The coordinators' hours queue


def pending_hours(user: User) -> list[HoursEntry]:
    """Entries waiting for approval in the initiatives `user` manages, oldest service first."""
    query = (
        sa.select(HoursEntry)
        .join(HoursEntry.initiative)
        .where(HoursEntry.status == HoursStatus.PENDING)
        .order_by(HoursEntry.served_on, HoursEntry.id)
        .options(joinedload(HoursEntry.user), joinedload(HoursEntry.initiative))
    )
    allowed = manageable_organization_ids(user)
    if allowed is not None:
        query = query.where(Initiative.organization_id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


def manageable_hours_entries(user: User, entry_ids: list[int]) -> list[HoursEntry]:
    """The entries among `entry_ids` that `user` may review; others are silently left out."""
    if not entry_ids:
        return []
    query = sa.select(HoursEntry).join(HoursEntry.initiative).where(HoursEntry.id.in_(entry_ids))
    allowed = manageable_organization_ids(user)
    if allowed is not None:
        query = query.where(Initiative.organization_id.in_(allowed or [-1]))
    return list(db.session.scalars(query))


def manageable_hours_entry(entry_id: int, user: User) -> HoursEntry:
    entry = db.session.get(
        HoursEntry,
        entry_id,
        options=[joinedload(HoursEntry.initiative), joinedload(HoursEntry.user)],
    )
    if entry is None or not can_manage_organization(user, entry.initiative.organization_id):
        raise NotFound(_("We could not find that entry."))
    return entry


def published_initiatives_for_report(user: User) -> tuple[list[Initiative], list[Initiative]]:
    """(initiatives the person has served, other published ones), each by title."""
    from volunteer_app.initiatives.models import InitiativeStatus

    published = list(
        db.session.scalars(
            sa.select(Initiative)
            .where(Initiative.status == InitiativeStatus.PUBLISHED)
            .order_by(Initiative.title)
        )
    )
    served_ids = set(
        db.session.scalars(
            sa.select(Shift.initiative_id)
            .join(Signup, Signup.shift_id == Shift.id)
            .where(Signup.user_id == user.id, Signup.status == SignupStatus.ATTENDED)
            .union(sa.select(HoursEntry.initiative_id).where(HoursEntry.user_id == user.id))
        )
    )
    served = [i for i in published if i.id in served_ids]
    others = [i for i in published if i.id not in served_ids]
    return served, others


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
