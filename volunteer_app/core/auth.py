"""Role checks for views. Guessed ids answer 404, other people's things answer 403 or 404."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def coordinator_required(view):
    """Coordinators of at least one organization, and admins."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not (current_user.is_admin or current_user.is_coordinator):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def manageable_organization_ids(user) -> set[int] | None:
    """Organizations whose initiatives `user` may manage; None means all (an admin)."""
    if user.is_admin:
        return None
    return user.organization_ids


def can_manage_organization(user, organization_id: int) -> bool:
    allowed = manageable_organization_ids(user)
    return allowed is None or organization_id in allowed


def require_initiative(initiative_id: int):
    """The initiative, if the current user may manage it; 404 otherwise (an id from another
    organization is indistinguishable from one that does not exist)."""
    from volunteer_app.extensions import db
    from volunteer_app.initiatives.models import Initiative

    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not can_manage_organization(current_user, initiative.organization_id):
        abort(404)
    return initiative


def require_shift(shift_id: int):
    """The shift, if the current user may manage its initiative; 404 otherwise."""
    from sqlalchemy.orm import joinedload

    from volunteer_app.extensions import db
    from volunteer_app.shifts.models import Shift

    shift = db.session.get(Shift, shift_id, options=[joinedload(Shift.initiative)])
    if shift is None or not can_manage_organization(current_user, shift.initiative.organization_id):
        abort(404)
    return shift
