"""What matching does when the domain's events happen: a signup to a shift someone was invited
to counts the invitation as accepted. Runs inside the signup's transaction (core/signals);
connected once at app start (`web.register_listeners`)."""

from __future__ import annotations

import datetime as dt

from volunteer_app.core import signals
from volunteer_app.matching.invitations import mark_invitation_accepted
from volunteer_app.shifts.models import Shift, Signup


def connect() -> None:
    signals.signed_up.connect(_signed_up)


def _signed_up(
    signup: Signup, *, shift: Shift, by_coordinator: bool, now: dt.datetime, **_: object
) -> None:
    # A walk-in added by a coordinator is not an answer to an invitation.
    if not by_coordinator:
        mark_invitation_accepted(signup.user_id, shift.id, now=now)
