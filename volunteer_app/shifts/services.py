"""Signing up, the waitlist and cancelling: the rules that keep a shift's roster right.

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
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.auth import can_manage_organization
from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.shifts.models import (
    SPOT_HOLDING,
    Shift,
    ShiftStatus,
    Signup,
    SignupSource,
    SignupStatus,
)
from volunteer_app.sms.outbox import queue_sms, withdraw_signup_texts


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
# Queries


def clashing_signup(user_id: int, shift: Shift) -> Signup | None:
    """A spot-holding signup of this person on another live shift that overlaps `shift`."""
    return db.session.scalar(
        sa.select(Signup)
        .join(Signup.shift)
        .where(
            Signup.user_id == user_id,
            Signup.shift_id != shift.id,
            Signup.status == SignupStatus.CONFIRMED,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.starts_at < shift.ends_at,
            Shift.ends_at > shift.starts_at,
        )
        .options(joinedload(Signup.shift).joinedload(Shift.initiative))
        .limit(1)
    )


def waitlist_rank(signup: Signup) -> int | None:
    """1 for the first person waiting, and so on; None for someone not waiting."""
    if signup.status != SignupStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Signup)
        .where(
            Signup.shift_id == signup.shift_id,
            Signup.status == SignupStatus.WAITLISTED,
            Signup.waitlist_position < signup.waitlist_position,
        )
    )
    return ahead + 1


def waitlist_ranks(signups: list[Signup]) -> dict[int, int]:
    """`waitlist_rank` for many signups in one query: {signup id: rank} for those waiting."""
    waiting_ids = [s.id for s in signups if s.status == SignupStatus.WAITLISTED]
    if not waiting_ids:
        return {}
    ahead = aliased(Signup)
    rows = db.session.execute(
        sa.select(Signup.id, sa.func.count(ahead.id))
        .join(
            ahead,
            sa.and_(
                ahead.shift_id == Signup.shift_id,
                ahead.status == SignupStatus.WAITLISTED,
                ahead.waitlist_position <= Signup.waitlist_position,
            ),
        )
        .where(Signup.id.in_(waiting_ids))
        .group_by(Signup.id)
    )
    return {signup_id: rank for signup_id, rank in rows}


def visible_shift(shift_id: int, viewer: User | None) -> Shift:
    """A shift with its initiative and organization, as `viewer` may see it.

    Shifts of draft initiatives exist only for admins and the organization's coordinators;
    everyone else gets NotFound, as for an id that was never used.
    """
    shift = db.session.scalar(
        sa.select(Shift)
        .where(Shift.id == shift_id)
        .options(joinedload(Shift.initiative).joinedload(Initiative.organization))
    )
    if shift is None:
        raise NotFound(_("That shift does not exist."))
    if shift.initiative.status == InitiativeStatus.DRAFT and not _may_see_drafts_of(
        viewer, shift.initiative
    ):
        raise NotFound(_("That shift does not exist."))
    return shift


def _may_see_drafts_of(viewer: User | None, initiative: Initiative) -> bool:
    return viewer is not None and can_manage_organization(viewer, initiative.organization_id)


def find_signup(signup_id: int, user: User) -> Signup:
    """The user's own signup; anyone else's id answers as if it did not exist."""
    signup = db.session.get(Signup, signup_id)
    if signup is None or signup.user_id != user.id:
        raise NotFound(_("We could not find that signup."))
    return signup


def signup_of(user: User, shift: Shift) -> Signup | None:
    return db.session.scalar(
        sa.select(Signup).where(Signup.shift_id == shift.id, Signup.user_id == user.id)
    )


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


def check_can_join(user: User, shift: Shift, *, now: dt.datetime) -> None:
    initiative = shift.initiative
    check_shift_open(shift, now=now)
    if initiative.minimum_age:
        shift_day = local(shift.starts_at, initiative.timezone).date()
        age = user.age_on(shift_day)
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
    check_can_join(user, shift, now=now)
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
        _invitation_accepted(user, shift, now=now)
        queue_sms(
            user,
            "signup_confirmed",
            key=f"signup:{signup.id}:confirmed:{now.timestamp():.0f}",
            now=now,
            shift=shift,
            shift_id=shift.id,
            signup_id=signup.id,
        )
        return SignupResult(signup, waitlisted=False)

    position = next_waitlist_position(shift.id)  # before the row changes: autoflush
    db.session.add(signup)
    signup.status = SignupStatus.WAITLISTED
    signup.waitlist_position = position
    db.session.flush()
    _invitation_accepted(user, shift, now=now)
    position = waitlist_rank(signup)
    queue_sms(
        user,
        "signup_waitlisted",
        key=f"signup:{signup.id}:waitlisted:{now.timestamp():.0f}",
        now=now,
        shift=shift,
        position=position,
        shift_id=shift.id,
        signup_id=signup.id,
    )
    return SignupResult(signup, waitlisted=True, position=position)


def _invitation_accepted(user: User, shift: Shift, *, now: dt.datetime) -> None:
    """A coordinator's invitation to this shift, if there was one, counts as accepted."""
    from volunteer_app.matching.services import mark_invitation_accepted

    mark_invitation_accepted(user.id, shift.id, now=now)


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
    # Every text about the signup not sent yet goes now (a "you're on the waitlist" arriving
    # after the cancellation included), which also frees their keys for a later signup.
    withdraw_signup_texts(signup.id, now=now, reason="signup cancelled")
    db.session.flush()
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
    """Give a waiting person one of the shift's free spots and text them that it opened.

    The caller holds the shift's row lock and has checked that a spot is free.
    """
    signup.status = SignupStatus.CONFIRMED
    signup.waitlist_position = None
    signup.confirmed_at = now
    shift.spots_taken += 1
    db.session.flush()
    if shift.starts_at > now:
        queue_sms(
            signup.user,
            "waitlist_promoted",
            key=f"signup:{signup.id}:promoted:{now.timestamp():.0f}",
            now=now,
            shift=shift,
            shift_id=shift.id,
            signup_id=signup.id,
        )


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


