"""The Cities of Service blueprints: ready-made initiative templates with their usual goals.

Each blueprint names a proven model of impact volunteering, the cause it usually serves and the
output and outcome metrics cities track for it, with a suggested target a coordinator can change.
A coordinator form pre-fills an initiative's metrics from one; the demo seed builds from them.
The data is plain and read-only; names, units and descriptions are lazy so they render in the
reader's language.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from volunteer_app.initiatives.models import MetricKind

OUTPUT = MetricKind.OUTPUT
OUTCOME = MetricKind.OUTCOME


@dataclass(frozen=True)
class MetricTemplate:
    """One goal a blueprint suggests. `key` is stable across languages (for code and imports)."""

    key: str
    name: LazyString
    unit: LazyString
    kind: MetricKind
    suggested_target: decimal.Decimal
    # Outcomes measured against a starting point (reading level) carry a typical baseline.
    suggested_baseline: decimal.Decimal | None = None
    # A word volunteers can text with a number after a shift ("TREES 12").
    sms_keyword: str | None = None


@dataclass(frozen=True)
class Blueprint:
    slug: str
    name: LazyString
    description: LazyString
    cause_slug: str
    metrics: tuple[MetricTemplate, ...]
    # Skills that usually help, as reference-table slugs; a suggestion, never a requirement.
    skill_slugs: tuple[str, ...] = ()

    def metric(self, key: str) -> MetricTemplate:
        for template in self.metrics:
            if template.key == key:
                return template
        raise KeyError(key)


def _metric(key, name, unit, kind, target, baseline=None, keyword=None) -> MetricTemplate:  # noqa: PLR0917 -- one row of the blueprint tables below, read in place
    return MetricTemplate(
        key=key,
        name=name,
        unit=unit,
        kind=kind,
        suggested_target=decimal.Decimal(target),
        suggested_baseline=None if baseline is None else decimal.Decimal(baseline),
        sms_keyword=keyword,
    )


BLUEPRINTS: dict[str, Blueprint] = {
    blueprint.slug: blueprint
    for blueprint in (
        Blueprint(
            slug="love-your-block",
            name=_l("Love Your Block"),
            description=_l(
                "Residents clean up and green their own blocks with city support: litter "
                "and graffiti removal, tree planting, vacant lots turned into green spaces."
            ),
            cause_slug="neighborhood-revitalization",
            skill_slugs=("heavy-lifting", "gardening"),
            metrics=(
                _metric(
                    "litter",
                    _l("Litter collected"),
                    _l("pounds"),
                    OUTPUT,
                    20000,
                    keyword="LITTER",
                ),
                _metric(
                    "graffiti",
                    _l("Graffiti removed"),
                    _l("square feet"),
                    OUTPUT,
                    5000,
                    keyword="GRAFFITI",
                ),
                _metric("trees", _l("Trees planted"), _l("trees"), OUTPUT, 100, keyword="TREES"),
                _metric(
                    "green_spaces",
                    _l("Green spaces created"),
                    _l("green spaces"),
                    OUTCOME,
                    5,
                ),
            ),
        ),
        Blueprint(
            slug="storm-busters",
            name=_l("Storm Busters"),
            description=_l(
                "Volunteers plant and care for trees and rain gardens that soak up stormwater, "
                "and restore riverbanks, so streets flood less and the canopy grows."
            ),
            cause_slug="environment",
            skill_slugs=("gardening", "heavy-lifting"),
            metrics=(
                _metric("trees", _l("Trees planted"), _l("trees"), OUTPUT, 500, keyword="TREES"),
                _metric(
                    "rain_gardens",
                    _l("Rain gardens planted"),
                    _l("rain gardens"),
                    OUTPUT,
                    20,
                    keyword="GARDENS",
                ),
                _metric(
                    "riverbank",
                    _l("Riverbank restored"),
                    _l("square feet"),
                    OUTPUT,
                    10000,
                    keyword="BANK",
                ),
                _metric(
                    "trees_alive",
                    _l("Trees alive after one year"),
                    _l("trees"),
                    OUTCOME,
                    425,
                ),
            ),
        ),
        Blueprint(
            slug="third-grade-reads",
            name=_l("Third Grade Reads"),
            description=_l(
                "Trained volunteers tutor second and third graders in reading each week, so "
                "more children read at grade level by the end of third grade."
            ),
            cause_slug="education",
            skill_slugs=("tutoring",),
            metrics=(
                _metric(
                    "students",
                    _l("Students tutored"),
                    _l("students"),
                    OUTPUT,
                    120,
                    keyword="STUDENTS",
                ),
                _metric("tutoring_hours", _l("Tutoring hours"), _l("hours"), OUTPUT, 2000),
                _metric(
                    "reading_level",
                    _l("Students reading at grade level"),
                    _l("percent"),
                    OUTCOME,
                    60,
                    baseline=40,
                ),
            ),
        ),
        Blueprint(
            slug="prepared-is-protected",
            name=_l("Prepared Is Protected"),
            description=_l(
                "Volunteers go door to door and to community events in every language "
                "the neighborhood speaks, helping households make emergency plans and kits."
            ),
            cause_slug="emergency-preparedness",
            skill_slugs=("spanish-outreach", "first-aid"),
            metrics=(
                _metric(
                    "households",
                    _l("Households reached"),
                    _l("households"),
                    OUTPUT,
                    2500,
                    keyword="HOMES",
                ),
                _metric(
                    "trained",
                    _l("Outreach volunteers trained"),
                    _l("volunteers"),
                    OUTPUT,
                    60,
                ),
            ),
        ),
        Blueprint(
            slug="lets-grow",
            name=_l("Let's Grow"),
            description=_l(
                "Volunteers keep community garden plots growing and bring the harvest to "
                "neighbors through food pantries."
            ),
            cause_slug="food-security",
            skill_slugs=("gardening", "driving"),
            metrics=(
                _metric("plots", _l("Plots maintained"), _l("plots"), OUTPUT, 40, keyword="PLOTS"),
                _metric(
                    "produce",
                    _l("Produce distributed"),
                    _l("pounds"),
                    OUTPUT,
                    8000,
                    keyword="PRODUCE",
                ),
                _metric("families", _l("Families served"), _l("families"), OUTCOME, 500),
            ),
        ),
        Blueprint(
            slug="home-energy-makeover",
            name=_l("Home Energy Makeover"),
            description=_l(
                "Volunteers audit and weatherize the homes of older and low-income residents, "
                "cutting energy bills and keeping homes warm."
            ),
            cause_slug="housing-energy",
            skill_slugs=("carpentry", "heavy-lifting"),
            metrics=(
                _metric("audits", _l("Energy audits done"), _l("audits"), OUTPUT, 150),
                _metric(
                    "retrofits",
                    _l("Homes retrofitted"),
                    _l("homes"),
                    OUTCOME,
                    80,
                    keyword="HOMES",
                ),
            ),
        ),
    )
}


def get_blueprint(slug: str | None) -> Blueprint | None:
    return BLUEPRINTS.get(slug or "")


def blueprint_choices() -> list[tuple[str, str]]:
    """(slug, name) pairs for a select field, in the current language."""
    return [(blueprint.slug, str(blueprint.name)) for blueprint in BLUEPRINTS.values()]
