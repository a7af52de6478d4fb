"""The public pages through HTTP: home, the initiatives list with filters, an initiative."""

from __future__ import annotations

import datetime as dt
import re

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
from volunteer_app.core.db import utcnow
from volunteer_app.core.time import from_local
from volunteer_app.initiatives.models import InitiativeStatus, MetricKind

# Far enough ahead to stay upcoming whatever today's date is. 5 July 2031 is a Saturday.
SATURDAY = dt.date(2031, 7, 5)


def at(tz: str, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return from_local(dt.datetime.combine(day, dt.time(hour, minute)), tz)


def text(response) -> str:
    """The page as text, with the narrow spaces CLDR puts before AM/PM made plain."""
    return re.sub(r"[\u202f\u00a0]", " ", response.get_data(as_text=True))


def settle(db) -> None:
    """Commit and forget every loaded row, so a request loads what it needs itself (and the
    query counts below are what a real request would run)."""
    db.session.commit()
    db.session.expunge_all()


def listed_slugs(response) -> list[str]:
    return re.findall(r'<h3><a href="/initiatives/([^"]+)">', response.get_data(as_text=True))


# ---------------------------------------------------------------------------------------------
# Home


def test_home_welcomes_and_shows_what_is_happening_soon_in_local_time(db, client):
    initiative = make_initiative(
        slug="river-cleanup", title="River clean-up", timezone="America/Chicago"
    )
    make_shift(initiative, starts_at=at("America/Chicago", SATURDAY, 9), role="Team lead")
    hidden = make_initiative(title="Secret draft", status=InitiativeStatus.DRAFT)
    make_shift(hidden, starts_at=at("America/New_York", SATURDAY, 9))
    settle(db)

    page = text(client.get("/"))

    assert "Volunteer where it counts" in page
    assert "River clean-up · Team lead" in page
    assert "Saturday, July 5, 2031" in page
    assert "9:00 AM–12:00 PM" in page
    assert "Secret draft" not in page
    assert listed_slugs(client.get("/")) == ["river-cleanup"]


def test_home_shows_headline_totals_once_there_are_approved_hours(db, client):
    initiative = make_initiative()
    make_hours_entry(make_user(), initiative, 300)
    make_hours_entry(make_user(), initiative, 150)
    settle(db)

    page = text(client.get("/"))

    assert re.search(r'class="number">2</span>\s*volunteers', page)
    assert re.search(r'class="number">7</span>\s*hours served', page)


def test_home_has_a_slot_for_recommendations_and_landmarks(db, client):
    page = text(client.get("/"))

    assert '<main id="main"' in page and 'href="#main"' in page
    assert "<nav" in page and "<footer" in page
    assert 'role="search"' in page


# ---------------------------------------------------------------------------------------------
# The list


@pytest.fixture
def city(db):
    """Two initiatives that differ in every way a visitor can filter by."""
    education = make_cause("education", "Education")
    environment = make_cause("environment", "Environment")
    harbor = make_neighborhood("harbor", name="Harbor")
    make_neighborhood("hills", name="Hills")
    spanish = make_language("es", "Spanish")
    reading = make_initiative(
        slug="reading", title="Reading buddies", cause=education, timezone="America/Chicago"
    )
    reading.languages.append(spanish)
    reading.neighborhoods.append(harbor)
    trees = make_initiative(
        slug="trees", title="Tree planting", cause=environment, timezone="America/Los_Angeles"
    )
    db.session.flush()
    # Reading: a Tuesday, full. Trees: a Saturday night in Los Angeles (Sunday in UTC).
    make_shift(
        reading,
        starts_at=at("America/Chicago", SATURDAY + dt.timedelta(days=3), 16),
        capacity=1,
        spots_taken=1,
    )
    make_shift(trees, starts_at=at("America/Los_Angeles", SATURDAY, 23), capacity=8)
    settle(db)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["trees", "reading"]),
        ("?cause=education", ["reading"]),
        ("?neighborhood=harbor", ["reading"]),
        ("?neighborhood=hills", []),
        ("?language=es", ["reading"]),
        ("?q=TREE", ["trees"]),
        ("?open=y", ["trees"]),
        ("?when=weekend", ["trees"]),
        ("?when=weekday", ["reading"]),
        (f"?from={SATURDAY + dt.timedelta(days=1)}", ["reading"]),
        (f"?to={SATURDAY}", ["trees"]),
        (f"?from={SATURDAY}&to={SATURDAY}&when=weekend&cause=environment", ["trees"]),
    ],
)
def test_each_filter_narrows_the_list(city, client, query, expected):
    response = client.get("/initiatives" + query)

    assert response.status_code == 200
    assert listed_slugs(response) == expected


