"""The pure scoring function: hard rules, each signal, ties, and the ceilings ranking uses."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from volunteer_app.matching import weights as W
from volunteer_app.matching.scoring import (
    AGE_UNKNOWN,
    BUSY,
    CLOSED,
    SIGNED_UP,
    TOO_YOUNG,
    MatchContext,
    ShiftFeatures,
    VolunteerFeatures,
    cause_and_time_points,
    ceiling_beyond_cause_and_time,
    evaluate,
    initiative_ceiling,
    local_slot,
    miles_across_town,
    miles_between,
    points_for,
    rank,
    rank_volunteers,
    slot_bit,
)

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)  # Monday 10:00 in New York
NY = "America/New_York"
# Saturday 6 June 2026, 9:00 in New York.
SATURDAY_9AM = dt.datetime(2026, 6, 6, 13, 0, tzinfo=dt.UTC)


def shift(**kw) -> ShiftFeatures:
    starts_at = kw.pop("starts_at", SATURDAY_9AM)
    values = {
        "shift_id": 1,
        "starts_at": starts_at,
        "ends_at": starts_at + dt.timedelta(hours=3),
        "timezone": NY,
        "cause_id": 1,
        "cause_name": "The environment",
        "capacity": 10,
        "spots_taken": 5,
        "latitude": 38.90,
        "longitude": -77.03,
    }
    values.update(kw)
    return ShiftFeatures(**values)


def person(**kw) -> VolunteerFeatures:
    return VolunteerFeatures(user_id=kw.pop("user_id", 7), **kw)


CONTEXT = MatchContext(now=NOW)


def test_local_slot_uses_the_initiative_timezone():
    # 23:30 on Saturday in Los Angeles is already Sunday in UTC.
    late = dt.datetime(2026, 6, 7, 6, 30, tzinfo=dt.UTC)
    assert local_slot(late, "America/Los_Angeles") == (5, 2, dt.date(2026, 6, 6))
    assert local_slot(late, "UTC") == (6, 0, dt.date(2026, 6, 7))


@pytest.mark.parametrize(
    ("hour", "minute", "part"), [(11, 59, 0), (12, 0, 1), (16, 59, 1), (17, 0, 2), (0, 0, 0)]
)
def test_parts_of_the_day(hour, minute, part):
    starts_at = dt.datetime(2026, 6, 6, hour, minute, tzinfo=dt.UTC)
    assert shift(starts_at=starts_at, timezone="UTC").local_part == part


def test_free_at_that_time_scores_and_says_when():
    free = person(availability_mask=slot_bit(5, 0))
    busy_then = person(availability_mask=slot_bit(1, 2))
    unknown = person()
    match = evaluate(free, shift(), CONTEXT)
    assert [r.kind for r in match.reasons][:1] == ["time"]
    assert match.reasons[0].value == (5, 0)
    assert evaluate(free, shift(), CONTEXT).score > evaluate(unknown, shift(), CONTEXT).score
    assert evaluate(unknown, shift(), CONTEXT).score > evaluate(busy_then, shift(), CONTEXT).score


def test_each_signal_adds_what_weights_say():
    base = evaluate(person(), shift(), CONTEXT).score
    cares = evaluate(person(cause_ids=frozenset({1})), shift(), CONTEXT).score
    assert cares - base == pytest.approx(W.CAUSE)
    speaks = person(language_codes=frozenset({"es"}))
    with_spanish = shift(languages={"es": "Spanish"})
    assert evaluate(speaks, with_spanish, CONTEXT).score - evaluate(
        person(), with_spanish, CONTEXT
    ).score == pytest.approx(W.LANGUAGE)
    skilled = person(skill_ids=frozenset({1, 2, 3}))
    needs_skills = shift(skills={1: "Gardening", 2: "Lifting", 3: "Driving"})
    gain = (
        evaluate(skilled, needs_skills, CONTEXT).score
        - evaluate(person(), needs_skills, CONTEXT).score
    )
    assert gain == pytest.approx(W.SKILL * W.SKILLS_COUNTED)


def test_english_is_not_a_reason():
    speaks_english = person(language_codes=frozenset({"en"}))
    match = evaluate(speaks_english, shift(languages={"en": "English"}), CONTEXT)
    assert "language" not in [r.kind for r in match.reasons]


def test_distance_near_scores_far_costs():
    at_home = person(latitude=38.90, longitude=-77.03, travel_miles=5.0)
    near = evaluate(at_home, shift(latitude=38.915), CONTEXT)  # about 1 mile
    far = evaluate(at_home, shift(latitude=39.10), CONTEXT)  # about 14 miles
    nowhere = evaluate(person(), shift(), CONTEXT)
    assert near.score > nowhere.score > far.score
    distance = next(r for r in near.reasons if r.kind == "distance")
    assert distance.value == pytest.approx(1.04, abs=0.02)


def test_flat_distance_agrees_with_haversine_across_a_city():
    rng = random.Random(5)
    for _ in range(200):
        lat1, lon1 = 38.8 + rng.random() * 0.3, -77.2 + rng.random() * 0.3
        lat2, lon2 = 38.8 + rng.random() * 0.3, -77.2 + rng.random() * 0.3
        assert miles_across_town(lat1, lon1, lat2, lon2) == pytest.approx(
            miles_between(lat1, lon1, lat2, lon2), abs=0.01
        )


def test_effort_harder_than_wanted_costs():
    light = person(effort_preference="light")
    heavy_shift = evaluate(light, shift(effort="heavy"), CONTEXT).score
    light_shift = evaluate(light, shift(effort="light"), CONTEXT).score
    assert light_shift - heavy_shift == pytest.approx(W.EFFORT_MATCH - 2 * W.EFFORT_TOO_HARD)


def test_full_shift_is_kept_but_sinks():
    full = evaluate(person(), shift(spots_taken=10), CONTEXT)
    open_ = evaluate(person(), shift(spots_taken=2), CONTEXT)
    assert not full.is_excluded
    assert open_.score - full.score > -W.FULL - 1


def test_urgency_and_soonness():
    tomorrow = shift(starts_at=NOW + dt.timedelta(days=1), spots_taken=0)
    next_month = shift(starts_at=NOW + dt.timedelta(days=30), spots_taken=0)
    half_full_tomorrow = shift(starts_at=NOW + dt.timedelta(days=1), spots_taken=5)
    empty = person()
    assert (
        evaluate(empty, tomorrow, CONTEXT).score
        > evaluate(empty, half_full_tomorrow, CONTEXT).score
    )
    assert (
        evaluate(empty, half_full_tomorrow, CONTEXT).score
        > evaluate(empty, next_month, CONTEXT).score
    )
    assert evaluate(empty, next_month, CONTEXT).score == 0
    kinds = [r.kind for r in evaluate(empty, tomorrow, CONTEXT).reasons]
    assert kinds == ["soon", "needs_people"]


def test_priority_boost_only_when_switched_on():
    priority = shift(priority_neighborhood=True)
    off = evaluate(person(), priority, CONTEXT)
    on = evaluate(person(), priority, MatchContext(now=NOW, priority_boost=True))
    assert on.score - off.score == pytest.approx(W.PRIORITY_NEIGHBORHOOD)
    assert "priority" in [r.kind for r in on.reasons]


def test_history_past_cause_and_reliability():
    regular = person(past_cause_ids=frozenset({1}), attended=5)
    flaky = person(attended=1, no_shows=4)
    newcomer = person()
    assert evaluate(regular, shift(), CONTEXT).score > evaluate(newcomer, shift(), CONTEXT).score
    assert evaluate(flaky, shift(), CONTEXT).score < evaluate(newcomer, shift(), CONTEXT).score
    reasons = {r.kind: r.value for r in evaluate(regular, shift(), CONTEXT).reasons}
    assert reasons["reliable"] == (5, 5) and "past_cause" in reasons


@pytest.mark.parametrize(
    ("volunteer", "features", "rule"),
    [
        (person(), shift(cancelled=True), CLOSED),
        (person(), shift(starts_at=NOW - dt.timedelta(minutes=1)), CLOSED),
        (person(birth_date=dt.date(2011, 1, 1)), shift(minimum_age=18), TOO_YOUNG),
        (person(), shift(minimum_age=16), AGE_UNKNOWN),
        (person(signed_up_shift_ids=frozenset({1})), shift(), SIGNED_UP),
        (
            person(
                busy=((SATURDAY_9AM + dt.timedelta(hours=2), SATURDAY_9AM + dt.timedelta(hours=5)),)
            ),
            shift(),
            BUSY,
        ),
    ],
)
def test_hard_rules_exclude(volunteer, features, rule):
    match = evaluate(volunteer, features, CONTEXT)
    assert match.excluded == rule
    assert rank(volunteer, [features], CONTEXT, limit=3) == []


def test_age_is_judged_on_the_shifts_local_date():
    # Turns 18 on the Saturday itself (local date), so may join.
    birthday = person(birth_date=dt.date(2008, 6, 6))
    assert evaluate(birthday, shift(minimum_age=18), CONTEXT).excluded is None
    day_later = person(birth_date=dt.date(2008, 6, 7))
    assert evaluate(day_later, shift(minimum_age=18), CONTEXT).excluded == TOO_YOUNG


def test_back_to_back_shifts_do_not_clash():
    earlier = ((SATURDAY_9AM - dt.timedelta(hours=3), SATURDAY_9AM),)
    assert evaluate(person(busy=earlier), shift(), CONTEXT).excluded is None


def test_rank_is_best_first_and_ties_go_to_the_sooner_shift():
    later = shift(shift_id=2, starts_at=SATURDAY_9AM + dt.timedelta(days=7))
    sooner = shift(shift_id=3, starts_at=SATURDAY_9AM + dt.timedelta(days=6))
    cared = shift(shift_id=4, cause_id=2, starts_at=SATURDAY_9AM + dt.timedelta(days=8))
    volunteer = person(cause_ids=frozenset({2}))
    ranked = rank(volunteer, [later, sooner, cared], CONTEXT, limit=3)
    assert [m.shift_id for m in ranked] == [4, 3, 2]
    far_future = MatchContext(now=NOW - dt.timedelta(days=60))
    tied = rank(person(), [later, sooner], far_future, limit=2)
    assert tied[0].score == tied[1].score and [m.shift_id for m in tied] == [3, 2]


def test_rank_volunteers_best_first_then_by_id():
    people = [person(user_id=9), person(user_id=3), person(user_id=5, cause_ids=frozenset({1}))]
    assert [m.user_id for m in rank_volunteers(people, shift(), CONTEXT, limit=3)] == [5, 3, 9]
    assert [m.user_id for m in rank_volunteers(people, shift(), CONTEXT, limit=1)] == [5]


def test_reasons_come_in_reading_order():
    everything = person(
        cause_ids=frozenset({1}),
        availability_mask=slot_bit(5, 0),
        language_codes=frozenset({"es"}),
        skill_ids=frozenset({1}),
        latitude=38.90,
        longitude=-77.03,
        past_cause_ids=frozenset({1}),
    )
    match = evaluate(
        everything, shift(languages={"es": "Spanish"}, skills={1: "Gardening"}), CONTEXT
    )
    assert [r.kind for r in match.reasons] == [
        "time",
        "soon",
        "distance",
        "language",
        "skill",
        "cause",
        "past_cause",
        "needs_people",
    ]
    assert all(r.points > 0 for r in match.reasons)


def _random_pair(rng: random.Random):
    starts_at = NOW + dt.timedelta(hours=rng.uniform(-5, 24 * 40))
    features = shift(
        starts_at=starts_at,
        cause_id=rng.randint(1, 3),
        skills={s: f"s{s}" for s in rng.sample(range(1, 5), rng.randint(0, 3))},
        languages={c: c for c in rng.sample(["en", "es", "zh"], rng.randint(0, 2))},
        latitude=rng.choice([None, 38.8 + rng.random() * 0.3]),
        effort=rng.choice([None, "light", "moderate", "heavy"]),
        capacity=rng.randint(1, 20),
        spots_taken=0,
        priority_neighborhood=rng.random() < 0.3,
    )
    features.spots_taken = rng.randint(0, features.capacity)
    volunteer = person(
        cause_ids=frozenset(rng.sample(range(1, 4), rng.randint(0, 2))),
        skill_ids=frozenset(rng.sample(range(1, 5), rng.randint(0, 3))),
        language_codes=frozenset(rng.sample(["en", "es", "zh"], rng.randint(0, 2))),
        availability_mask=rng.choice([0, rng.getrandbits(21)]),
        latitude=rng.choice([None, 38.8 + rng.random() * 0.3]),
        longitude=-77.03,
        travel_miles=rng.choice([None, 0.0, 1.0, 5.0, 20.0]),
        effort_preference=rng.choice([None, "light", "moderate", "heavy"]),
        past_cause_ids=frozenset(rng.sample(range(1, 4), rng.randint(0, 1))),
        attended=rng.randint(0, 12),
        no_shows=rng.randint(0, 4),
    )
    return volunteer, features


def test_ceilings_never_undercut_the_score():
    """Ranking skips work using these ceilings; if one were too low, it would miss people."""
    rng = random.Random(11)
    for _ in range(3000):
        volunteer, features = _random_pair(rng)
        context = MatchContext(now=NOW, priority_boost=rng.random() < 0.5)
        score = points_for(volunteer, features, context)
        first = features.starts_at if rng.random() < 0.5 else None
        ceiling = initiative_ceiling(
            volunteer, features.cause_id, features.skills, features.languages, context, first
        )
        assert score <= ceiling + 1e-9
        head = cause_and_time_points(
            features.cause_id in volunteer.cause_ids, volunteer.availability_mask, features
        )
        assert score <= head + ceiling_beyond_cause_and_time(features, context) + 1e-9


def test_reasons_shown_depend_on_the_reader(app):
    from volunteer_app.matching.reasons import COORDINATOR, RESIDENT, reason_line

    regular = person(
        cause_ids=frozenset({1}),
        availability_mask=slot_bit(2, 0),
        attended=6,
        latitude=38.90,
        longitude=-77.03,
    )
    soon = shift(starts_at=NOW + dt.timedelta(days=2), spots_taken=0)
    match = evaluate(regular, soon, CONTEXT)
    assert reason_line(match, RESIDENT) == (
        "Wednesday morning · right nearby · you care about the environment · needs 10 more people"
    )
    assert reason_line(match, COORDINATOR) == (
        "free Wednesday mornings · right nearby · cares about the environment · "
        "came to 6 of 6 shifts"
    )


def test_the_equity_boost_is_worth_less_than_what_people_told_us():
    """What the equity page promises admins."""
    assert min(W.CAUSE, W.AVAILABLE, W.NEAR) > W.PRIORITY_NEIGHBORHOOD
