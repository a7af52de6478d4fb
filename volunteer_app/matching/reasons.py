"""Reasons in plain words, in the reader's language.

A resident reads about the shift ("Saturday morning · 1.2 mi away · uses your Spanish · you
care about the environment"); a coordinator reads about the person ("free Saturday mornings ·
1.2 mi away · speaks Spanish · cares about the environment").
"""

from __future__ import annotations

from babel.dates import get_day_names
from flask_babel import format_decimal, get_locale, ngettext
from flask_babel import gettext as _

from volunteer_app.matching import weights as W
from volunteer_app.matching.scoring import AFTERNOON, MORNING, REASON_RANK, Match, Reason

RESIDENT = "resident"
COORDINATOR = "coordinator"
SEPARATOR = " · "


def _day_name(weekday: int) -> str:
    return get_day_names("wide", locale=get_locale())[weekday]


def _when(weekday: int, part: int) -> str:
    day = _day_name(weekday)
    if part == MORNING:
        return _("%(day)s morning", day=day)
    if part == AFTERNOON:
        return _("%(day)s afternoon", day=day)
    return _("%(day)s evening", day=day)


def _free_when(weekday: int, part: int) -> str:
    day = _day_name(weekday)
    if part == MORNING:
        return _("free %(day)s mornings", day=day)
    if part == AFTERNOON:
        return _("free %(day)s afternoons", day=day)
    return _("free %(day)s evenings", day=day)


def _soon(days: float) -> str:
    if days < 1:
        return _("within a day")
    whole = int(days)
    return ngettext("in %(num)d day", "in %(num)d days", whole)


def _distance(miles: float) -> str:
    if miles < 0.1:
        return _("right nearby")
    return _("%(miles)s mi away", miles=format_decimal(round(miles, 1), format="#,##0.#"))


def describe(reason: Reason, audience: str = RESIDENT) -> str:  # noqa: C901, PLR0911, PLR0912 -- one phrase per kind of reason, read as a table
    """One reason as a short phrase."""
    kind, value = reason.kind, reason.value
    for_resident = audience == RESIDENT
    if kind == "time":
        weekday, part = value
        return _when(weekday, part) if for_resident else _free_when(weekday, part)
    if kind == "soon":
        return _soon(value)
    if kind == "distance":
        return _distance(value)
    if kind == "language":
        if for_resident:
            return _("uses your %(language)s", language=value)
        return _("speaks %(language)s", language=value)
    if kind == "skill":
        names = ", ".join(value)
        if for_resident:
            return _("uses your skills: %(skills)s", skills=names)
        return _("skills: %(skills)s", skills=names)
    if kind == "cause":
        if for_resident:
            return _("you care about %(cause)s", cause=value.lower())
        return _("cares about %(cause)s", cause=value.lower())
    if kind == "past_cause":
        if for_resident:
            return _("you have helped with %(cause)s before", cause=value.lower())
        return _("has helped with %(cause)s before", cause=value.lower())
    if kind == "effort":
        levels = {
            "light": _("light work"),
            "moderate": _("moderate work"),
            "heavy": _("heavy work"),
        }
        return levels.get(value, "")
    if kind == "needs_people":
        return ngettext("needs %(num)d more person", "needs %(num)d more people", value)
    if kind == "priority":
        return _("serves a priority neighborhood")
    if kind == "reliable":
        attended, served = value
        return _("came to %(attended)d of %(served)d shifts", attended=attended, served=served)
    return ""


# What a reader learns nothing from: every candidate for one shift shares the shift's own
# reasons (soon, needs people), and a resident knows their own record.
NOT_FOR = {
    RESIDENT: frozenset({"reliable"}),
    COORDINATOR: frozenset({"soon", "needs_people", "priority"}),
}


def shown_reasons(match: Match, audience: str = RESIDENT) -> list[Reason]:
    """The strongest few reasons that mean something to the reader, in reading order."""
    useful = [r for r in match.reasons if r.kind not in NOT_FOR.get(audience, frozenset())]
    strongest = sorted(useful, key=lambda r: -r.points)[: W.MAX_REASONS]
    return sorted(strongest, key=lambda r: REASON_RANK.get(r.kind, len(REASON_RANK)))


def reason_phrases(match: Match, audience: str = RESIDENT) -> list[str]:
    return [
        text for reason in shown_reasons(match, audience) if (text := describe(reason, audience))
    ]


def reason_line(match: Match, audience: str = RESIDENT) -> str:
    """All the reasons of a match on one line, joined by middle dots."""
    return SEPARATOR.join(reason_phrases(match, audience))