def test_results_show_the_next_shift_and_its_spots(city, client):
    page = text(client.get("/initiatives"))

    assert "Jul 5, 2031" in page and "11:00 PM" in page  # local time in Los Angeles
    assert "8 spots left" in page
    assert "Full – join waitlist" in page
    assert re.search(r'role="status">\s*2 opportunities', page)


@pytest.mark.parametrize(
    "query",
    [
        "?from=not-a-date",
        "?to=2031-02-30",
        "?from=2031-07-10&to=2031-07-01",
        "?cause=no-such-cause",
        "?neighborhood=%27%3B--",
        "?language=xx",
        "?when=someday",
        "?page=-1",
        "?page=abc",
        "?page=99999999999999999999999",
        "?open=maybe",
        "?q=" + "x" * 5000,
        "?q=%25%25_",
        "?from=0001-01-01&to=9999-12-31",
    ],
)
def test_bad_filter_values_never_break_the_page(city, client, query):
    response = client.get("/initiatives" + query)

    assert response.status_code == 200
    assert "Find opportunities" in response.get_data(as_text=True)


def test_an_invalid_filter_is_reported_and_ignored(city, client):
    page = text(client.get("/initiatives?cause=no-such-cause&from=nope&language=es"))

    assert "Not a valid choice." in page
    assert "Not a valid date value." in page
    # The valid filter still applies.
    assert listed_slugs(client.get("/initiatives?cause=no-such-cause&language=es")) == ["reading"]


def test_a_too_long_search_is_reported(city, client):
    page = text(client.get("/initiatives?q=" + "x" * 500))

    assert "Use at most 100 characters." in page
    assert listed_slugs(client.get("/initiatives?q=" + "x" * 500)) == ["trees", "reading"]


def test_an_end_date_before_the_start_is_reported(city, client):
    page = text(client.get("/initiatives?from=2031-07-10&to=2031-07-01"))

    assert "The end date is before the start date." in page


def test_draft_and_closed_initiatives_are_never_listed(db, client):
    make_initiative(slug="visible")
    make_initiative(slug="hidden-draft", status=InitiativeStatus.DRAFT)
    make_initiative(slug="hidden-closed", status=InitiativeStatus.CLOSED)
    settle(db)

    assert listed_slugs(client.get("/initiatives")) == ["visible"]
    assert listed_slugs(client.get("/initiatives?q=hidden")) == []


def test_pages_keep_the_filters(app, db, client):
    environment = make_cause("environment", "Environment")
    for n in range(app.config["PAGE_SIZE"] + 3):
        initiative = make_initiative(slug=f"green-{n:02d}", cause=environment)
        make_shift(initiative, starts_at=at("America/New_York", SATURDAY, 9) + dt.timedelta(days=n))
    make_initiative(slug="other-cause", cause=make_cause("education", "Education"))
    settle(db)

    first = client.get("/initiatives?cause=environment&when=weekend")
    first_page = first.get_data(as_text=True)
    second = client.get("/initiatives?cause=environment&when=weekend&page=2")

    # 15 green initiatives, only those on a Saturday or Sunday: days 0, 1, 7, 8 and 14.
    assert listed_slugs(first) == ["green-00", "green-01", "green-07", "green-08", "green-14"]
    assert "page=2" not in first_page
    everything = client.get("/initiatives?cause=environment")
    page_one = everything.get_data(as_text=True)
    assert len(listed_slugs(everything)) == app.config["PAGE_SIZE"]
    next_link = re.search(r'href="([^"]*page=2[^"]*)" rel="next"', page_one).group(1)
    assert "cause=environment" in next_link
    assert 'aria-current="page"' in page_one
    assert listed_slugs(client.get(next_link.replace("&amp;", "&"))) == [
        "green-12",
        "green-13",
        "green-14",
    ]
    assert second.status_code == 200


