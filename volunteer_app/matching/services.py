"""Matching services: recommendations, Find your fit, and the equity setting (inviting
people to a shift is in matching/invitations.py).

Services flush and never commit; the view commits once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from volunteer_app.accounts.models import User
from volunteer_app.accounts.services import (
    MAX_TRAVEL_MILES,
    ZIP_CODE_RE,
    FieldError,
    availability_mask,
    availability_slots,
)
from volunteer_app.extensions import db
from volunteer_app.matching import queries
from volunteer_app.reference.models import Cause, Neighborhood
from volunteer_app.reference.settings import get_setting, set_setting

HOME_RECOMMENDATIONS = 3
PAGE_RECOMMENDATIONS = 12


# ---------------------------------------------------------------------------------------------
# Recommendations


def recommendations_for(
    user: User, *, now: dt.datetime, limit: int, per_initiative: int | None = 2
) -> list:
    """The shifts that fit `user` best, with reasons (queries.Recommendation); at most
    `per_initiative` dates of one initiative while other initiatives fit too."""
    return queries.recommend_shifts(user.id, now=now, limit=limit, per_initiative=per_initiative)


@dataclass
class HomeSuggestions:
    """What the home page's "Recommended for you" shows."""

    items: list
    onboarded: bool


def home_suggestions(user, *, now: dt.datetime) -> HomeSuggestions | None:
    """Top suggestions for a logged-in person; None for visitors."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return HomeSuggestions(
        items=recommendations_for(user, now=now, limit=HOME_RECOMMENDATIONS, per_initiative=1),
        onboarded=user.onboarded_at is not None,
    )


def initiative_order(user: User, *, now: dt.datetime) -> dict[int, float]:
    """Each initiative's best match score for `user`, for the list's "best match" sort."""
    return queries.best_scores_by_initiative(user.id, now=now)


# ---------------------------------------------------------------------------------------------
# Find your fit


@dataclass
class FitAnswers:
    """The three questions: what you care about, when you are free, where you are."""

    cause_ids: list[int] = field(default_factory=list)
    # (weekday, part of day), Monday = 0; parts are morning, afternoon, evening.
    availability: set[tuple[int, int]] = field(default_factory=set)
    neighborhood_id: int | None = None
    zip_code: str | None = None
    travel_miles: float | None = None


def fit_answers_of(user: User) -> FitAnswers:
    return FitAnswers(
        cause_ids=[cause.id for cause in user.causes],
        availability=availability_slots(user.availability_mask),
        neighborhood_id=user.neighborhood_id,
        zip_code=user.zip_code,
        travel_miles=user.travel_miles,
    )


@dataclass
class FitChoices:
    causes: list[Cause]
    neighborhoods: list[Neighborhood]


def fit_choices() -> FitChoices:
    return FitChoices(
        causes=list(db.session.scalars(sa.select(Cause).order_by(Cause.name))),
        neighborhoods=list(db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name))),
    )


def save_fit(user: User, answers: FitAnswers, *, now: dt.datetime) -> User:
    """Save the answers to the three questions into the profile and mark `user` onboarded.

    Only the fields the questions ask about change; the rest of the profile stays as it was.
    """
    causes = []
    if answers.cause_ids:
        wanted = set(answers.cause_ids)
        causes = list(db.session.scalars(sa.select(Cause).where(Cause.id.in_(wanted))))
        if len(causes) != len(wanted):
            raise FieldError(
                "causes", _("One of the choices is no longer available. Please retry.")
            )
    mask = availability_mask(answers.availability)
    neighborhood = None
    if answers.neighborhood_id is not None:
        neighborhood = db.session.get(Neighborhood, answers.neighborhood_id)
        if neighborhood is None:
            raise FieldError("neighborhood_id", _("Choose a neighborhood from the list."))
    zip_code = (answers.zip_code or "").strip() or None
    if zip_code is not None and not ZIP_CODE_RE.fullmatch(zip_code):
        raise FieldError("zip_code", _("Enter a 5-digit ZIP code."))
    travel = answers.travel_miles
    if travel is not None and not 0 <= travel <= MAX_TRAVEL_MILES:
        raise FieldError(
            "travel_miles", _("Enter a distance from 0 to %(count)d miles.", count=MAX_TRAVEL_MILES)
        )
    user.causes = causes
    user.availability_mask = mask
    user.neighborhood = neighborhood
    user.zip_code = zip_code
    user.travel_miles = float(travel) if travel is not None else None
    user.onboarded_at = user.onboarded_at or now
    db.session.flush()
    return user


def skip_fit(user: User, *, now: dt.datetime) -> User:
    """Skip the questions: they are not asked again after registration, and stay one click
    away from the profile."""
    user.onboarded_at = user.onboarded_at or now
    db.session.flush()
    return user


# ---------------------------------------------------------------------------------------------
# Equity


@dataclass
class EquitySettings:
    neighborhoods: list[Neighborhood]
    boost: bool


def equity_settings() -> EquitySettings:
    return EquitySettings(
        neighborhoods=list(db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name))),
        boost=bool(get_setting("priority_neighborhood_boost")),
    )


def save_equity_settings(priority_ids: set[int], *, boost: bool) -> EquitySettings:
    """Mark exactly `priority_ids` as priority neighborhoods and switch the matching boost
    for shifts that serve them on or off."""
    known = set(db.session.scalars(sa.select(Neighborhood.id)))
    if not priority_ids <= known:
        raise FieldError(None, _("One of the choices is no longer available. Please retry."))
    db.session.execute(
        sa.update(Neighborhood)
        .values(is_priority=Neighborhood.id.in_(priority_ids) if priority_ids else False)
        .execution_options(synchronize_session="fetch")
    )
    set_setting("priority_neighborhood_boost", bool(boost))
    db.session.flush()
    return equity_settings()
