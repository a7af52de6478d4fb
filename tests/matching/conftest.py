"""A small city for matching tests: two causes, three neighborhoods, Spanish, and a fixed
'now' (Monday 1 June 2026, 10:00 in New York)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.factories import (
    make_cause,
    make_coordinator,
    make_initiative,
    make_language,
    make_neighborhood,
    make_organization,
    make_shift,
    make_user,
)
from volunteer_app.accounts.models import availability_bit
from volunteer_app.core.time import from_local

TZ = "America/New_York"
MILES_PER_DEGREE_OF_LATITUDE = 69.05


def local(year_month_day: tuple[int, int, int], hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in New York as a UTC instant."""
    return from_local(dt.datetime(*year_month_day, hour, minute), TZ)  # noqa: DTZ001 - wall-clock


SATURDAY = (2026, 6, 6)
SUNDAY = (2026, 6, 7)
TUESDAY = (2026, 6, 2)
SATURDAY_MORNING = availability_bit(5, 0)


@dataclass
class City:
    environment: object
    education: object
    spanish: object
    a: object  # the resident's neighborhood
    b: object  # about 6 miles from A
    c: object  # a priority neighborhood next to A
    org: object
    coordinator: object
    trees: object  # environment, Spanish helps, in A
    trees_english: object  # environment, no languages
    tutoring: object  # education
    adults_only: object  # environment, 18+


@pytest.fixture
def now() -> dt.datetime:
    return local((2026, 6, 1), 10)


@pytest.fixture
def city(db) -> City:
    environment = make_cause("environment", "The environment")
    education = make_cause("education", "Education")
    spanish = make_language("es", "Spanish")
    make_language("en", "English")
    a = make_neighborhood("hood-a", centroid_lat=38.90, centroid_lon=-77.03, zip_codes="20001")
    b = make_neighborhood("hood-b", centroid_lat=38.99, centroid_lon=-77.03, zip_codes="20011")
    c = make_neighborhood("hood-c", centroid_lat=38.905, centroid_lon=-77.03, is_priority=True)
    org = make_organization("Parks Department")
    coordinator = make_coordinator(org, "coordinator@example.org")
    trees = make_initiative(org, cause=environment, title="Tree planting", timezone=TZ)
    trees.languages = [spanish]
    trees_english = make_initiative(org, cause=environment, title="Park clean-up", timezone=TZ)
    tutoring = make_initiative(org, cause=education, title="Reading buddies", timezone=TZ)
    adults_only = make_initiative(
        org, cause=environment, title="Chainsaw crew", timezone=TZ, minimum_age=18
    )
    db.session.flush()
    return City(
        environment,
        education,
        spanish,
        a,
        b,
        c,
        org,
        coordinator,
        trees,
        trees_english,
        tutoring,
        adults_only,
    )


def north_of(hood, miles: float) -> dict:
    """Coordinates `miles` north of a neighborhood's centroid."""
    return {
        "latitude": hood.centroid_lat + miles / MILES_PER_DEGREE_OF_LATITUDE,
        "longitude": hood.centroid_lon,
    }


def shift_in(initiative, hood, starts_at: dt.datetime, *, miles: float = 0.0, **kw):
    return make_shift(
        initiative, starts_at=starts_at, neighborhood_id=hood.id, **north_of(hood, miles), **kw
    )


@pytest.fixture
def maria(db, city):
    """A Spanish-speaking resident of A, free Saturday mornings, who cares about the
    environment; 30 years old, with a phone and SMS consent."""
    user = make_user(
        "maria@example.org",
        name="María González",
        phone="+12025550101",
        consent_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        neighborhood_id=city.a.id,
        availability_mask=SATURDAY_MORNING,
        travel_miles=5.0,
        birth_date=dt.date(1996, 3, 14),
    )
    user.causes = [city.environment]
    user.languages = [city.spanish]
    db.session.flush()
    return user


@pytest.fixture
def login(client, auth):
    def log_in(user):
        response = auth.login(user.email)
        assert response.status_code == 302, "login failed"
        return client

    return log_in