def shift_by_code(code: str) -> Shift | None:
    return db.session.scalar(
        sa.select(Shift).where(Shift.code == code.strip()).options(joinedload(Shift.initiative))
    )


# ---------------------------------------------------------------------------------------------
# A volunteer's own shifts


@dataclass
class MyShifts:
    upcoming: list[Signup]
    past: list[Signup]
    approved_minutes: int
    # Signup id -> place in its shift's waitlist, for the waitlisted signups.
    waitlist_ranks: dict[int, int] = field(default_factory=dict)


def my_shifts(user: User, *, now: dt.datetime) -> MyShifts:
    """Everything 'My shifts' shows, in three queries whatever the history's length."""
    from volunteer_app.hours.models import HoursEntry, HoursStatus

    signups = db.session.scalars(
        sa.select(Signup)
        .join(Signup.shift)
        .where(Signup.user_id == user.id)
        .order_by(Shift.starts_at)
        .options(
            joinedload(Signup.shift)
            .joinedload(Shift.initiative)
            .joinedload(Initiative.organization)
        )
    ).all()
    upcoming = [
        s
        for s in signups
        if s.shift.ends_at > now and s.status in (SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)
    ]
    upcoming_ids = {s.id for s in upcoming}
    past = [s for s in reversed(signups) if s.id not in upcoming_ids]
    minutes = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(HoursEntry.minutes), 0)).where(
            HoursEntry.user_id == user.id, HoursEntry.status == HoursStatus.APPROVED
        )
    )
    return MyShifts(
        upcoming=upcoming,
        past=past,
        approved_minutes=int(minutes),
        waitlist_ranks=waitlist_ranks(upcoming),
    )
