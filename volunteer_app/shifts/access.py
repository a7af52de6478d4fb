"""Who may manage a shift, for views. Guessed ids answer 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from volunteer_app.core.auth import can_manage_organization
from volunteer_app.extensions import db
from volunteer_app.shifts.models import Shift


def require_shift(shift_id: int) -> Shift:
    """The shift, if the current user may manage its initiative; 404 otherwise."""
    shift = db.session.get(Shift, shift_id, options=[joinedload(Shift.initiative)])
    if shift is None or not can_manage_organization(current_user, shift.initiative.organization_id):
        abort(404)
    return shift
