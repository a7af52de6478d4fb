"""Reading signups and shifts: who is on a shift, where they stand in the waitlist, a person's
own shifts, a shift by its public code. Nothing here writes; the writes are in services.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import NotFound
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.extensions import db

# "My shifts" shows the approved hours next to the shifts: a read of the hours table, the one
# place shifts looks up (import-linter lets this edge through; see pyproject.toml).
from volunteer_app.initiatives.access import can_see_drafts_of
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus


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
    ahead = db.session.execute(
        sa.select(sa.func.count())
        .select_from(Signup)
        .where(
            Signup.shift_id == signup.shift_id,
            Signup.status == SignupStatus.WAITLISTED,
            Signup.waitlist_position < signup.waitlist_position,
        )
    ).scalar_one()
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
    if shift.initiative.status == InitiativeStatus.DRAFT and not can_see_drafts_of(
        viewer, shift.initiative
    ):
        raise NotFound(_("That shift does not exist."))
    return shift


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


def roster_signup(shift: Shift, signup_id: int) -> Signup:
    """A signup of this shift; an id from any other shift answers NotFound."""
    signup = db.session.get(Signup, signup_id, options=[joinedload(Signup.user)])
    if signup is None or signup.shift_id != shift.id:
        raise NotFound(_("That person is not on this shift's roster."))
    return signup


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


def shift_by_code(code: str) -> Shift | None:
    return db.session.scalar(
        sa.select(Shift).where(Shift.code == code.strip()).options(joinedload(Shift.initiative))
    )
