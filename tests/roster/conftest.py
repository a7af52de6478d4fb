"""Fixtures for the roster screens: an organization with a coordinator and an initiative, and
logging people in through the real login form. Pages read the real clock, so shifts here are
placed relative to it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import make_coordinator, make_initiative, make_organization


@pytest.fixture
def clock() -> dt.datetime:
    """The real 'now': the pages under test call utcnow() themselves."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def org(db):
    return make_organization()


@pytest.fixture
def coordinator(db, org):
    return make_coordinator(org)


@pytest.fixture
def initiative(db, org):
    return make_initiative(org, timezone="America/New_York")


@pytest.fixture
def login(db, auth):
    """Commit what the test made so far, then log `user` in with the real form."""

    def log_in(user):
        db.session.commit()
        response = auth.login(user.email)
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
        return response

    return log_in
