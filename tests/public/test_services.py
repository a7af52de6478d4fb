"""Finding opportunities: search filters, upcoming shifts, an initiative's page."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from tests.factories import (
    make_cause,
    make_coordinator,
    make_hours_entry,
    make_initiative,
    make_language,
    make_metric,
    make_neighborhood,
    make_organization,
    make_outcome_record,
    make_shift,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core.errors import NotFound
from volunteer_app.core.time import from_local
from volunteer_app.impact.outcomes import goals_with_progress
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.public import services
from volunteer_app.public.services import InitiativeFilters
from volunteer_app.shifts.models import ShiftStatus

D = decimal.Decimal


def at(tz: str, year: int, month: int, day: int, hour: int) -> dt.datetime:
    """A wall-clock time in `tz` as a UTC instant."""
    return from_local(dt.datetime.combine(dt.date(year, month, day), dt.time(hour)), tz)


def slugs(page: services.ResultsPage) -> list[str]:
    return [result.initiative.slug for result in page.items]


def search(now, **filters) -> services.ResultsPage:
    return services.search_initiatives(
        InitiativeFilters(**filters), now=now, per_page=50, goals=goals_with_progress
    )


# ---------------------------------------------------------------------------------------------
# Which initiatives are listed


def test_only_published_initiatives_are_listed(db, now):
    published = make_initiative(slug="published")
    make_initiative(slug="draft", status=InitiativeStatus.DRAFT)
    make_initiative(slug="closed", status=InitiativeStatus.CLOSED)
    for initiative in (published,):
        make_shift(initiative, starts_at=now + dt.timedelta(days=2))

    assert slugs(search(now)) == ["published"]
    assert slugs(search(now, q="initiative")) == ["published"]


def test_initiatives_with_the_soonest_shift_come_first_then_the_rest_by_title(db, now):
    later = make_initiative(slug="later", title="Aardvark walk")
    sooner = make_initiative(slug="sooner", title="Zebra count")
    make_initiative(slug="no-shifts-b", title="Bee garden")
    make_initiative(slug="no-shifts-a", title="apple orchard")
    make_shift(later, starts_at=now + dt.timedelta(days=5))
    make_shift(sooner, starts_at=now + dt.timedelta(days=1))
    make_shift(sooner, starts_at=now - dt.timedelta(days=1))  # past: ignored

    page = search(now)

    assert slugs(page) == ["sooner", "later", "no-shifts-a", "no-shifts-b"]
    assert page.items[0].next_shift.starts_at == now + dt.timedelta(days=1)
    assert page.items[0].matching_shifts == 1


def test_cancelled_and_started_shifts_do_not_count(db, now):
    initiative = make_initiative(slug="only-old")
    make_shift(initiative, starts_at=now - dt.timedelta(hours=1))
    make_shift(initiative, starts_at=now + dt.timedelta(days=1), status=ShiftStatus.CANCELLED)

    result = search(now).items[0]

    assert result.next_shift is None
    assert slugs(search(now, open_only=True)) == []


def test_cause_filter(db, now):
    make_initiative(slug="green", cause=make_cause("environment", "Environment"))
    make_initiative(slug="books", cause=make_cause("education", "Education"))

    assert slugs(search(now, cause="education")) == ["books"]
    assert slugs(search(now, cause="nonexistent")) == []


def test_language_filter(db, now):
    spanish = make_language("es", "Spanish")
    bilingual = make_initiative(slug="bilingual")
    bilingual.languages.append(spanish)
    english_only = make_initiative(slug="english-only")
    english_only.languages.append(make_language("en", "English"))
    db.session.flush()

    assert slugs(search(now, language="es")) == ["bilingual"]


def test_neighborhood_filter_matches_served_areas_and_shift_locations(db, now):
    harbor, hills = make_neighborhood("harbor"), make_neighborhood("hills")
    serves = make_initiative(slug="serves-harbor")
    serves.neighborhoods.append(harbor)
    visits = make_initiative(slug="shift-in-harbor")
    elsewhere = make_initiative(slug="hills-only")
    elsewhere.neighborhoods.append(hills)
    db.session.flush()
    # The serving initiative's shifts: one with no location of its own, one in the hills.
    unlocated = make_shift(serves, starts_at=now + dt.timedelta(days=3))
    make_shift(serves, starts_at=now + dt.timedelta(days=1), neighborhood_id=hills.id)
    in_harbor = make_shift(visits, starts_at=now + dt.timedelta(days=2), neighborhood_id=harbor.id)
    make_shift(elsewhere, starts_at=now + dt.timedelta(days=1), neighborhood_id=hills.id)

    page = search(now, neighborhood="harbor")

    assert slugs(page) == ["shift-in-harbor", "serves-harbor"]
    assert [r.next_shift for r in page.items] == [in_harbor, unlocated]
    assert slugs(search(now, neighborhood="nowhere")) == []


def test_date_range_is_judged_on_local_dates(db, now):
    los_angeles = make_initiative(slug="la", timezone="America/Los_Angeles")
    tokyo = make_initiative(slug="tokyo", timezone="Asia/Tokyo")
    # Friday 5 June 20:00 in Los Angeles is already Saturday 6 June in UTC.
    make_shift(los_angeles, starts_at=at("America/Los_Angeles", 2026, 6, 5, 20))
    # Saturday 6 June 08:00 in Tokyo is still Friday 5 June in UTC.
    make_shift(tokyo, starts_at=at("Asia/Tokyo", 2026, 6, 6, 8))

    assert slugs(search(now, from_on=dt.date(2026, 6, 6))) == ["tokyo"]
    assert slugs(search(now, to_on=dt.date(2026, 6, 5))) == ["la"]
    assert slugs(search(now, from_on=dt.date(2026, 6, 5), to_on=dt.date(2026, 6, 5))) == ["la"]
    assert slugs(search(now, from_on=dt.date(2026, 6, 7))) == []


def test_extreme_dates_do_not_break_the_search(db, now):
    make_shift(make_initiative(slug="any"), starts_at=now + dt.timedelta(days=1))

    assert slugs(search(now, from_on=dt.date.min, to_on=dt.date.max)) == ["any"]


def test_date_range_picks_the_next_shift_inside_it(db, now):
    initiative = make_initiative(timezone="America/Chicago")
    make_shift(initiative, starts_at=at("America/Chicago", 2026, 6, 3, 9))
    in_range = make_shift(initiative, starts_at=at("America/Chicago", 2026, 6, 10, 9))
    make_shift(initiative, starts_at=at("America/Chicago", 2026, 6, 12, 9))

    result = search(now, from_on=dt.date(2026, 6, 8), to_on=dt.date(2026, 6, 11)).items[0]

    assert result.next_shift == in_range
    assert result.matching_shifts == 1


@pytest.mark.parametrize(
    ("tz", "wall", "is_weekend"),
    [
        # Saturday 23:00 in Los Angeles is Sunday in UTC: a weekend either way.
        ("America/Los_Angeles", (2026, 6, 6, 23), True),
        # Friday 23:00 in Los Angeles is Saturday in UTC, but a weekday where it happens.
        ("America/Los_Angeles", (2026, 6, 5, 23), False),
        # Sunday 20:00 in Los Angeles is Monday in UTC, but a weekend where it happens.
        ("America/Los_Angeles", (2026, 6, 7, 20), True),
        # Monday 08:00 in Tokyo is Sunday in UTC, but a weekday where it happens.
        ("Asia/Tokyo", (2026, 6, 8, 8), False),
        ("America/New_York", (2026, 6, 3, 10), False),
    ],
)
def test_weekday_and_weekend_are_judged_in_the_initiatives_timezone(db, now, tz, wall, is_weekend):
    initiative = make_initiative(slug="the-one", timezone=tz)
    make_shift(initiative, starts_at=at(tz, *wall))

    weekend = slugs(search(now, when=services.WEEKEND))
    weekday = slugs(search(now, when=services.WEEKDAY))

    assert (weekend, weekday) == ((["the-one"], []) if is_weekend else ([], ["the-one"]))


def test_weekend_filter_skips_weekday_shifts_to_find_the_next_weekend_one(db, now):
    initiative = make_initiative(timezone="America/New_York")
    make_shift(initiative, starts_at=at("America/New_York", 2026, 6, 2, 10))  # Tuesday
    saturday = make_shift(initiative, starts_at=at("America/New_York", 2026, 6, 6, 10))

    result = search(now, when=services.WEEKEND).items[0]

    assert result.next_shift == saturday


def test_open_only_keeps_shifts_with_spots_left(db, now):
    full = make_initiative(slug="full")
    make_shift(full, starts_at=now + dt.timedelta(days=1), capacity=2, spots_taken=2)
    mixed = make_initiative(slug="mixed")
    make_shift(mixed, starts_at=now + dt.timedelta(days=1), capacity=3, spots_taken=3)
    has_room = make_shift(mixed, starts_at=now + dt.timedelta(days=2), capacity=5, spots_taken=1)
    make_initiative(slug="no-shifts")

    page = search(now, open_only=True)

    assert slugs(page) == ["mixed"]
    assert page.items[0].next_shift == has_room
    assert page.items[0].spots_left == 4
    # Without the filter a full shift is still the next one, shown as full.
    assert search(now).items[0].next_shift.spots_left == 0


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("tree", ["trees"]),
        ("TREE", ["trees"]),
        ("harbor friends", ["trees"]),  # organization name, every word must match
        ("tutoring", ["reading"]),  # story
        ("100%", ["percent"]),
        ("%", ["percent"]),
        ("_", ["underscore"]),
        ("nothing-like-this", []),
    ],
)
def test_text_search(db, now, q, expected):
    make_initiative(make_organization("Harbor Friends"), slug="trees", title="Tree planting")
    make_initiative(slug="reading", title="Reading buddies", story="Weekly tutoring at libraries.")
    make_initiative(slug="percent", title="100% clean parks")
    make_initiative(slug="underscore", title="snake_case club")

    assert sorted(slugs(search(now, q=q))) == expected


def test_filters_combine(db, now):
    education = make_cause("education", "Education")
    make_language("es", "Spanish")
    match = make_initiative(slug="match", cause=education, title="Reading")
    match.languages.append(make_language("es"))
    wrong_cause = make_initiative(slug="wrong-cause", title="Reading")
    wrong_cause.languages.append(make_language("es"))
    db.session.flush()
    for initiative in (match, wrong_cause):
        make_shift(initiative, starts_at=at("America/New_York", 2026, 6, 6, 10))

    page = search(now, q="read", cause="education", language="es", when=services.WEEKEND)

    assert slugs(page) == ["match"]


def test_pages_split_the_results_and_clamp_the_page_number(db, now):
    for n in range(5):
        initiative = make_initiative(slug=f"i{n}")
        make_shift(initiative, starts_at=now + dt.timedelta(days=n + 1))

    def page(number):
        return services.search_initiatives(
            InitiativeFilters(), now=now, page=number, per_page=2, goals=goals_with_progress
        )

    assert slugs(page(1)) == ["i0", "i1"]
    assert slugs(page(3)) == ["i4"]
    assert (page(3).pages, page(3).total, page(3).has_next, page(3).has_prev) == (3, 5, False, True)
    assert (page(3).first_number, page(3).last_number) == (5, 5)
    assert slugs(page(-1)) == ["i0", "i1"] and page(-1).page == 1
    assert slugs(page(10**12)) == ["i4"] and page(10**12).page == 3


def test_headline_goal_is_the_first_metric_with_its_progress(db, now):
    initiative = make_initiative()
    headline = make_metric(initiative, "Trees planted", position=0, target=100)
    make_metric(initiative, "Other", position=1)
    make_outcome_record(headline, 62)
    db.session.expire(initiative)

    result = search(now).items[0]

    assert result.headline_goal.metric == headline
    assert result.headline_goal.achieved == D("62")


# ---------------------------------------------------------------------------------------------
# The home page


def test_upcoming_shifts_are_open_scheduled_future_shifts_of_published_initiatives(db, now):
    published = make_initiative()
    draft = make_initiative(status=InitiativeStatus.DRAFT)
    second = make_shift(published, starts_at=now + dt.timedelta(days=2))
    first = make_shift(published, starts_at=now + dt.timedelta(hours=3))
    make_shift(published, starts_at=now + dt.timedelta(hours=1), capacity=1, spots_taken=1)
    make_shift(published, starts_at=now + dt.timedelta(hours=2), status=ShiftStatus.CANCELLED)
    make_shift(published, starts_at=now - dt.timedelta(hours=1))
    make_shift(draft, starts_at=now + dt.timedelta(hours=1))
    third = make_shift(published, starts_at=now + dt.timedelta(days=3))

    assert services.upcoming_shifts(now=now, limit=8) == [first, second, third]
    assert services.upcoming_shifts(now=now, limit=2) == [first, second]


def test_program_totals_count_approved_hours_only(db, now):
    initiative = make_initiative()
    make_initiative(status=InitiativeStatus.DRAFT)
    alex, sam = make_user(), make_user()
    make_hours_entry(alex, initiative, 90)
    make_hours_entry(alex, initiative, 60)
    make_hours_entry(sam, initiative, 30)
    make_hours_entry(make_user(), initiative, 600, status="pending")

    totals = services.program_totals()

    assert (totals.volunteers, totals.hours, totals.initiatives) == (2, 3, 1)


# ---------------------------------------------------------------------------------------------
# An initiative's page


def test_initiative_page_lists_shifts_that_have_not_ended(db, now):
    initiative = make_initiative(slug="park")
    in_progress = make_shift(initiative, starts_at=now - dt.timedelta(hours=1), hours=3)
    make_shift(initiative, starts_at=now - dt.timedelta(hours=5), hours=3)  # over
    make_shift(initiative, starts_at=now + dt.timedelta(days=1), status=ShiftStatus.CANCELLED)
    later = make_shift(initiative, starts_at=now + dt.timedelta(days=2))

    page = services.initiative_page("park", viewer=None, now=now, goals=goals_with_progress)

    assert page.shifts == [in_progress, later]
    assert not page.more_shifts and not page.is_preview


def test_initiative_page_shows_a_limited_number_of_shifts(db, now):
    initiative = make_initiative(slug="many")
    for n in range(4):
        make_shift(initiative, starts_at=now + dt.timedelta(days=n + 1))

    page = services.initiative_page(
        "many", viewer=None, now=now, shift_limit=3, goals=goals_with_progress
    )

    assert len(page.shifts) == 3 and page.more_shifts


def test_a_draft_is_not_found_except_by_its_coordinators_and_admins(db, now):
    org = make_organization()
    draft = make_initiative(org, slug="draft", status=InitiativeStatus.DRAFT)
    own = make_coordinator(org)
    other = make_coordinator(make_organization())
    admin = make_user(role=Role.ADMIN)

    for viewer in (None, make_user(), other):
        with pytest.raises(NotFound):
            services.initiative_page("draft", viewer=viewer, now=now, goals=goals_with_progress)
    for viewer in (own, admin):
        page = services.initiative_page("draft", viewer=viewer, now=now, goals=goals_with_progress)
        assert page.initiative == draft and page.is_preview


def test_a_closed_initiative_shows_its_goals_but_no_shifts(db, now):
    initiative = make_initiative(slug="done", status=InitiativeStatus.CLOSED)
    metric = make_metric(initiative, target=10)
    make_outcome_record(metric, 10)
    make_shift(initiative, starts_at=now + dt.timedelta(days=1))

    page = services.initiative_page("done", viewer=None, now=now, goals=goals_with_progress)

    assert page.is_closed and page.shifts == []
    assert page.goals[0].is_met


def test_an_unknown_initiative_is_not_found(db, now):
    with pytest.raises(NotFound):
        services.initiative_page("no-such-thing", viewer=None, now=now, goals=goals_with_progress)