# ---------------------------------------------------------------------------------------------
# An initiative's page


def test_initiative_page_shows_story_goals_and_local_shift_times(db, client):
    initiative = make_initiative(
        slug="trees",
        title="Street trees",
        timezone="America/Chicago",
        story="We plant trees.\n\nShade for everyone.",
        minimum_age=14,
    )
    initiative.neighborhoods.append(make_neighborhood("harbor", name="Harbor"))
    initiative.languages.append(make_language("es", "Spanish"))
    trees = make_metric(initiative, "Trees planted", unit="trees", target=100)
    reading = make_metric(
        initiative,
        "Students reading at grade level",
        unit="students",
        target=80,
        baseline=40,
        kind=MetricKind.OUTCOME,
        position=1,
    )
    make_outcome_record(trees, 60)
    make_outcome_record(trees, 2)
    make_outcome_record(trees, 30, voided_at=dt.datetime(2026, 5, 2, tzinfo=dt.UTC))
    make_outcome_record(reading, 52)
    open_shift = make_shift(
        initiative, starts_at=at("America/Chicago", SATURDAY, 9), location_name="Harbor Park"
    )
    # 7 PM in Chicago is already Sunday in UTC: the page must still say Saturday.
    full_shift = make_shift(
        initiative, starts_at=at("America/Chicago", SATURDAY, 19), capacity=2, spots_taken=2
    )
    open_id, full_id = open_shift.id, full_shift.id
    settle(db)

    page = text(client.get("/initiatives/trees"))

    assert "<p>We plant trees.</p>" in page and "<p>Shade for everyone.</p>" in page
    assert "62 of 100 trees, 62%" in page
    assert '<progress max="100.00" value="62.00"' in page
    assert "Trees planted: 62 of 100 trees, 62%" in page  # the bar's accessible name
    assert "Before: 40 students. Now: 52 students." in page
    assert "Harbor" in page and "Spanish" in page and "14 years old" in page
    assert "Saturday, July 5, 2031" in page
    assert "9:00 AM–12:00 PM" in page and "7:00 PM–10:00 PM" in page
    assert "Sunday" not in page
    assert "10 spots left" in page
    assert "Full – join waitlist" in page
    assert f'href="/shifts/{open_id}"' in page and f'href="/shifts/{full_id}"' in page


def test_a_draft_is_404_for_the_public_but_previewed_by_its_coordinators(db, client, auth):
    org = make_organization()
    make_initiative(org, slug="draft", title="Draft plan", status=InitiativeStatus.DRAFT)
    make_coordinator(org, "own@example.org")
    make_coordinator(make_organization(), "outsider@example.org")
    make_user("admin@example.org", role=Role.ADMIN)
    make_user("volunteer@example.org")
    settle(db)

    assert client.get("/initiatives/draft").status_code == 404
    for outsider in ("volunteer@example.org", "outsider@example.org"):
        auth.login(outsider)
        assert client.get("/initiatives/draft").status_code == 404
        auth.logout()
    for viewer in ("own@example.org", "admin@example.org"):
        auth.login(viewer)
        response = client.get("/initiatives/draft")
        assert response.status_code == 200
        assert "Preview: this initiative is a draft." in text(response)
        auth.logout()


