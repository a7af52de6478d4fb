"""Dashboards with many goals: a summary by pace state, the goals that need attention most,
and a goals page that lists every goal with the dashboard's filters; all through real
requests, plus the attention order as a pure function."""

from __future__ import annotations

import datetime as dt
import decimal
import html
import re

import pytest

from tests.factories import (
    make_coordinator,
    make_initiative,
    make_metric,
    make_organization,
    make_outcome_record,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.impact.goal_lists import goal_states, goals_needing_attention
from volunteer_app.impact.outcomes import Pace, PaceState
from volunteer_app.impact.reports import GoalRow

# Goals stand as of the period's last day, 2025-05-31, whatever day the tests run.
SPRING = "from=2025-04-01&to=2025-05-31"
RECORDED_ON = dt.date(2025, 4, 10)
TITLES = ["Alder trees", "Birch trees", "Cedar trees", "Dogwood trees", "Elm trees"]

# Parks' 35 goals, (initiative, goal), in the order they are created (which is neither the
# report's order nor the order of attention).
MISSED = [
    ("Elm trees", "Missed early", dt.date(2025, 3, 1)),
    ("Birch trees", "Missed lately", dt.date(2025, 5, 20)),
]
OPEN = [
    (TITLES[(k * 3) % 5], f"Open {k:02d}", dt.date(2025, 6, 1) + dt.timedelta(weeks=k))
    for k in range(20)
]
NO_DEADLINE = [
    ("Elm trees", "No deadline 1"),
    ("Alder trees", "No deadline 2"),
    ("Cedar trees", "No deadline 3"),
    ("Alder trees", "No deadline 4"),
    ("Birch trees", "No deadline 5"),
    ("Dogwood trees", "No deadline 6"),
]
MET = [
    ("Dogwood trees", "Met 1"),
    ("Birch trees", "Met 2"),
    ("Elm trees", "Met 3"),
    ("Alder trees", "Met 4"),
    ("Cedar trees", "Met 5"),
    ("Birch trees", "Met 6"),
    ("Elm trees", "Met 7"),
]
# The 30 that need attention most: the latest missed deadline first, then the nearest
# deadlines, then no deadline and then reached, both by initiative title, then creation.
ATTENTION = [
    "Missed lately",
    "Missed early",
    *(f"Open {k:02d}" for k in range(20)),
    *(f"No deadline {n}" for n in (2, 4, 5, 3, 6, 1)),
    "Met 4",
    "Met 2",
]


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    w.parks = make_organization("Parks")
    w.libraries = make_organization("Libraries")
    make_user("admin@example.org", role=Role.ADMIN)
    make_coordinator(w.parks, "parks@example.org")
    make_coordinator(w.libraries, "libraries@example.org")
    make_user("vol@example.org")
    initiatives = {title: make_initiative(w.parks, title=title) for title in TITLES}
    for title, name, deadline_on in MISSED + OPEN:
        metric = make_metric(initiatives[title], name, target=100, deadline_on=deadline_on)
        make_outcome_record(metric, 10, period_start_on=RECORDED_ON)
    for title, name in NO_DEADLINE:
        make_metric(initiatives[title], name, target=100)
    for i, (title, name) in enumerate(MET):
        # A goal met stays met, deadline passed or not.
        deadline_on = dt.date(2025, 5, 1) if i % 2 else None
        metric = make_metric(initiatives[title], name, target=10, deadline_on=deadline_on)
        make_outcome_record(metric, 10, period_start_on=RECORDED_ON)
    reading = make_initiative(w.libraries, title="Read more")
    make_metric(reading, "Books lent", target=500, deadline_on=dt.date(2025, 12, 31))
    make_metric(reading, "Readers", target=50)
    workshops = make_metric(reading, "Workshops", target=5, deadline_on=dt.date(2025, 5, 1))
    make_outcome_record(workshops, 5, period_start_on=RECORDED_ON)
    db.session.commit()
    return w


def text(response) -> str:
    return response.get_data(as_text=True)


def goal_names(page: str) -> list[str]:
    """The goals in the page's goals table, in order."""
    table = re.search(r'<table class="goals-table".*?</table>', page, flags=re.S)
    assert table, "no goals table on the page"
    return [name.strip() for name in re.findall(r'<th scope="row">([^<]+)', table.group(0))]


def state_counts(page: str) -> dict[str, int]:
    block = re.search(r'<ul class="stats impact-stats goal-states".*?</ul>', page, flags=re.S)
    assert block, "no summary of goal states on the page"
    pairs = re.findall(
        r'<span class="number">([\d,]+)</span>\s*<span class="stat-label">([^<]+)</span>',
        block.group(0),
    )
    return {label: int(number.replace(",", "")) for number, label in pairs}


# ---------------------------------------------------------------------------------------------
# The dashboard summarizes


def test_a_program_of_35_goals_shows_the_30_that_need_attention(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get(f"/impact/program?{SPRING}&organization={world.parks.id}"))

    assert goal_names(page) == ATTENTION
    assert "The 30 goals that need attention most, of 35." in page
    # The chart shows the same goals as the table.
    chart = re.search(r'<svg [^>]*aria-labelledby="chart-goals-title.*?</svg>', page, re.S)
    bars = re.findall(r'<text x="1" [^>]*font-size="11"[^>]*>([^<]+) \(', chart.group(0))
    assert bars == ATTENTION


def test_the_summary_counts_every_goal_by_its_state(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get(f"/impact/program?{SPRING}&organization={world.parks.id}"))

    counts = state_counts(page)
    assert counts == {
        "goals in all": 35,
        "targets reached": 7,
        "still open, deadline ahead": 20,
        "deadline passed short of the target": 2,
        "still open, no deadline": 6,
    }
    assert sum(counts.values()) - counts["goals in all"] == 35


def test_see_all_goes_to_the_goals_page_with_the_same_filters(world, client, auth):
    auth.login("admin@example.org")
    query = f"{SPRING}&organization={world.parks.id}"
    page = text(client.get(f"/impact/program?{query}"))

    link = re.search(r'<a href="([^"]+)">See all 35 goals</a>', page)
    assert link, "no link to every goal"
    href = html.unescape(link.group(1))
    assert href == f"/impact/program/goals?{query}"

    goals_page = text(client.get(href))
    assert sorted(goal_names(goals_page)) == sorted(
        [name for _, name, _ in MISSED + OPEN] + [name for _, name in NO_DEADLINE + MET]
    )
    assert "Books lent" not in goals_page  # another organization's goal: the filter held
    assert "<h1>Program goals</h1>" in goals_page
    assert "April 1, 2025 to May 31, 2025" in goals_page
    assert "Organization: Parks" in goals_page
    assert state_counts(goals_page)["goals in all"] == 35
    back = html.escape(f"/impact/program?{query}")
    assert f'<a href="{back}">Back to the program dashboard</a>' in goals_page
    csv = re.search(r'<a href="([^"]+)">Every goal <span class="muted">\(CSV\)</span>', goals_page)
    assert csv and html.unescape(csv.group(1)) == f"/impact/program/goals.csv?{query}"
    lines = client.get(html.unescape(csv.group(1))).data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 35


def test_the_goals_page_runs_one_goal_query_and_a_constant_number(
    world, client, auth, db, count_queries
):
    auth.login("admin@example.org")
    url = f"/impact/program/goals?{SPRING}"
    client.get(url)
    # Both requests start with nothing cached in the session, as on a fresh server request.
    db.session.expire_all()
    with count_queries() as small:
        page = text(client.get(url))
    assert len(goal_names(page)) == 38  # Parks' 35 and the libraries' 3
    for i in range(12):
        metric = make_metric(make_initiative(world.parks, title=f"More {i}"), f"More {i}")
        make_outcome_record(metric, i + 1, period_start_on=RECORDED_ON)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as larger:
        assert len(goal_names(text(client.get(url)))) == 50
    assert len(small) == len(larger)
    # The goals come from one query, and the page builds no whole report.
    assert sum("outcome_metrics" in statement for statement in larger) == 1
    db.session.expire_all()
    with count_queries() as dashboard:
        client.get(f"/impact/program?{SPRING}")
    assert len(larger) < len(dashboard)


def test_an_organization_with_3_goals_shows_them_all(world, client, auth):
    auth.login("libraries@example.org")
    page = text(client.get(f"/impact/organizations/{world.libraries.id}?{SPRING}"))

    assert goal_names(page) == ["Books lent", "Readers", "Workshops"]
    assert "See all" not in page
    assert "goal-states" not in page
    goals_page = text(client.get(f"/impact/organizations/{world.libraries.id}/goals?{SPRING}"))
    assert goal_names(goals_page) == ["Books lent", "Readers", "Workshops"]
    assert "Goals: Libraries" in goals_page
    assert "Back to the Libraries dashboard" in goals_page


def test_the_organization_dashboard_links_to_its_own_goals_page(world, client, auth):
    auth.login("parks@example.org")
    page = text(client.get(f"/impact/organizations/{world.parks.id}?{SPRING}"))

    assert len(goal_names(page)) == 30
    link = re.search(r'<a href="([^"]+)">See all 35 goals</a>', page)
    assert html.unescape(link.group(1)) == f"/impact/organizations/{world.parks.id}/goals?{SPRING}"
    assert len(goal_names(text(client.get(html.unescape(link.group(1)))))) == 35


# ---------------------------------------------------------------------------------------------
# Who may see the goals pages


def test_goals_pages_send_anonymous_people_to_log_in(world, client):
    for url in ("/impact/program/goals", f"/impact/organizations/{world.parks.id}/goals"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_the_program_goals_page_is_for_admins(world, client, auth):
    auth.login("vol@example.org")
    assert client.get("/impact/program/goals").status_code == 403
    auth.logout()
    auth.login("parks@example.org")
    assert client.get("/impact/program/goals").status_code == 403


def test_an_organizations_goals_are_for_its_coordinators_and_admins(world, client, auth):
    url = f"/impact/organizations/{world.parks.id}/goals?{SPRING}"
    auth.login("libraries@example.org")
    refused = client.get(url)
    assert refused.status_code in (403, 404)
    assert "Alder trees" not in text(refused)
    assert client.get("/impact/organizations/99999/goals").status_code == 404
    auth.logout()
    auth.login("vol@example.org")
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login("parks@example.org")
    assert client.get(url).status_code == 200
    auth.logout()
    auth.login("admin@example.org")
    assert client.get(url).status_code == 200


# ---------------------------------------------------------------------------------------------
# The order of attention, as a pure function


def _goal(title: str, name: str, state: PaceState, deadline_on: dt.date | None = None):
    return GoalRow(
        metric_id=0,
        initiative_id=0,
        initiative_slug=title.lower(),
        initiative_title=title,
        name=name,
        unit="trees",
        kind="output",
        target=decimal.Decimal(10),
        baseline=None,
        deadline_on=deadline_on,
        in_period=decimal.Decimal(0),
        to_date=decimal.Decimal(0),
        pace=Pace(state, decimal.Decimal(10)),
    )


def test_goals_needing_attention_orders_by_urgency_then_title_then_input():
    may, june, july = dt.date(2025, 5, 1), dt.date(2025, 6, 1), dt.date(2025, 7, 1)
    goals = [
        _goal("Beta", "met", PaceState.MET, may),
        _goal("Beta", "no deadline, second of Beta", PaceState.NO_DEADLINE),
        _goal("Alpha", "open in July", PaceState.ON_PACE, july),
        _goal("Beta", "missed in April", PaceState.MISSED, dt.date(2025, 4, 1)),
        _goal("beta", "no deadline, lower-case beta", PaceState.NO_DEADLINE),
        _goal("Beta", "open in June", PaceState.ON_PACE, june),
        _goal("Alpha", "no deadline, Alpha", PaceState.NO_DEADLINE),
        _goal("Alpha", "missed in May", PaceState.MISSED, may),
        _goal("Beta", "open in June too", PaceState.ON_PACE, june),
        _goal("Alpha", "open in June, Alpha", PaceState.ON_PACE, june),
    ]
    ordered = [g.name for g in goals_needing_attention(goals, 100)]
    assert ordered == [
        "missed in May",
        "missed in April",
        "open in June, Alpha",
        "open in June",
        "open in June too",
        "open in July",
        "no deadline, Alpha",
        "no deadline, second of Beta",
        "no deadline, lower-case beta",
        "met",
    ]
    assert [g.name for g in goals_needing_attention(goals, 3)] == ordered[:3]
    assert goals_needing_attention([], 30) == []


def test_goal_states_count_each_state():
    goals = [
        _goal("A", "a", PaceState.MET),
        _goal("A", "b", PaceState.MET),
        _goal("A", "c", PaceState.MISSED, dt.date(2025, 1, 1)),
        _goal("A", "d", PaceState.ON_PACE, dt.date(2025, 9, 1)),
    ]
    states = goal_states(goals)
    assert (states.met, states.on_pace, states.missed, states.no_deadline) == (2, 1, 1, 0)
    assert states.total == 4
