"""Initiatives and goals as coordinators manage them."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from tests.factories import make_cause, make_initiative, make_metric, make_outcome_record
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.initiatives import manage
from volunteer_app.initiatives.manage import InitiativeDetails, MetricDetails
from volunteer_app.initiatives.models import (
    Initiative,
    InitiativeStatus,
    MetricKind,
    OutcomeMetric,
)

D = decimal.Decimal
TODAY = dt.date(2026, 6, 1)  # a Monday


# ---------------------------------------------------------------------------------------------
# Slugs and reminders


def test_slugify_makes_ascii_words_joined_by_hyphens():
    assert manage.slugify("Árboles del Río!") == "arboles-del-rio"
    assert manage.slugify("  ¡¡¡  ") == "initiative"
    assert len(manage.slugify("word " * 100)) <= manage.SLUG_MAX


def test_unique_slug_adds_a_number_when_taken(db):
    make_initiative(slug="tree-crew")
    make_initiative(slug="tree-crew-2")
    make_initiative(slug="tree-crewmates")
    assert manage.unique_slug("Tree Crew") == "tree-crew-3"
    assert manage.unique_slug("Fresh idea") == "fresh-idea"


def test_unique_slug_of_a_very_long_title_stays_within_the_column(db):
    title = "x" * 200
    make_initiative(slug=manage.slugify(title))
    slug = manage.unique_slug(title)
    assert slug.endswith("-2") and len(slug) <= manage.SLUG_MAX


@pytest.mark.parametrize(
    ("raw", "minutes"),
    [
        ("24h, 2h", [1440, 120]),
        ("2h; 24", [1440, 120]),
        ("1 day, 30 min", [1440, 30]),
        ("3d", [4320]),
        ("", []),
        ("2h, 120m", [120]),
    ],
)
def test_reminder_offsets_parse(raw, minutes):
    assert manage.parse_reminder_offsets(raw) == minutes


@pytest.mark.parametrize("raw", ["soon", "-2h", "0h", "15d", "1h,2h,3h,4h,5h,6h", "2 weeks"])
def test_bad_reminder_offsets_are_refused(raw):
    with pytest.raises(DomainError):
        manage.parse_reminder_offsets(raw)


def test_reminder_offsets_round_trip():
    assert manage.format_reminder_offsets([4320, 1440, 120, 30]) == "3d, 24h, 2h, 30m"
    assert manage.parse_reminder_offsets("3d, 24h, 2h, 30m") == [4320, 1440, 120, 30]


# ---------------------------------------------------------------------------------------------
# Creating initiatives


def test_blueprint_suggests_its_metrics_with_targets():
    metrics = manage.metrics_from_blueprint("storm-busters")
    assert [m.name for m in metrics] == [
        "Trees planted",
        "Rain gardens planted",
        "Riverbank restored",
        "Trees alive after one year",
    ]
    assert metrics[0].unit == "trees" and metrics[0].kind == MetricKind.OUTPUT
    assert metrics[0].target == D(500) and metrics[0].sms_keyword == "TREES"
    assert metrics[3].kind == MetricKind.OUTCOME
    reading = manage.metrics_from_blueprint("third-grade-reads")[2]
    assert (reading.baseline, reading.kind) == (D(40), MetricKind.OUTCOME)
    assert manage.metrics_from_blueprint("nope") == []


def _details(org, **changes) -> InitiativeDetails:
    values = dict(
        organization_id=org.id,
        cause_id=make_cause().id,
        title="Storm Busters Eastside",
        summary="Trees and rain gardens.",
        timezone="America/Chicago",
    )
    values.update(changes)
    return InitiativeDetails(**values)


def test_create_from_a_blueprint_makes_a_draft_with_its_goals_in_order(db, coordinator, org, now):
    initiative = manage.create_initiative(
        coordinator,
        _details(
            org,
            blueprint="storm-busters",
            metrics=manage.metrics_from_blueprint("storm-busters"),
        ),
        now=now,
    )
    db.session.commit()
    assert initiative.status == InitiativeStatus.DRAFT
    assert initiative.slug == "storm-busters-eastside"
    assert initiative.blueprint == "storm-busters"
    assert [m.name for m in initiative.metrics][:2] == ["Trees planted", "Rain gardens planted"]
    assert [m.position for m in initiative.metrics] == [0, 1, 2, 3]


def test_a_coordinator_cannot_create_for_another_organization(db, coordinator, org_b, now):
    with pytest.raises(NotFound):
        manage.create_initiative(coordinator, _details(org_b), now=now)


def test_an_unknown_timezone_is_refused(db, coordinator, org, now):
    with pytest.raises(DomainError, match="time zone"):
        manage.create_initiative(coordinator, _details(org, timezone="Mars/Olympus"), now=now)


def test_publishing_needs_a_goal(db, initiative, now):
    with pytest.raises(DomainError, match="at least one goal"):
        manage.publish(initiative, now=now)
    assert initiative.status == InitiativeStatus.DRAFT

    make_metric(initiative)
    db.session.expire(initiative, ["metrics"])
    manage.publish(initiative, now=now)
    assert (initiative.status, initiative.published_at) == (InitiativeStatus.PUBLISHED, now)

    manage.close(initiative, now=now)
    assert (initiative.status, initiative.closed_at) == (InitiativeStatus.CLOSED, now)
    manage.back_to_draft(initiative)
    assert initiative.status == InitiativeStatus.DRAFT and initiative.closed_at is None


# ---------------------------------------------------------------------------------------------
# Goals


def _goal(**changes) -> MetricDetails:
    values = dict(name="Trees planted", unit="trees", kind=MetricKind.OUTPUT, target=D(100))
    values.update(changes)
    return MetricDetails(**values)


def test_goals_are_added_in_order_and_names_stay_unique(db, initiative, now):
    first = manage.add_metric(initiative, _goal(sms_keyword="trees"), now=now)
    second = manage.add_metric(initiative, _goal(name="Rain gardens", unit="gardens"), now=now)
    assert (first.position, second.position) == (0, 1)
    assert first.sms_keyword == "TREES"
    with pytest.raises(DomainError, match="already has a goal"):
        manage.add_metric(initiative, _goal(name="trees PLANTED"), now=now)
    with pytest.raises(DomainError, match="already has a goal"):
        manage.update_metric(second, _goal(name="Trees planted"))


def test_a_goal_needs_a_positive_target(db, initiative, now):
    with pytest.raises(DomainError, match="more than zero"):
        manage.add_metric(initiative, _goal(target=D(0)), now=now)


def test_a_goal_with_outcome_records_is_never_deleted(db, initiative, now):
    metric = make_metric(initiative)
    make_outcome_record(metric, 5, voided_at=now)  # even a voided record is history
    with pytest.raises(DomainError, match="already has outcome records"):
        manage.delete_metric(metric)
    assert db.session.get(OutcomeMetric, metric.id) is not None


def test_a_goal_nobody_measured_can_be_deleted(db, initiative, now):
    keep = make_metric(initiative, "Keep")
    drop = make_metric(initiative, "Drop")
    manage.delete_metric(drop)
    db.session.commit()
    assert [m.id for m in db.session.get(Initiative, initiative.id).metrics] == [keep.id]


def test_the_last_goal_of_a_published_initiative_stays(db, initiative, now):
    metric = make_metric(initiative)
    db.session.expire(initiative, ["metrics"])
    manage.publish(initiative, now=now)
    with pytest.raises(DomainError, match="needs at least one goal"):
        manage.delete_metric(metric)


def test_initiatives_for_a_coordinator_are_their_organizations_only(
    db, coordinator, other_coordinator, org, org_b, admin
):
    mine = make_initiative(org)
    theirs = make_initiative(org_b)
    assert [i.id for i in manage.initiatives_for(coordinator)] == [mine.id]
    assert {i.id for i in manage.initiatives_for(admin)} == {mine.id, theirs.id}
    assert [o.id for o in manage.organizations_for(coordinator)] == [org.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Initiative)) == 2
