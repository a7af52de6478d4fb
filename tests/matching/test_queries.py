"""The queries feeding the score, on a real database: the crafted relevance cases, hard
rules, the empty profile, candidates, exact pruning and constant query counts."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.factories import make_initiative, make_shift, make_signup, make_user
from tests.matching.conftest import SATURDAY, SATURDAY_MORNING, SUNDAY, TUESDAY, local, shift_in
from volunteer_app.accounts.models import availability_bit
from volunteer_app.matching import queries
from volunteer_app.matching.models import Invitation
from volunteer_app.matching.reasons import COORDINATOR, reason_line
from volunteer_app.matching.scoring import evaluate
from volunteer_app.reference.settings import set_setting
from volunteer_app.shifts.models import ShiftStatus


def shift_ids(recommendations) -> list[int]:
    return [r.shift.id for r in recommendations]


def test_spanish_saturday_tree_planting_in_her_neighborhood_comes_first(db, city, maria, now):
    target = shift_in(city.trees, city.a, local(SATURDAY, 9), miles=1.2)
    shift_in(city.trees_english, city.b, local(SATURDAY, 9))  # same cause and time, far
    shift_in(city.trees, city.a, local(SATURDAY, 14))  # Spanish, near, but an afternoon
    shift_in(city.tutoring, city.a, local(SATURDAY, 9))  # near, her time, another cause
    shift_in(city.trees_english, city.a, local(TUESDAY, 18))  # near, her cause, a weekday
    make_shift(city.tutoring, starts_at=local((2026, 6, 2), 8), capacity=20)  # urgent

    recommended = queries.recommend_shifts(maria.id, now=now, limit=3)

    assert recommended[0].shift.id == target.id
    assert reason_line(recommended[0].match) == (
        "Saturday morning · 1.2 mi away · uses your Spanish · you care about the environment"
    )


def test_a_fifteen_year_old_never_sees_an_eighteen_plus_shift(db, city, now):
    teen = make_user(birth_date=dt.date(2011, 2, 1), neighborhood_id=city.a.id)
    teen.causes = [city.environment]
    adults = shift_in(city.adults_only, city.a, local(SATURDAY, 9))
    other = shift_in(city.trees, city.b, local(SUNDAY, 15))
    unknown_age = make_user(neighborhood_id=city.a.id)

    for person in (teen, unknown_age):
        recommended = queries.recommend_shifts(person.id, now=now, limit=10)
        assert shift_ids(recommended) == [other.id]
    candidates = queries.rank_candidates(adults, now=now)
    assert {c.user_id for c in candidates}.isdisjoint({teen.id, unknown_age.id})


def test_a_person_booked_then_never_sees_the_clashing_shift(db, city, maria, now):
    booked = shift_in(city.tutoring, city.b, local(SATURDAY, 8), hours=3)
    make_signup(maria, booked)
    clashing = shift_in(city.trees, city.a, local(SATURDAY, 10))
    after = shift_in(city.trees, city.a, local(SATURDAY, 11))  # starts as the other ends

    recommended = shift_ids(queries.recommend_shifts(maria.id, now=now, limit=10))
    assert clashing.id not in recommended and booked.id not in recommended
    assert after.id in recommended
    assert maria.id not in {c.user_id for c in queries.rank_candidates(clashing, now=now)}


def test_signed_up_cancelled_started_and_draft_shifts_are_left_out(db, city, maria, now):
    mine = shift_in(city.trees, city.a, local(SATURDAY, 9))
    make_signup(maria, mine, "waitlisted")
    cancelled = shift_in(city.trees, city.a, local(SUNDAY, 9), status=ShiftStatus.CANCELLED)
    started = shift_in(city.trees, city.a, now - dt.timedelta(minutes=5))
    draft = make_initiative(city.org, cause=city.environment, status="draft")
    hidden = shift_in(draft, city.a, local(SUNDAY, 10))
    open_ = shift_in(city.trees, city.a, local(SUNDAY, 12))

    recommended = shift_ids(queries.recommend_shifts(maria.id, now=now, limit=10))
    assert recommended == [open_.id]
    assert not {mine.id, cancelled.id, started.id, hidden.id} & set(recommended)


def test_after_cancelling_the_shift_is_suggested_again(db, city, maria, now):
    shift = shift_in(city.trees, city.a, local(SATURDAY, 9))
    make_signup(maria, shift, "cancelled")
    assert shift_ids(queries.recommend_shifts(maria.id, now=now, limit=3)) == [shift.id]


def test_an_empty_profile_gets_soon_and_needing_people(db, city, now):
    newcomer = make_user()
    tomorrow_empty = make_shift(city.tutoring, starts_at=now + dt.timedelta(days=1))
    tomorrow_fuller = make_shift(city.trees, starts_at=now + dt.timedelta(days=1), capacity=10)
    tomorrow_fuller.spots_taken = 8
    next_week = make_shift(city.trees, starts_at=now + dt.timedelta(days=9))
    far_off = make_shift(city.trees, starts_at=now + dt.timedelta(days=40))
    full = make_shift(city.trees, starts_at=now + dt.timedelta(hours=30), capacity=2)
    full.spots_taken = 2
    db.session.flush()

    recommended = queries.recommend_shifts(newcomer.id, now=now, limit=5)

    # A nearly full shift tomorrow needs people less than an empty one next week; a shift
    # with only its waitlist left comes last.
    assert shift_ids(recommended) == [
        tomorrow_empty.id,
        next_week.id,
        tomorrow_fuller.id,
        far_off.id,
        full.id,
    ]
    assert reason_line(recommended[0].match) == "in 1 day · needs 10 more people"


def test_an_empty_profile_with_a_place_prefers_near(db, city, now):
    neighbor = make_user(zip_code="20001")  # A's ZIP code, no neighborhood chosen
    near = shift_in(city.trees, city.a, local(SATURDAY, 9), miles=0.5)
    far = shift_in(city.trees, city.b, local(SATURDAY, 9))
    recommended = queries.recommend_shifts(neighbor.id, now=now, limit=2)
    assert shift_ids(recommended) == [near.id, far.id]
    assert "0.5 mi away" in reason_line(recommended[0].match)


def test_priority_boost_is_off_by_default_and_explained_when_on(db, city, now):
    person = make_user(neighborhood_id=city.a.id)
    plain = shift_in(city.trees, city.a, local(SATURDAY, 9))
    priority = shift_in(city.trees, city.c, local(SATURDAY, 9), miles=-0.345)  # as far as A
    assert shift_ids(queries.recommend_shifts(person.id, now=now, limit=2)) == [
        plain.id,
        priority.id,
    ]
    set_setting("priority_neighborhood_boost", True)
    boosted = queries.recommend_shifts(person.id, now=now, limit=2)
    assert shift_ids(boosted) == [priority.id, plain.id]
    assert "serves a priority neighborhood" in reason_line(boosted[0].match)


def test_a_shift_without_coordinates_uses_its_neighborhoods_centroid(db, city, maria, now):
    shift = make_shift(city.trees, starts_at=local(SATURDAY, 9), neighborhood_id=city.a.id)
    recommended = queries.recommend_shifts(maria.id, now=now, limit=1)
    assert recommended[0].shift.id == shift.id
    assert "right nearby" in reason_line(recommended[0].match)


def _random_city(db, city, now, rng: random.Random, shifts: int = 120, people: int = 60):
    hoods = [city.a, city.b, city.c]
    initiatives = [city.trees, city.trees_english, city.tutoring, city.adults_only]
    for _ in range(shifts):
        shift = shift_in(
            rng.choice(initiatives),
            rng.choice(hoods),
            now + dt.timedelta(hours=rng.randint(1, 24 * 50)),
            miles=rng.uniform(0, 3),
            capacity=rng.randint(1, 12),
            effort=rng.choice([None, "light", "heavy"]),
        )
        shift.spots_taken = rng.randint(0, shift.capacity)
    for _ in range(people):
        user = make_user(
            neighborhood_id=rng.choice([None, *[h.id for h in hoods]]),
            availability_mask=rng.getrandbits(21) if rng.random() < 0.7 else 0,
            travel_miles=rng.choice([None, 1.0, 5.0]),
            birth_date=rng.choice([None, dt.date(1990, 1, 1), dt.date(2012, 1, 1)]),
            effort_preference=rng.choice([None, "light", "heavy"]),
            phone=f"+1202555{rng.randrange(10**4):04d}" if rng.random() < 0.3 else None,
        )
        user.causes = rng.sample([city.environment, city.education], rng.randint(0, 2))
        user.languages = [city.spanish] if rng.random() < 0.3 else []
    db.session.flush()


def _varied(ordered, limit, cap, initiative_of):
    """The list a resident should see, worked out the slow way."""
    if cap is None:
        return ordered[:limit]
    taken, best, spare = {}, [], []
    for match in ordered:
        initiative = initiative_of[match.shift_id]
        if taken.get(initiative, 0) < cap:
            taken[initiative] = taken.get(initiative, 0) + 1
            best.append(match)
            if len(best) == limit:
                return best
        else:
            spare.append(match)
    return sorted(best + spare[: limit - len(best)], key=ordered.index)


@pytest.mark.parametrize("cap", [None, 1, 2])
def test_recommendations_pruned_equal_scoring_every_shift(db, city, maria, now, cap):
    """The ceiling-based shortcut gives exactly the list scoring every upcoming shift gives."""
    _random_city(db, city, now, random.Random(3))
    context = queries.match_context(now)
    everything = queries.upcoming_shift_features(now=now, oldest_age=200)
    starts = {s.shift_id: s.starts_at for s in everything}
    initiative_of = {s.shift_id: s.initiative_id for s in everything}
    for person_id in [maria.id, *range(maria.id + 1, maria.id + 15)]:
        person = queries.volunteer_features(person_id, now=now, where=queries.places())
        ordered = sorted(
            (m for s in everything if not (m := evaluate(person, s, context)).is_excluded),
            key=lambda m: (-m.score, starts[m.shift_id], m.shift_id),
        )
        expected = _varied(ordered, 5, cap, initiative_of)
        pruned = queries.recommend_shifts(
            person_id, now=now, limit=5, first_pass=7, per_initiative=cap
        )
        assert [r.shift.id for r in pruned] == [m.shift_id for m in expected]


def test_one_series_does_not_fill_the_list(db, city, maria, now):
    weekly = [
        shift_in(city.trees, city.a, local(SATURDAY, 9) + dt.timedelta(weeks=n)) for n in range(4)
    ]
    other = shift_in(city.trees_english, city.b, local(SUNDAY, 15))
    assert shift_ids(queries.recommend_shifts(maria.id, now=now, limit=3)) == [
        w.id for w in weekly[:3]
    ]
    varied = shift_ids(queries.recommend_shifts(maria.id, now=now, limit=3, per_initiative=1))
    # The other initiative gets a place; the list is topped up from the series, best first.
    assert varied == [weekly[0].id, weekly[1].id, other.id]


def test_candidates_pruned_equal_scoring_everyone(db, city, now):
    _random_city(db, city, now, random.Random(4), shifts=6, people=150)
    shift = shift_in(city.trees, city.a, local(SATURDAY, 9), capacity=30)
    full_list = queries.rank_candidates(shift, now=now, limit=40, batch=10**6)
    pruned = queries.rank_candidates(shift, now=now, limit=40, batch=12)
    assert [c.user_id for c in pruned] == [c.user_id for c in full_list]
    assert [c.match.score for c in full_list] == sorted(
        (c.match.score for c in full_list), reverse=True
    )


def test_candidates_rules_and_reasons(db, city, maria, now):
    shift = shift_in(city.trees, city.a, local(SATURDAY, 9), miles=1.2)
    other = shift_in(city.trees, city.b, local(SUNDAY, 9))
    newcomer = make_user("new@example.org", name="Sam Okafor")
    on_it = make_user()
    make_signup(on_it, shift)
    opted_out = make_user(phone="+12025550111", sms_opted_out_at=now)
    unreachable = make_user(phone="+12025550112")  # a phone without consent, no email
    unreachable.email = None
    invited_here = make_user()
    db.session.add(
        Invitation(shift_id=shift.id, user_id=invited_here.id, channel="email", sent_at=now)
    )
    at_cap = make_user()
    for days_ago in (1, 6):
        other_shift = make_shift(city.trees, starts_at=local(SUNDAY, 8 + days_ago))
        db.session.add(
            Invitation(
                shift_id=other_shift.id,
                user_id=at_cap.id,
                channel="email",
                sent_at=now - dt.timedelta(days=days_ago),
            )
        )
    last_week = make_user()
    db.session.add(
        Invitation(
            shift_id=other.id,
            user_id=last_week.id,
            channel="email",
            sent_at=now - dt.timedelta(days=8),
        )
    )
    coordinator = city.coordinator
    db.session.flush()

    listed = queries.rank_candidates(shift, now=now)
    ids = [c.user_id for c in listed]

    assert ids[0] == maria.id
    assert {newcomer.id, last_week.id} <= set(ids)
    assert not {
        on_it.id,
        opted_out.id,
        unreachable.id,
        invited_here.id,
        at_cap.id,
        coordinator.id,
    } & set(ids)
    first = listed[0]
    assert first.name == "María G." and first.channel == "sms"
    assert reason_line(first.match, COORDINATOR) == (
        "free Saturday mornings · 1.2 mi away · speaks Spanish · cares about the environment"
    )
    assert next(c for c in listed if c.user_id == newcomer.id).channel == "email"


def test_recommendations_run_a_constant_number_of_queries(db, city, maria, now, count_queries):
    shift_in(city.trees, city.a, local(SATURDAY, 9))
    with count_queries() as few:
        queries.recommend_shifts(maria.id, now=now, limit=3)
    rng = random.Random(9)
    for n in range(60):
        shift_in(rng.choice([city.trees, city.tutoring]), city.b, now + dt.timedelta(hours=5 + n))
    make_signup(maria, shift_in(city.trees, city.a, local(SUNDAY, 9)), "attended")
    with count_queries() as many:
        queries.recommend_shifts(maria.id, now=now, limit=3)
    assert len(many) == len(few) <= 12


def test_candidates_run_a_constant_number_of_queries(db, city, maria, now, count_queries):
    shift = shift_in(city.trees, city.a, local(SATURDAY, 9))
    with count_queries() as few:
        queries.rank_candidates(shift, now=now)
    for n in range(40):
        person = make_user(availability_mask=availability_bit(5, 0) if n % 2 else 0)
        person.causes = [city.environment]
        person.languages = [city.spanish]
    db.session.flush()
    with count_queries() as many:
        queries.rank_candidates(shift, now=now)
    assert len(many) == len(few) <= 10


def test_best_scores_by_initiative(db, city, maria, now):
    shift_in(city.trees, city.a, local(SATURDAY, 9))
    shift_in(city.tutoring, city.b, local(TUESDAY, 18))
    scores = queries.best_scores_by_initiative(maria.id, now=now)
    assert scores[city.trees.id] > scores[city.tutoring.id]
    assert city.adults_only.id not in scores


def test_short_names():
    assert queries.short_name("María González") == "María G."
    assert queries.short_name("Cher") == "Cher"
    assert queries.short_name("", "sam@example.org") == "sa…"
    assert queries.short_name("", None) == "—"


def test_saturday_morning_bit_is_the_one_the_profile_uses():
    assert SATURDAY_MORNING == 1 << 15
