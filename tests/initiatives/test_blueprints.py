"""The Cities of Service blueprints: complete templates a coordinator can start from."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from volunteer_app.initiatives.blueprints import BLUEPRINTS, blueprint_choices, get_blueprint
from volunteer_app.initiatives.models import MetricKind, OutcomeMetric
from volunteer_app.seed.reference import CAUSES, SKILLS

EXPECTED = {
    "love-your-block",
    "storm-busters",
    "third-grade-reads",
    "prepared-is-protected",
    "lets-grow",
    "home-energy-makeover",
}
NAME_LENGTH = OutcomeMetric.__table__.c.name.type.length
UNIT_LENGTH = OutcomeMetric.__table__.c.unit.type.length
KEYWORD_LENGTH = OutcomeMetric.__table__.c.sms_keyword.type.length


def test_the_six_blueprints_are_there_under_their_slugs():
    assert set(BLUEPRINTS) == EXPECTED
    assert all(slug == blueprint.slug for slug, blueprint in BLUEPRINTS.items())
    assert get_blueprint("storm-busters") is BLUEPRINTS["storm-busters"]
    assert get_blueprint("no-such-thing") is None
    assert get_blueprint(None) is None


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_blueprint_has_metrics_with_units_kinds_and_targets(app, slug):
    blueprint = BLUEPRINTS[slug]
    assert str(blueprint.name) and len(str(blueprint.description)) > 40
    assert blueprint.cause_slug in {cause for cause, _ in CAUSES}
    assert set(blueprint.skill_slugs) <= {skill for skill, _ in SKILLS}
    assert blueprint.metrics
    keys = [metric.key for metric in blueprint.metrics]
    assert len(keys) == len(set(keys))
    names = [str(metric.name) for metric in blueprint.metrics]
    assert len(names) == len(set(names)), "metric names are unique per initiative"
    for metric in blueprint.metrics:
        assert 0 < len(str(metric.name)) <= NAME_LENGTH
        assert 0 < len(str(metric.unit)) <= UNIT_LENGTH
        assert metric.kind in (MetricKind.OUTPUT, MetricKind.OUTCOME)
        assert metric.suggested_target > 0
        if metric.suggested_baseline is not None:
            assert metric.suggested_baseline < metric.suggested_target
        if metric.sms_keyword:
            assert metric.sms_keyword.isalpha() and metric.sms_keyword.isupper()
            assert len(metric.sms_keyword) <= KEYWORD_LENGTH
        assert blueprint.metric(metric.key) is metric
    with pytest.raises(KeyError):
        blueprint.metric("nothing")


def test_blueprints_measure_what_the_program_promises():
    kinds = {
        (slug, metric.key): metric.kind
        for slug, blueprint in BLUEPRINTS.items()
        for metric in blueprint.metrics
    }
    assert kinds["storm-busters", "trees_alive"] == MetricKind.OUTCOME
    assert kinds["storm-busters", "trees"] == MetricKind.OUTPUT
    assert kinds["third-grade-reads", "reading_level"] == MetricKind.OUTCOME
    reading = BLUEPRINTS["third-grade-reads"].metric("reading_level")
    assert reading.suggested_baseline is not None
    # Each blueprint measures at least one thing volunteers do (an output).
    for blueprint in BLUEPRINTS.values():
        assert any(m.kind == MetricKind.OUTPUT for m in blueprint.metrics), blueprint.slug


def test_choices_render_in_the_current_language(app):
    with app.test_request_context(), force_locale("en"):
        choices = dict(blueprint_choices())
    assert choices["love-your-block"] == "Love Your Block"
    assert list(choices) == list(BLUEPRINTS)
