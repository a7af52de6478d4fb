"""The open data API: pagination, ETag and 304, JSON errors, filters, no personal data, and
real responses validated against the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests.factories import (
    make_cause,
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
from volunteer_app.core.db import utcnow
from volunteer_app.impact.models import VolunteerHourRate
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.shifts.models import ShiftStatus


class World:
    pass


@pytest.fixture
def world(db):
    w = World()
    now = utcnow()
    db.session.add(VolunteerHourRate(year=2024, region="US", cents=3479, source="IS"))
    w.hood = make_neighborhood("north", name="North", is_priority=True)
    w.other_hood = make_neighborhood("south", name="South")
    org = make_organization("Parks")
    w.initiative = make_initiative(org, title="Clean parks", slug="clean-parks")
    w.initiative.neighborhoods.append(w.hood)
    w.reading = make_initiative(
        org, title="Read", slug="read", cause=make_cause("education", "Education")
    )
    w.draft = make_initiative(org, slug="draft-one", status=InitiativeStatus.DRAFT)
    w.closed = make_initiative(org, slug="closed-one", status=InitiativeStatus.CLOSED)
    soon = now + dt.timedelta(days=3)
    w.shift = make_shift(w.initiative, starts_at=soon, capacity=5, neighborhood_id=w.hood.id)
    w.later = make_shift(w.reading, starts_at=now + dt.timedelta(days=40), capacity=2)
    make_shift(w.initiative, starts_at=now - dt.timedelta(days=3))  # past
    make_shift(w.initiative, starts_at=soon, status=ShiftStatus.CANCELLED)
    make_shift(w.draft, starts_at=soon)  # a draft's shift is not public
    w.volunteer = make_user("secret@example.org", name="Sally Secret", phone="+12025550199")
    make_signup(w.volunteer, w.shift, "confirmed")
    make_hours_entry(
        w.volunteer,
        w.initiative,
        90,
        served_on=(now - dt.timedelta(days=10)).date(),
        shift_id=make_shift(
            w.initiative, starts_at=now - dt.timedelta(days=10), neighborhood_id=w.hood.id
        ).id,
    )
    w.metric = make_metric(w.initiative, "Bags of litter", unit="bags", target=40)
    make_outcome_record(w.metric, 10, period_start_on=(now - dt.timedelta(days=10)).date())
    db.session.commit()
    return w


def query_of(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query))


def get_json(client, url, status=200, **kw):
    response = client.get(url, **kw)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    return response.get_json()


# ---------------------------------------------------------------------------------------------
# Records


def test_initiatives_lists_published_ones_only(world, client):
    body = get_json(client, "/api/v1/initiatives")
    assert [i["slug"] for i in body["data"]] == ["clean-parks", "read"]
    first = body["data"][0]
    assert first["cause"]["slug"] == "environment"
    assert first["neighborhoods"] == [{"slug": "north", "name": "North"}]
    assert first["url"] == "http://localhost/initiatives/clean-parks"
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 2, "pages": 1}
    narrowed = get_json(client, "/api/v1/initiatives?cause=education")
    assert [i["slug"] for i in narrowed["data"]] == ["read"]
    by_place = get_json(client, "/api/v1/initiatives?neighborhood=north")
    assert [i["slug"] for i in by_place["data"]] == ["clean-parks"]


def test_one_initiative_with_goals_and_totals(world, client):
    body = get_json(client, "/api/v1/initiatives/clean-parks")
    assert body["totals"] == {"volunteers": 1, "hours": 1.5, "value_usd": 52.19}
    assert body["goals"] == [
        {
            "name": "Bags of litter",
            "unit": "bags",
            "kind": "output",
            "target": 40,
            "baseline": None,
            "deadline_on": None,
            "achieved": 10,
            "percent": 25,
        }
    ]
    assert get_json(client, "/api/v1/initiatives/closed-one")["status"] == "closed"
    error = get_json(client, "/api/v1/initiatives/draft-one", status=404)
    assert error["error"]["code"] == "not_found"


def test_shifts_are_upcoming_with_spots_left_and_filters(world, client):
    body = get_json(client, "/api/v1/shifts")
    assert [s["id"] for s in body["data"]] == [world.shift.id, world.later.id]
    first = body["data"][0]
    assert (first["capacity"], first["spots_left"]) == (5, 4)
    assert first["neighborhood"] == {"slug": "north", "name": "North"}
    assert first["initiative"] == {"slug": "clean-parks", "title": "Clean parks"}
    only = get_json(client, "/api/v1/shifts?initiative=read")
    assert [s["id"] for s in only["data"]] == [world.later.id]
    here = get_json(client, "/api/v1/shifts?neighborhood=north")
    assert [s["id"] for s in here["data"]] == [world.shift.id]
    soon = (utcnow() + dt.timedelta(days=10)).date().isoformat()
    before = get_json(client, f"/api/v1/shifts?to={soon}")
    assert [s["id"] for s in before["data"]] == [world.shift.id]
    after = get_json(client, f"/api/v1/shifts?from={soon}")
    assert [s["id"] for s in after["data"]] == [world.later.id]


def test_impact_per_initiative_and_per_neighborhood(world, client):
    body = get_json(client, "/api/v1/impact/initiatives")
    assert [i["slug"] for i in body["data"]] == ["clean-parks", "closed-one", "read"]
    assert body["data"][0]["totals"]["hours"] == 1.5
    assert body["data"][0]["goals"][0]["achieved"] == 10
    hoods = get_json(client, "/api/v1/impact/neighborhoods")
    north = next(n for n in hoods["data"] if n["slug"] == "north")
    assert (north["service_hours"], north["service_volunteers"], north["is_priority"]) == (
        1.5,
        1,
        True,
    )
    assert hoods["meta"]["priority_share_percent"] == 100


def test_no_personal_data(world, client):
    for url in (
        "/api/v1/initiatives",
        "/api/v1/initiatives/clean-parks",
        "/api/v1/shifts",
        "/api/v1/impact/initiatives",
        "/api/v1/impact/neighborhoods",
    ):
        body = client.get(url).get_data(as_text=True)
        for secret in ("Sally", "secret@example.org", "5550199"):
            assert secret not in body, url


# ---------------------------------------------------------------------------------------------
# Pagination, caching, errors


def test_pagination_with_links(world, client, db):
    org = make_organization()
    for n in range(23):
        make_initiative(org, slug=f"extra-{n:02d}", title=f"Extra {n:02d}")
    db.session.commit()
    first = get_json(client, "/api/v1/initiatives?per_page=10")
    assert first["meta"] == {"page": 1, "per_page": 10, "total": 25, "pages": 3}
    assert first["links"]["prev"] is None
    assert query_of(first["links"]["next"]) == {"page": "2", "per_page": "10"}
    last = get_json(client, first["links"]["last"])
    assert len(last["data"]) == 5
    assert last["links"]["next"] is None
    assert query_of(last["links"]["prev"]) == {"page": "2", "per_page": "10"}
    slugs = set()
    for page in (1, 2, 3):
        slugs |= {
            i["slug"]
            for i in get_json(client, f"/api/v1/initiatives?per_page=10&page={page}")["data"]
        }
    assert len(slugs) == 25
    assert (
        get_json(client, "/api/v1/initiatives?per_page=10&page=4", status=404)["error"]["code"]
        == "page_not_found"
    )


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/initiatives?page=0",
        "/api/v1/initiatives?page=abc",
        "/api/v1/initiatives?page=-1",
        "/api/v1/initiatives?per_page=101",
        "/api/v1/initiatives?per_page=0",
        "/api/v1/shifts?from=2026-13-01",
        "/api/v1/shifts?to=tomorrow",
        "/api/v1/shifts?to=",
        "/api/v1/shifts?from=2026-W01-1",
        "/api/v1/initiatives?page=",
        "/api/v1/initiatives?page=1000001",
        "/api/v1/initiatives?page=%C2%B2",
        "/api/v1/initiatives?page=" + "9" * 5000,
        "/api/v1/impact/neighborhoods?from=99999-01-01",
        "/api/v1/initiatives?cause=x%00y",
        "/api/v1/initiatives?neighborhood=x%00y",
        "/api/v1/shifts?initiative=x%00y",
        "/api/v1/initiatives/x%00y",
    ],
)
def test_bad_parameters_are_json_400s(world, client, url):
    body = get_json(client, url, status=400)
    assert body["error"]["status"] == 400
    assert body["error"]["message"]


def test_any_calendar_date_is_read_within_the_date_window(world, client):
    """The document promises `format: date`: the API takes any, and nothing is recorded
    outside the window, so a date beyond it reads as its edge."""
    body = get_json(client, "/api/v1/impact/neighborhoods?from=1066-10-14&to=9999-12-31")
    last_year = utcnow().year + 10
    assert (body["meta"]["from"], body["meta"]["to"]) == ("1900-01-01", f"{last_year}-12-31")
    assert get_json(client, "/api/v1/shifts?from=0001-01-01&to=9999-12-31")["meta"]["total"] == 2
    # To before from is a range with no days, not a mistake.
    empty = get_json(client, "/api/v1/shifts?from=2026-05-02&to=2026-05-01")
    assert (empty["data"], empty["meta"]["total"]) == ([], 0)


def test_unknown_addresses_and_methods_answer_json(world, client):
    assert get_json(client, "/api/v1/nothing/here", status=404)["error"]["code"] == "not_found"
    for method in ("POST", "DELETE", "TRACE"):
        response = client.open("/api/v1/initiatives", method=method)
        assert response.status_code == 405
        assert response.get_json()["error"]["code"] == "method_not_allowed"
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert client.options("/api/v1/shifts").headers["Allow"] == "GET, HEAD, OPTIONS"


def test_etag_and_cache_control(world, client, db):
    response = client.get("/api/v1/initiatives")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and len(etag) == 66
    again = client.get("/api/v1/initiatives", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    world.initiative.title = "Cleaner parks"
    db.session.commit()
    changed = client.get("/api/v1/initiatives", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


@pytest.mark.parametrize(
    "url", ["/api/v1/initiatives", "/api/v1/shifts", "/api/v1/impact/initiatives"]
)
def test_constant_queries(world, client, db, count_queries, url):
    db.session.expire_all()
    with count_queries() as small:
        client.get(url)
    org = make_organization()
    for n in range(12):
        initiative = make_initiative(org, slug=f"more-{n}")
        initiative.neighborhoods.append(world.other_hood)
        make_shift(initiative, starts_at=utcnow() + dt.timedelta(days=n + 1))
        make_outcome_record(make_metric(initiative), n + 1)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as larger:
        client.get(url)
    assert len(small) == len(larger)


# ---------------------------------------------------------------------------------------------
# The OpenAPI document


def _validator(document: dict, schema_name: str) -> Draft202012Validator:
    registry = Registry().with_resource(
        "urn:openapi",
        Resource.from_contents(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                **document,
            }
        ),
    )
    return Draft202012Validator(
        {"$ref": f"urn:openapi#/components/schemas/{schema_name}"}, registry=registry
    )


def test_openapi_describes_real_responses(world, client):
    document = get_json(client, "/api/v1/openapi.json")
    assert document["openapi"].startswith("3.1")
    Draft202012Validator.check_schema({"$defs": document["components"]["schemas"]})
    examples = {
        "/initiatives": "/api/v1/initiatives?per_page=1",
        "/initiatives/{slug}": "/api/v1/initiatives/clean-parks",
        "/shifts": "/api/v1/shifts",
        "/impact/initiatives": "/api/v1/impact/initiatives",
        "/impact/neighborhoods": "/api/v1/impact/neighborhoods",
        "/openapi.json": "/api/v1/openapi.json",
    }
    assert set(examples) == set(document["paths"])
    for path, url in examples.items():
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        body = get_json(client, url)
        if name:
            errors = list(_validator(document, name).iter_errors(body))
            assert not errors, (url, [e.message for e in errors[:3]])
    error = get_json(client, "/api/v1/initiatives?page=x", status=400)
    assert not list(_validator(document, "Error").iter_errors(error))
    # The schemas are strict enough to notice a field that should not be there.
    leaked = get_json(client, "/api/v1/shifts")
    leaked["data"][0]["volunteer_email"] = "x@example.org"
    assert list(_validator(document, "ShiftPage").iter_errors(leaked))


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = set(document["paths"])
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.unknown":
            path = rule.rule.removeprefix("/api/v1")
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", f"{{{argument}}}")
            routes.add(path)
    assert routes == documented
