"""A week of invitations to shifts ahead, as matching sends them."""

from __future__ import annotations

import datetime as dt

from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.seed.city.plan import CityPlan


def plan_invitations(plan: CityPlan) -> None:
    """A week of invitations to shifts ahead, from a coordinator of each, to people not on
    them (at most one per person and shift); most unanswered, some declined."""
    rng, now = plan.rng, plan.now
    next_id = plan.next_id(Invitation)
    taken = {(signup["shift_id"], signup["user_id"]) for signup in plan.signups}
    ahead = [
        shift
        for shift in plan.shifts
        if shift.row["starts_at"] > now
        and shift.row["cancelled_at"] is None
        and shift.initiative.status == InitiativeStatus.PUBLISHED
    ]
    reachable = [p for p in plan.people if p.can_text or p.has_email]
    if not ahead or not reachable:
        return
    for _ in range(plan.size["invitations"]):
        shift, person = rng.choice(ahead), rng.choice(reachable)
        key = (shift.row["id"], person.id)
        sent_at = now - dt.timedelta(days=rng.uniform(0, 7))
        if key in taken or sent_at <= person.created_at:
            continue
        taken.add(key)
        declined = rng.random() < 0.1
        plan.invitations.append(
            {
                "id": next_id,
                "shift_id": key[0],
                "user_id": key[1],
                "invited_by_id": plan.coordinator_of[shift.initiative.organization_id],
                "channel": "sms" if person.can_text else "email",
                "status": InvitationStatus.DECLINED if declined else InvitationStatus.SENT,
                "sent_at": sent_at,
                "responded_at": (
                    min(sent_at + dt.timedelta(hours=rng.uniform(0.1, 30)), now)
                    if declined
                    else None
                ),
            }
        )
        next_id += 1
