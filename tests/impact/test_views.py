"""Impact pages through real requests: who may see which dashboard, filters, CSV exports, the
public initiative page and its badge, no personal data anywhere public, constant queries."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_coordinator,
    make_hours_entry,
    make_initiative,
    make_metric,
    make_neighborhood,
    make_organization,
    make_outcome_record,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Role, User
from volunteer_app.core.db import utcnow
from volunteer_app.core.phone import display
from volunteer_app.impact.models import VolunteerHourRate
from volunteer_app.initiatives.models import Initiative, InitiativeStatus

SPRING = "from=2025-04-01&to=2025-05-31"


def at(day: dt.date, hour: int = 14) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    db.session.add(VolunteerHourRate(year=2025, region="US", cents=3000, source="test"))
    w.org = make_organization("Parks")
    w.other_org = make_organization("Libraries")
    w.admin = make_user("admin@example.org", role=Role.ADMIN)
    w.coordinator = make_coordinator(w.org, "coord@example.org")
    w.stranger = make_coordinator(w.other_org, "other@example.org")
    w.volunteer = make_user("vol@example.org", name="Vera Volunteer", phone="+12025550123")
    w.hood = make_neighborhood("north", name="North", is_priority=True)
    w.initiative = make_initiative(w.org, title="Clean parks", slug="clean-parks")
    w.other = make_initiative(w.other_org, title="Read more", slug="read-more")
    w.draft = make_initiative(w.org, slug="secret-draft", status=InitiativeStatus.DRAFT)
    w.closed = make_initiative(w.org, slug="old-one", status=InitiativeStatus.CLOSED)
    shift = make_shift(
        w.initiative, starts_at=at(dt.date(2025, 4, 10)), capacity=4, neighborhood_id=w.hood.id
    )
    make_signup(w.volunteer, shift, "attended")
    make_hours_entry(
        w.volunteer, w.initiative, 120, served_on=dt.date(2025, 4, 10), shift_id=shift.id
    )
    make_hours_entry(w.volunteer, w.other, 300, served_on=dt.date(2025, 4, 11))
    w.metric = make_metric(w.initiative, "Bags of litter", unit="bags", target=200)
    make_outcome_record(w.metric, 50, period_start_on=dt.date(2025, 4, 10))
    db.session.commit()
    return w


def text(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Who may see what


@pytest.mark.parametrize("url", ["/impact/program", "/impact/program/summary.csv"])
def test_program_dashboard_is_for_admins(world, client, auth, url):
    assert client.get(url).status_code == 302  # to the login page
    auth.login("coord@example.org")
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login("admin@example.org")
    assert client.get(url).status_code == 200


def test_organization_dashboard_for_its_coordinators_and_admins(world, client, auth):
    url = f"/impact/organizations/{world.org.id}"
    assert client.get(url).status_code == 302
    auth.login("other@example.org")
    assert client.get(url).status_code == 403
    assert client.get(f"{url}/summary.csv").status_code == 403
    assert client.get("/impact/organizations/99999").status_code == 404
    auth.logout()
    auth.login("coord@example.org")
    page = client.get(f"{url}?{SPRING}")
    assert page.status_code == 200
    assert "Impact: Parks" in text(page)
    # Only this organization's 2 hours, not the 5 hours served with the library.
    summary = text(client.get(f"{url}/summary.csv?{SPRING}"))
    assert "Hours served,2.0," in summary
    auth.logout()
    auth.login("admin@example.org")
    assert client.get(url).status_code == 200


def test_program_dashboard_figures_filters_and_charts(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get(f"/impact/program?{SPRING}"))
    assert "April 1, 2025 to May 31, 2025" in page
    assert re.search(r'class="number">7</span>\s*<span class="stat-label">Hours served', page)
    assert "$210.00" in page  # 7 hours at $30.00
    for chart in ("chart-hours", "chart-volunteers", "chart-fill", "chart-goals"):
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    assert "<details>" in page and "Data table" in page
    assert "Bags of litter" in page
    # Filtering to one organization narrows every figure.
    narrowed = text(client.get(f"/impact/program?{SPRING}&organization={world.other_org.id}"))
    assert re.search(r'class="number">5</span>\s*<span class="stat-label">Hours served', narrowed)
    assert "Bags of litter" not in narrowed


def test_charts_are_well_formed_svg(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get(f"/impact/program?{SPRING}"))
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 4
    for svg in svgs:
        root = ET.fromstring(svg)  # noqa: S314 - our own markup
        assert root.get("viewBox").startswith("0 0 320 ")
        assert root.get("width") == "100%"
        assert root.find("{http://www.w3.org/2000/svg}title").text


@pytest.mark.parametrize(
    "query",
    [
        "from=not-a-date&to=2025-13-45",
        "from=2025-05-01&to=2025-04-01",
        "from=1800-01-01",
        "organization=abc&initiative=-1&cause=999999&region=ZZ",
    ],
)
def test_bad_filters_are_reported_never_a_500(world, client, auth, query):
    auth.login("admin@example.org")
    response = client.get(f"/impact/program?{query}")
    assert response.status_code == 200
    assert "Program impact" in text(response)


def test_bad_dates_say_why(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get("/impact/program?from=2025-05-01&to=2025-04-01"))
    assert "The end date is before the start date." in page


def test_presets_keep_the_other_filters(world, client, auth):
    auth.login("admin@example.org")
    page = text(client.get(f"/impact/program?organization={world.org.id}"))
    assert re.search(rf'href="/impact/program\?organization={world.org.id}&amp;from=', page)


# ---------------------------------------------------------------------------------------------
# CSV exports


def test_csv_exports_have_a_bom_and_the_same_filters(world, client, auth):
    auth.login("admin@example.org")
    response = client.get(f"/impact/program/months.csv?{SPRING}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("From,To,Hours,Volunteers")
    assert lines[1].startswith("2025-04-01,2025-04-30,7.0,1,1,1,4,25")
    assert lines[2].startswith("2025-05-01,2025-05-31,0.0,0")
    for table in ("summary", "value", "goals", "neighborhoods", "zips"):
        assert client.get(f"/impact/program/{table}.csv?{SPRING}").status_code == 200
    assert client.get("/impact/program/passwords.csv").status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised(world, client, auth, db):
    world.initiative.title = '=HYPERLINK("http://evil")'
    db.session.commit()
    auth.login("admin@example.org")
    body = client.get(f"/impact/program/goals.csv?{SPRING}").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body


# ---------------------------------------------------------------------------------------------
# Public pages


def test_public_initiative_page(world, client):
    page = client.get("/impact/initiatives/clean-parks")
    assert page.status_code == 200
    body = text(page)
    assert "Impact: Clean parks" in body
    assert "Bags of litter" in body and "25%" in body
    assert "/impact/initiatives/clean-parks/badge.svg" in body
    # The embed snippet, ready to copy.
    assert '&lt;img src="http://localhost/impact/initiatives/clean-parks/badge.svg"' in body
    assert client.get("/impact/initiatives/old-one").status_code == 200
    assert client.get("/impact/initiatives/secret-draft").status_code == 404
    assert client.get("/impact/initiatives/secret-draft/badge.svg").status_code == 404
    assert client.get("/impact/initiatives/nope").status_code == 404


def test_public_initiative_csv_leaves_out_the_private_tables(world, client):
    assert client.get("/impact/initiatives/clean-parks/goals.csv").status_code == 200
    hoods = client.get("/impact/initiatives/clean-parks/neighborhoods.csv").data
    assert hoods.decode("utf-8-sig").splitlines()[0] == (
        "Neighborhood,Priority,Hours served there,Shifts there"
    )
    for private in ("zips", "value"):
        assert client.get(f"/impact/initiatives/clean-parks/{private}.csv").status_code == 404


def test_badge_is_cacheable_well_formed_svg(world, client):
    response = client.get("/impact/initiatives/clean-parks/badge.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=" in response.headers["Cache-Control"]
    root = ET.fromstring(response.data)  # noqa: S314 - our own markup
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    title = root.find("{http://www.w3.org/2000/svg}title").text
    assert title == "Volunteer hours: 2 · 25% of goal"
    etag = response.headers["ETag"]
    again = client.get("/impact/initiatives/clean-parks/badge.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_public_summary(world, client):
    body = text(client.get("/impact/"))
    assert "What volunteers achieved" in body
    assert "Clean parks" in body and "Read more" in body
    assert "secret-draft" not in body


def test_print_stylesheet_and_navigation(world, client, auth):
    auth.login("admin@example.org")
    body = text(client.get("/impact/program"))
    assert "css/impact.css" in body
    assert 'class="filters no-print"' in body
    assert 'href="/impact/admin/rates"' in body
    css = client.get("/static/css/impact.css")
    assert b"@media print" in css.data
    css.close()


# ---------------------------------------------------------------------------------------------
# No personal data on public pages, on the demo city


def test_no_personal_data_on_any_public_page(app, client):
    from volunteer_app.extensions import db
    from volunteer_app.seed.demo import build_demo_city

    build_demo_city(utcnow())
    db.session.commit()
    people = db.session.scalars(sa.select(User).where(User.role == Role.VOLUNTEER)).all()
    assert len(people) >= 50
    secrets = set()
    for person in people:
        if person.name:
            secrets.add(person.name)
        if person.email:
            secrets.add(person.email)
        if person.phone:
            secrets.update({person.phone, display(person.phone), person.phone[2:]})
    public = db.session.scalars(
        sa.select(Initiative.slug).where(
            Initiative.status.in_((InitiativeStatus.PUBLISHED, InitiativeStatus.CLOSED))
        )
    ).all()
    urls = ["/impact/", "/api/v1/initiatives?per_page=100", "/api/v1/shifts?per_page=100"]
    urls += ["/api/v1/impact/initiatives?per_page=100", "/api/v1/impact/neighborhoods?per_page=100"]
    urls += ["/api/v1/openapi.json"]
    for slug in public:
        urls += [
            f"/impact/initiatives/{slug}",
            f"/impact/initiatives/{slug}/badge.svg",
            f"/api/v1/initiatives/{slug}",
        ]
        urls += [f"/impact/initiatives/{slug}/{t}.csv" for t in ("summary", "months", "goals")]
        urls += [f"/impact/initiatives/{slug}/neighborhoods.csv"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        leaked = [secret for secret in secrets if secret in body]
        assert not leaked, (url, leaked[:3])


# ---------------------------------------------------------------------------------------------
# Constant queries


def _grow(world, db, n: int):
    for i in range(n):
        person = make_user(neighborhood_id=world.hood.id if i % 2 else None, zip_code="20001")
        shift = make_shift(world.initiative, starts_at=at(dt.date(2025, 4, 1 + i % 28)))
        make_signup(person, shift, "attended" if i % 3 else "no_show")
        make_hours_entry(person, world.initiative, 60, served_on=dt.date(2025, 4, 1 + i % 28))
        metric = make_metric(make_initiative(world.org), f"Goal {i}")
        make_outcome_record(metric, i + 1, period_start_on=dt.date(2025, 4, 2))
    db.session.commit()


@pytest.mark.parametrize(
    "url",
    [f"/impact/program?{SPRING}", "/impact/initiatives/clean-parks", "/impact/"],
)
def test_pages_run_a_constant_number_of_queries(world, client, auth, db, count_queries, url):
    auth.login("admin@example.org")
    client.get(url)
    # Both requests start with nothing cached in the session, as on a fresh server request.
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    _grow(world, db, 25)
    db.session.expire_all()
    with count_queries() as larger:
        assert client.get(url).status_code == 200
    assert len(small) == len(larger)
