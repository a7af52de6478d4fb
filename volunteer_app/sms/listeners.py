"""The texts that the domain's events call for, queued in the outbox inside the transaction of
the change that caused them (core/signals runs receivers synchronously, before the commit).

Connected once at app start (`web.register_listeners`). Each receiver is safe to run twice:
the idempotency keys carry the change's instant.
"""

from __future__ import annotations

import datetime as dt

from volunteer_app.core import signals
from volunteer_app.shifts.models import Shift, Signup
from volunteer_app.sms import notices
from volunteer_app.sms.outbox import queue_sms, withdraw_signup_texts


def connect() -> None:
    signals.signed_up.connect(_signed_up)
    signals.spot_given.connect(_spot_given)
    signals.signup_cancelled.connect(_signup_cancelled)
    signals.shift_changed.connect(_shift_changed)
    signals.shift_cancelled.connect(_shift_cancelled)
    signals.invited.connect(_invited)


def _signed_up(
    signup: Signup,
    *,
    shift: Shift,
    waitlist_rank: int | None,
    by_coordinator: bool,
    now: dt.datetime,
    **_: object,
) -> None:
    """A confirmation, or the place in the waitlist. Walk-ins get neither: they are standing
    at the sign-in table."""
    if by_coordinator:
        return
    stamp = f"{now.timestamp():.0f}"
    if waitlist_rank is None:
        queue_sms(
            signup.user,
            "signup_confirmed",
            key=f"signup:{signup.id}:confirmed:{stamp}",
            now=now,
            shift=shift,
            shift_id=shift.id,
            signup_id=signup.id,
        )
        return
    queue_sms(
        signup.user,
        "signup_waitlisted",
        key=f"signup:{signup.id}:waitlisted:{stamp}",
        now=now,
        shift=shift,
        position=waitlist_rank,
        shift_id=shift.id,
        signup_id=signup.id,
    )


def _spot_given(signup: Signup, *, shift: Shift, now: dt.datetime, **_: object) -> None:
    """'A spot opened for you', while the shift is still ahead."""
    if shift.starts_at <= now:
        return
    queue_sms(
        signup.user,
        "waitlist_promoted",
        key=f"signup:{signup.id}:promoted:{now.timestamp():.0f}",
        now=now,
        shift=shift,
        shift_id=shift.id,
        signup_id=signup.id,
    )


def _signup_cancelled(signup: Signup, *, now: dt.datetime, **_: object) -> None:
    # Every text about the signup not sent yet goes now (a "you're on the waitlist" arriving
    # after the cancellation included), which also frees their keys for a later signup.
    withdraw_signup_texts(signup.id, now=now, reason="signup cancelled")


def _shift_changed(shift: Shift, *, now: dt.datetime, **_: object) -> None:
    notices.notify_shift_changed(shift, now=now)


def _shift_cancelled(shift: Shift, *, now: dt.datetime, **_: object) -> None:
    notices.notify_shift_cancelled(shift, now=now)


def _invited(
    shift: Shift,
    *,
    user,
    invited_by_id: int | None,
    link: str,
    now: dt.datetime,
    **_: object,
) -> None:
    notices.queue_invitation(user, shift, now, invited_by_id=invited_by_id, link=link)
