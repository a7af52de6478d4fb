"""What happened in the domain, announced so that packages above can react without the packages
below importing them (the way Indico's `core/signals` does).

A domain package sends a signal after it has changed the rows, inside the same transaction;
every receiver runs synchronously in that transaction and flushes, never commits. So a text
queued by `sms/listeners.py` is written in the same commit as the signup that caused it, or
not at all. Receivers are connected once, at app start (`web.register_listeners`).

The sender is the thing the signal is about (a Signup, a Shift, ...); everything else is a
keyword argument, always including `now`.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

signed_up = _signals.signal(
    "signed-up",
    doc="""A person joined a shift: sender is the Signup (confirmed or waitlisted); `shift`,
    `waitlist_rank` (None when confirmed), `by_coordinator` (a walk-in) and `now`.""",
)

spot_given = _signals.signal(
    "spot-given",
    doc="""A waiting person got a spot (promoted from the waitlist, automatically or by a
    coordinator): sender is the Signup; `shift` and `now`.""",
)

signup_cancelled = _signals.signal(
    "signup-cancelled",
    doc="""A person gave up their spot or waitlist place: sender is the Signup; `shift`,
    `now`.""",
)

shift_changed = _signals.signal(
    "shift-changed",
    doc="""A scheduled shift's time or place changed (already flushed): sender is the Shift;
    `now`.""",
)

shift_cancelled = _signals.signal(
    "shift-cancelled",
    doc="""A shift was cancelled (already flushed; its signups are left as they were): sender
    is the Shift; `now`.""",
)

hours_changed = _signals.signal(
    "hours-changed",
    doc="""An hours entry was credited, approved, rejected or corrected: sender is the
    HoursEntry; `now`.""",
)

outcome_recorded = _signals.signal(
    "outcome-recorded",
    doc="""An outcome record was added or voided: sender is the OutcomeRecord; `now`.""",
)

deleting_goal = _signals.signal(
    "deleting-goal",
    doc="""A goal (OutcomeMetric) is about to be deleted: sender is the metric. A receiver that
    knows a reason to keep it (impact: it has outcome records) raises a DomainError, which
    refuses the deletion.""",
)

invited = _signals.signal(
    "invited",
    doc="""A coordinator invited a person to a shift by text: sender is the Shift; `user`,
    `invited_by_id`, `link` (the one-tap link) and `now`.""",
)
