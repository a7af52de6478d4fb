"""The queries that feed the matching score, set-based and in a fixed number of statements.

Two directions:
- `recommend_shifts` (in `recommend`): one resident against every upcoming shift (the home
  page, the list's "best match" sort, /me/recommendations);
- `rank_candidates` (in `candidates`): one shift against every volunteer who could be invited
  to it.

Both read plain tuples with Core selects (ORM objects for ten thousand shifts or fifty thousand
people would cost more than the scoring), turn them into the dataclasses scoring.py takes
(loaded in `features`), and load ORM objects only for the few results a page shows. Hard rules
that SQL can judge exactly (already on the shift, busy then, opted out, over the weekly
invitation cap, too young) are filtered in SQL as well, so fewer rows travel; scoring.py
applies them again.

The three modules are one unit: `recommend` and `candidates` share the table handles and
helpers of `features` (the underscored names), and callers use the names this package gives.
"""

from volunteer_app.matching.queries.candidates import (
    CANDIDATE_BATCH,
    Candidate,
    rank_candidates,
    short_name,
    textable,
)
from volunteer_app.matching.queries.features import (
    HORIZON_DAYS,
    Places,
    gc_paused,
    match_context,
    places,
    shift_features,
    upcoming_shift_features,
    volunteer_features,
)
from volunteer_app.matching.queries.recommend import (
    FIRST_PASS_SHIFTS,
    Recommendation,
    best_scores_by_initiative,
    recommend_shifts,
)

__all__ = [
    "CANDIDATE_BATCH",
    "FIRST_PASS_SHIFTS",
    "HORIZON_DAYS",
    "Candidate",
    "Places",
    "Recommendation",
    "best_scores_by_initiative",
    "gc_paused",
    "match_context",
    "places",
    "rank_candidates",
    "recommend_shifts",
    "shift_features",
    "short_name",
    "textable",
    "upcoming_shift_features",
    "volunteer_features",
]
