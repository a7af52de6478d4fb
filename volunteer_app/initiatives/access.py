"""Who may manage or see an initiative, for views and services. Guessed ids answer 404."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from volunteer_app.accounts.models import User
from volunteer_app.core.auth import can_manage_organization
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative


def require_initiative(initiative_id: int) -> Initiative:
    """The initiative, if the current user may manage it; 404 otherwise (an id from another
    organization is indistinguishable from one that does not exist)."""
    initiative = db.session.get(Initiative, initiative_id)
    if initiative is None or not can_manage_organization(current_user, initiative.organization_id):
        abort(404)
    return initiative


def can_see_drafts_of(viewer: User | None, initiative: Initiative) -> bool:
    """Draft initiatives (and their shifts) exist only for admins and their coordinators."""
    return viewer is not None and can_manage_organization(viewer, initiative.organization_id)
