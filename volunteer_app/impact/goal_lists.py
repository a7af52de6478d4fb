"""Goals at a glance, for dashboards too big to list every goal: how many goals stand in each
pace state, and which goals need attention first. Pure functions over `reports.GoalRow`s; the
goals themselves come from `reports.goal_rows`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from volunteer_app.impact.outcomes import PaceState
from volunteer_app.impact.reports import GoalRow

# Most urgent first: a deadline already missed, then deadlines still ahead, then goals nobody
# can fall behind on, then goals already met.
_ATTENTION_RANK = {
    PaceState.MISSED: 0,
    PaceState.ON_PACE: 1,
    PaceState.NO_DEADLINE: 2,
    PaceState.MET: 3,
}


@dataclass(frozen=True)
class GoalStates:
    """How many goals stand in each pace state."""

    met: int = 0
    on_pace: int = 0
    missed: int = 0
    no_deadline: int = 0

    @property
    def total(self) -> int:
        return self.met + self.on_pace + self.missed + self.no_deadline


def goal_states(goals: Iterable[GoalRow]) -> GoalStates:
    """Count the goals by the state of their pace (`PaceState`)."""
    counts = dict.fromkeys(PaceState, 0)
    for goal in goals:
        counts[PaceState(goal.pace.state)] += 1
    return GoalStates(
        met=counts[PaceState.MET],
        on_pace=counts[PaceState.ON_PACE],
        missed=counts[PaceState.MISSED],
        no_deadline=counts[PaceState.NO_DEADLINE],
    )


def _attention_key(goal: GoalRow) -> tuple[int, int, str]:
    state = PaceState(goal.pace.state)
    deadline = 0
    if goal.deadline_on is not None:  # every missed or on-pace goal has one
        if state == PaceState.MISSED:
            deadline = -goal.deadline_on.toordinal()  # the most recently missed first
        elif state == PaceState.ON_PACE:
            deadline = goal.deadline_on.toordinal()  # the nearest deadline first
    return _ATTENTION_RANK[state], deadline, goal.initiative_title.casefold()


def goals_needing_attention(goals: Sequence[GoalRow], limit: int) -> list[GoalRow]:
    """The `limit` goals that most need attention, most urgent first.

    First the goals whose deadline passed short of their target (the most recent deadline
    first), then open goals with a deadline ahead (the nearest first), then open goals with no
    deadline, then the goals already reached. Ties go by initiative title, then keep the order
    of `goals` (the sort is stable), so the same goals always come out in the same order.
    """
    return sorted(goals, key=_attention_key)[:limit]
