"""The signup state machine, and its one owner: signing up, walk-ins, the waitlist (promotion,
a coordinator's confirm and move back), cancelling, and recounting spots for data written
directly. This is the only module that writes `shifts.spots_taken`. Every path that puts a
person on a shift passes `check_eligible`. Reads are in queries.py.

What happened is announced on core/signals (signed_up, spot_given, signup_cancelled) inside
the same transaction; sms/ and matching/ listen (texts, invitations), so nothing here imports
a package above shifts.

Capacity: every change to who holds a spot happens while this transaction holds the shift's
row lock (`SELECT ... FOR NO KEY UPDATE` on PostgreSQL; on SQLite every transaction that may
write begins IMMEDIATE, so writers are serialised: see core/db.py), and `shifts.spots_taken` is
backed by a CHECK constraint, so two people can never take the last spot. Services flush and
never commit: the caller commits once.

Lock order, everywhere: shifts first (in id order), then people (in id order). Both are locked
FOR NO KEY UPDATE, which serialises the row's writers but not the inserts that merely refer to
it (a foreign key takes KEY SHARE): an inbound text, a signup or a queued message naming the
person or the shift never waits for, nor deadlocks against, these locks.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.accounts.services import check_birth_date
from volunteer_app.core import signals
from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts.models import (
    SPOT_HOLDING,
    Shift,
    ShiftStatus,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.shifts.queries import clashing_signup, signup_of, waitlist_rank


class ShiftUnavailable(DomainError):
    """The shift cannot be joined: cancelled, started, or its initiative is not published."""


class AlreadySignedUp(Conflict):
    pass


class ScheduleClash(Conflict):
    pass


class TooYoung(DomainError):
    pass


class CannotCancel(DomainError):
    pass


class ShiftFull(Conflict):
    pass


# ---------------------------------------------------------------------------------------------
# Locks


def lock_shift(shift_id: int) -> Shift:
    """Reload the shift holding its row lock until the transaction ends. Take it before any
    person's lock (see the module's docstring)."""
    shift = db.session.scalar(
        sa.select(Shift)
        .where(Shift.id == shift_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if shift is None:
        raise NotFound(_("That shift does not exist."))
    return shift


def lock_user(user_id: int) -> None:
    """Serialise one person's own signups (two tabs, two texts), so clash checks hold.

    FOR UPDATE would conflict with the KEY SHARE lock each of those texts took when its
    inbound row named the person, and two of them upgrading at once deadlock.
    """
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update(key_share=True))


# ---------------------------------------------------------------------------------------------
# Signing up


def check_shift_open(shift: Shift, *, now: dt.datetime) -> None:
    """Raise ShiftUnavailable unless anyone (of age) could join `shift` now."""
    if shift.status != ShiftStatus.SCHEDULED:
        raise ShiftUnavailable(_("This shift has been cancelled."))
    if shift.initiative.status != InitiativeStatus.PUBLISHED:
        raise ShiftUnavailable(_("This initiative is not taking signups."))
    if shift.starts_at <= now:
        raise ShiftUnavailable(_("This shift has already started."))


def shift_closed_reason(shift: Shift, *, now: dt.datetime) -> str | None:
    """Why nobody can join `shift` now, for pages to show instead of a button; None if open."""
    try:
        check_shift_open(shift, now=now)
    except ShiftUnavailable as refusal:
        return refusal.message
    return None


def check_eligible(
    person: User, shift: Shift, *, by_coordinator: bool = False, now: dt.datetime
) -> None:
    """The one check every path that puts a person on a shift passes (a signup by web or
    text, an invitation accepted, a walk-in, a coordinator's confirm from the waitlist).

    Volunteers join only scheduled shifts of published initiatives that have not started. A
    coordinator (`by_coordinator`) may also add people to a shift under way (that is when
    people walk in) or of an initiative not published, but never to a cancelled one. The
    minimum age holds for everyone: a person without a date of birth on file is refused too,
    with a message saying what to add. Later requirements (waivers, trainings) belong here.
    """
    if by_coordinator:
        if shift.status != ShiftStatus.SCHEDULED:
            raise ShiftUnavailable(_("This shift was cancelled."))
    else:
        check_shift_open(shift, now=now)
    _check_age(person, shift, by_coordinator=by_coordinator)


def _check_age(person: User, shift: Shift, *, by_coordinator: bool) -> None:
    initiative = shift.initiative
    if not initiative.minimum_age:
        return
    age = person.age_on(local(shift.starts_at, initiative.timezone).date())
    if age is None and by_coordinator:
        raise TooYoung(
            _(
                "Volunteers for this initiative must be at least %(age)s, and %(name)s has no "
                'birth date on file. Add them under "Someone new" with their phone number '
                "and birth date.",
                age=initiative.minimum_age,
                name=person.display_name,
            )
        )
    if age is None:
        raise TooYoung(
            _(
                "Volunteers for this initiative must be at least %(age)s. "
                "Add your date of birth to your profile to sign up.",
                age=initiative.minimum_age,
            )
        )
    if age < initiative.minimum_age:
        raise TooYoung(
            _(
                "Volunteers for this initiative must be at least %(age)s years old.",
                age=initiative.minimum_age,
            )
        )


@dataclass
class SignupResult:
    signup: Signup
    waitlisted: bool
    position: int | None = None


def signup_for_shift(
    user: User,
    shift: Shift,
    *,
    now: dt.datetime,
    source: SignupSource = SignupSource.WEB,
) -> SignupResult:
    """Put `user` on `shift`: confirmed while spots are left, else at the end of the waitlist.

    Refuses cancelled, started or unpublished shifts, people under the minimum age, a second
    signup for the same shift, and a shift that overlaps one the person is confirmed for.
    Queues a confirmation text, and counts a coordinator's invitation to the shift as accepted.
    """
    shift = lock_shift(shift.id)
    check_eligible(user, shift, now=now)
    lock_user(user.id)

    signup = signup_of(user, shift)
    if signup is not None and signup.status != SignupStatus.CANCELLED:
        if signup.status == SignupStatus.WAITLISTED:
            raise AlreadySignedUp(_("You are already on the waitlist for this shift."))
        raise AlreadySignedUp(_("You are already signed up for this shift."))

    clash = clashing_signup(user.id, shift)
    if clash is not None:
        raise ScheduleClash(
            _(
                "You are already signed up for %(title)s at that time (%(when)s).",
                title=clash.shift.initiative.title,
                when=local(clash.shift.starts_at, clash.shift.initiative.timezone).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            )
        )

    if signup is None:
        signup = Signup(shift_id=shift.id, user_id=user.id, created_at=now)
    signup.source = source
    signup.cancelled_at = None
    signup.checked_in_at = signup.checked_out_at = None

    if shift.spots_taken < shift.capacity:
        db.session.add(signup)
        signup.status = SignupStatus.CONFIRMED
        signup.waitlist_position = None
        signup.confirmed_at = now
        shift.spots_taken += 1
        db.session.flush()
        signals.signed_up.send(
            signup, shift=shift, waitlist_rank=None, by_coordinator=False, now=now
        )
        return SignupResult(signup, waitlisted=False)

    position = next_waitlist_position(shift.id)  # before the row changes: autoflush
    db.session.add(signup)
    signup.status = SignupStatus.WAITLISTED
    signup.waitlist_position = position
    db.session.flush()
    rank = waitlist_rank(signup)
    signals.signed_up.send(signup, shift=shift, waitlist_rank=rank, by_coordinator=False, now=now)
    return SignupResult(signup, waitlisted=True, position=rank)


def next_waitlist_position(shift_id: int) -> int:
    # Safe without a sequence: the caller holds the shift's row lock.
    highest = db.session.scalar(
        sa.select(sa.func.max(Signup.waitlist_position)).where(Signup.shift_id == shift_id)
    )
    return (highest or 0) + 1


# ---------------------------------------------------------------------------------------------
# Cancelling and the waitlist


def cancel_signup(signup: Signup, *, now: dt.datetime) -> list[Signup]:
    """Give up a spot (or a waitlist place). Frees the spot and promotes the waitlist.

    Returns the signups promoted from the waitlist.
    """
    shift = lock_shift(signup.shift_id)
    db.session.refresh(signup)
    if signup.status == SignupStatus.CANCELLED:
        return []
    if signup.status in (SignupStatus.ATTENDED, SignupStatus.NO_SHOW) or shift.starts_at <= now:
        raise CannotCancel(_("This shift has already started, so the signup cannot be cancelled."))
    if signup.status in SPOT_HOLDING:
        shift.spots_taken -= 1
    signup.status = SignupStatus.CANCELLED
    signup.waitlist_position = None
    signup.cancelled_at = now
    db.session.flush()
    signals.signup_cancelled.send(signup, shift=shift, now=now)
    return promote_waitlist(shift, now=now)


def promote_waitlist(shift: Shift, *, now: dt.datetime) -> list[Signup]:
    """Fill free spots from the waitlist, first come first served.

    The caller must hold the shift's row lock (see `lock_shift`). A person who has since
    confirmed another shift at the same time keeps their place but is passed over.
    """
    promoted: list[Signup] = []
    if shift.status != ShiftStatus.SCHEDULED or shift.starts_at <= now:
        return promoted
    waiting = db.session.scalars(
        sa.select(Signup)
        .where(Signup.shift_id == shift.id, Signup.status == SignupStatus.WAITLISTED)
        .order_by(Signup.waitlist_position)
        .options(joinedload(Signup.user))
    ).all()
    for signup in waiting:
        if shift.spots_taken >= shift.capacity:
            break
        if clashing_signup(signup.user_id, shift) is not None:
            continue
        confirm_waiting(shift, signup, now=now)
        promoted.append(signup)
    return promoted


def confirm_waiting(shift: Shift, signup: Signup, *, now: dt.datetime) -> None:
    """Give a waiting person one of the shift's free spots (spot_given: sms/ texts them that
    it opened, if the shift is still ahead).

    The caller holds the shift's row lock and has checked that a spot is free.
    """
    signup.status = SignupStatus.CONFIRMED
    signup.waitlist_position = None
    signup.confirmed_at = now
    shift.spots_taken += 1
    db.session.flush()
    signals.spot_given.send(signup, shift=shift, now=now)


# ---------------------------------------------------------------------------------------------
# A coordinator's moves: walk-ins, confirming from the waitlist, moving back to it

WHEN_FULL_CHOICES = ("raise", "waitlist")


def walk_in_person(
    name: str,
    raw_phone: str,
    *,
    agreed_to_texts: bool,
    now: dt.datetime,
    birth_date: dt.date | None = None,
) -> tuple[User, bool]:
    """The person behind a name and phone typed at the sign-in table: an existing account with
    that phone, or a new minimal one. Returns (person, created).

    Consent to texts is recorded only when the volunteer agreed in person (source "paper",
    current wording version); someone who once texted STOP is never re-subscribed here. A date
    of birth typed at the table is recorded for a person who has none on file; one already on
    file is never overwritten from the sign-in table.
    """
    name = name.strip()
    if not name:
        raise DomainError(_("Please give the volunteer's name."))
    try:
        phone = to_e164(raw_phone)
    except InvalidPhone as exc:
        raise DomainError(_("Please enter a valid phone number.")) from exc
    check_birth_date(birth_date, today=local(now, current_app.config["PROGRAM_TIMEZONE"]).date())
    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    created = person is None
    if person is None:
        person = User(name=name[:120], phone=phone, email=None, password_hash=None, created_at=now)
        db.session.add(person)
    if birth_date is not None and person.birth_date is None:
        person.birth_date = birth_date
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
    (`"waitlist"`); without a choice the walk-in is refused with ShiftFull. Walk-ins pass
    `check_eligible` as a coordinator's addition: allowed after the start (that is when people
    walk in) but not on a cancelled shift, and never under the minimum age. They get no
    confirmation text: they are standing at the table.
    """
    shift = lock_shift(shift.id)
    check_eligible(person, shift, by_coordinator=True, now=now)
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
            signals.signed_up.send(
                signup,
                shift=shift,
                waitlist_rank=waitlist_rank(signup),
                by_coordinator=True,
                now=now,
            )
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
    signals.signed_up.send(signup, shift=shift, waitlist_rank=None, by_coordinator=True, now=now)
    return WalkInResult(signup, waitlisted=False, capacity_raised=raised)


