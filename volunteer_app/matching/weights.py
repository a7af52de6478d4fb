"""Every number the matching score uses, in one place, with the reason it is what it is.

Points are on one scale: a shift that fits a person well scores about 60 to 90, a neutral one
about 0 to 15, and one they told us does not suit them goes below zero. The biggest weights go
to what people themselves say decides whether they come (what the work is for, when it is,
how far away it is); what only the program cares about (urgency, equity) nudges the order
among shifts that fit, and never lifts a shift that does not fit above one that does.
"""

from __future__ import annotations

# --- What the person told us ----------------------------------------------------------------

# The cause is why people volunteer at all; the largest single signal.
CAUSE = 30.0

# Free at that time of the week. Time is the most common reason people give for not coming,
# so it weighs almost as much as the cause ...
AVAILABLE = 25.0
# ... and a time they left unticked counts against the shift, though less than a tick counts
# for it: people tick the grid loosely and often come at other times.
NOT_AVAILABLE = -15.0

# Distance: up to this many points for a shift next door, falling linearly to zero at the edge
# of how far the person said they would travel.
NEAR = 20.0
# Beyond that edge, up to this many points off (reached at twice the distance they would go):
# a shift out of reach should sink below any shift within reach.
TOO_FAR = -30.0
# When someone gave a place but no distance: what most people in a city will travel.
DEFAULT_TRAVEL_MILES = 5.0

# A language the shift needs and the person speaks: rarer and more valuable than a skill.
LANGUAGE = 12.0
# Languages nearly everyone here speaks say nothing about fit, so they never score.
COMMON_LANGUAGES = frozenset({"en"})

# Each skill the shift can use that the person offers, counted up to SKILLS_COUNTED.
SKILL = 6.0
SKILLS_COUNTED = 2

# Effort: a shift at the level someone asked for earns a little; each level harder than they
# asked for costs more, because a shift that is too hard is a shift people leave or get hurt on.
EFFORT_MATCH = 4.0
EFFORT_TOO_HARD = -12.0  # per level above the preference
EFFORT_LEVELS = {"light": 0, "moderate": 1, "heavy": 2}

# --- What the shift needs -------------------------------------------------------------------

# Empty spots on a shift that is close in time: a coordinator's most pressing problem. Scaled
# by the share of spots still open and by how close the shift is (full weight inside
# URGENT_DAYS, fading to nothing at CALM_DAYS).
URGENCY = 10.0
URGENT_DAYS = 3.0
CALM_DAYS = 21.0

# Sooner shifts first among equals: what someone with an empty profile sees ranks by this
# and by urgency. Fades to zero at SOON_DAYS.
SOON = 6.0
SOON_DAYS = 14.0

# A full shift still takes signups on its waitlist, so it is not excluded; but a place on a
# waitlist is a poor suggestion, so it sinks below shifts with spots left.
FULL = -25.0

# The program's equity lens (program setting `priority_neighborhood_boost`, off by default):
# enough to win a tie between similar shifts, not enough to outweigh the person's own choices.
PRIORITY_NEIGHBORHOOD = 8.0

# --- What the person did before -------------------------------------------------------------

# Having served this cause before: people come back to work they know.
PAST_CAUSE = 8.0

# Show-up reliability, for ranking candidates (every shift of one person gets the same
# amount, so a resident's own list is unchanged). The rate is smoothed as if everyone had
# attended once and missed once, so a newcomer sits at 0, a perfect record approaches
# +RELIABILITY and a poor one approaches -RELIABILITY.
RELIABILITY = 10.0
# A record earns the words "reliable" only with at least this many shifts and this rate.
RELIABLE_MIN_SHIFTS = 2
RELIABLE_MIN_RATE = 0.8

# --- Reasons shown --------------------------------------------------------------------------

# A recommendation lists at most this many reasons; more reads as noise.
MAX_REASONS = 4