def test_a_closed_initiative_shows_what_it_achieved_without_shifts(db, client):
    closed = make_initiative(slug="done", title="Finished work", status=InitiativeStatus.CLOSED)
    make_metric(closed, "Trees planted", target=10)
    make_shift(closed, starts_at=at("America/New_York", SATURDAY, 9))
    settle(db)

    page = text(client.get("/initiatives/done"))

    assert "This initiative has ended" in page
    assert "Trees planted" in page
    assert "Upcoming shifts" not in page


def test_an_unknown_initiative_is_404(db, client):
    assert client.get("/initiatives/nothing-here").status_code == 404


# ---------------------------------------------------------------------------------------------
# Query counts stay constant however much there is to show


def _add_initiatives(count: int, shifts_each: int) -> None:
    hood = make_neighborhood()
    spanish = make_language("es", "Spanish")
    for _ in range(count):
        initiative = make_initiative(timezone="America/Denver")
        initiative.neighborhoods.append(hood)
        initiative.languages.append(spanish)
        metric = make_metric(initiative)
        make_outcome_record(metric, 5)
        for day in range(shifts_each):
            make_shift(
                initiative,
                starts_at=at("America/Denver", SATURDAY, 10) + dt.timedelta(days=day),
                neighborhood_id=hood.id,
            )


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/initiatives",
        "/initiatives?when=weekend&open=y&language=es&q=initiative",
        f"/initiatives?from={SATURDAY}&to={SATURDAY + dt.timedelta(days=30)}&page=2",
    ],
)
def test_list_pages_run_a_constant_number_of_queries(db, client, count_queries, url):
    _add_initiatives(3, shifts_each=2)
    settle(db)
    with count_queries() as few:
        assert client.get(url).status_code == 200

    _add_initiatives(30, shifts_each=9)
    settle(db)
    with count_queries() as many:
        assert client.get(url).status_code == 200

    assert len(many) == len(few)


def test_initiative_page_runs_a_constant_number_of_queries(db, client, auth, count_queries):
    def build(slug: str, shifts: int, metrics: int) -> None:
        initiative = make_initiative(slug=slug)
        initiative.neighborhoods.append(make_neighborhood())
        for n in range(metrics):
            metric = make_metric(initiative, f"Metric {n}")
            for value in range(3):
                make_outcome_record(metric, value)
        for day in range(shifts):
            make_shift(
                initiative,
                starts_at=at("America/New_York", SATURDAY, 9) + dt.timedelta(days=day),
                neighborhood_id=make_neighborhood().id,
            )

    build("small", shifts=1, metrics=1)
    build("large", shifts=40, metrics=6)
    make_coordinator(make_organization(), "coordinator@example.org")
    settle(db)

    counts = []
    for slug in ("small", "large"):
        with count_queries() as queries:
            assert client.get(f"/initiatives/{slug}").status_code == 200
        counts.append(len(queries))
    auth.login("coordinator@example.org")
    for slug in ("small", "large"):
        with count_queries() as queries:
            assert client.get(f"/initiatives/{slug}").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[2] == counts[3]


def test_only_web_addresses_become_organization_links(db, client):
    safe, unsafe = make_organization("Safe Org"), make_organization("Odd Org")
    safe.website, unsafe.website = "https://safe.example.org", "javascript:alert(1)"
    make_initiative(safe, slug="safe")
    make_initiative(unsafe, slug="odd")
    settle(db)

    assert 'href="https://safe.example.org"' in text(client.get("/initiatives/safe"))
    odd = text(client.get("/initiatives/odd"))
    assert "javascript:" not in odd and "Odd Org" in odd


def test_a_shift_under_way_is_shown_as_happening_now_without_a_signup_button(db, client):
    initiative = make_initiative(slug="now")
    make_shift(initiative, starts_at=utcnow() - dt.timedelta(hours=1), hours=3)
    settle(db)

    page = text(client.get("/initiatives/now"))

    assert "Happening now" in page
    assert "Details and sign up" not in page and "spots left" not in page