def add_new_walk_in(
    name: str,
    raw_phone: str,
    shift: Shift,
    *,
    agreed_to_texts: bool,
    now: dt.datetime,
    when_full: str | None = None,
    birth_date: dt.date | None = None,
) -> tuple[WalkInResult, User, bool]:
    """A walk-in typed in by name and phone (and a date of birth when the initiative has a
    minimum age): find or create the person (`walk_in_person`), then put them on the roster
    (`add_walk_in`). Returns (result, person, created)."""
    # The shift's lock before the person's row is written (consent): the order every signup
    # takes its locks in (see the module's docstring).
    lock_shift(shift.id)
    person, created = walk_in_person(
        name, raw_phone, agreed_to_texts=agreed_to_texts, now=now, birth_date=birth_date
    )
    return add_walk_in(person, shift, now=now, when_full=when_full), person, created


def confirm_from_waitlist(signup: Signup, *, now: dt.datetime) -> Signup:
    """Give a waiting person a free spot, ahead of the queue if the coordinator says so.

    Only into a free spot: to make room, raise the capacity or move someone to the waitlist
    first. The person gets the usual "a spot opened" text if the shift is still ahead.
    """
    shift = lock_shift(signup.shift_id)
    db.session.refresh(signup)
    check_eligible(signup.user, shift, by_coordinator=True, now=now)
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


