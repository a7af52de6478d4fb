"""Role checks for views. Guessed ids answer 404, other people's things answer 403 or 404.

The checks on one feature's rows live with the feature (initiatives/access.py,
shifts/access.py): core imports no feature.
"""

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