# ---------------------------------------------------------------------------------------------
# Data written directly


def recount_spots(shift_ids: Iterable[int]) -> None:
    """Set each shift's `spots_taken` to the number of its spot-holding signups, for signups
    written directly rather than through this module (the demo seed).

    One UPDATE. `updated_at` is kept as it was (a recount is no change a person made, and the
    column's default would stamp the wall clock); the shifts' loaded rows are expired.
    """
    ids = sorted(set(shift_ids))
    if not ids:
        return
    db.session.flush()
    holding = (
        sa.select(sa.func.count())
        .select_from(Signup)
        .where(Signup.shift_id == Shift.id, Signup.status.in_(SPOT_HOLDING))
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Shift)
        .where(Shift.id.in_(ids))
        .values(spots_taken=holding, updated_at=Shift.updated_at)
        .execution_options(synchronize_session=False)
    )
    for shift in db.session.identity_map.values():
        if isinstance(shift, Shift) and shift.id in ids:
            db.session.expire(shift, ["spots_taken"])


def mark_attended(signup: Signup) -> None:
    """The person came (checked in, or marked present on the roster). Attended, like no-show,
    still holds its spot (SPOT_HOLDING), so `spots_taken` does not change."""
    if signup.status not in SPOT_HOLDING:
        raise ValueError(f"signup {signup.id} is {signup.status}, not on the shift")
    signup.status = SignupStatus.ATTENDED
    db.session.flush()


def mark_no_show(signup: Signup) -> None:
    """The person did not come; their spot stays taken (the shift has happened)."""
    if signup.status not in SPOT_HOLDING:
        raise ValueError(f"signup {signup.id} is {signup.status}, not on the shift")
    signup.status = SignupStatus.NO_SHOW
    db.session.flush()


# ---------------------------------------------------------------------------------------------
# Shift codes


def generate_shift_code() -> str:
    """A short numeric code people can text. Four digits while they last, then more."""
    for digits in (4, 4, 4, 5, 5, 6, 6, 7, 8):
        code = str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))
        if db.session.scalar(sa.select(Shift.id).where(Shift.code == code)) is None:
            return code
    raise RuntimeError("could not find a free shift code")
