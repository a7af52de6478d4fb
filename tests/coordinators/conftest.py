"""People and places the coordinator tests share: organization A with its coordinator and a
draft initiative, organization B with its own coordinator, an admin and a volunteer."""

from __future__ import annotations

import html
import re

import pytest

from tests.factories import (
    days_ahead,
    make_coordinator,
    make_initiative,
    make_organization,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.initiatives.models import InitiativeStatus


@pytest.fixture
def org(db):
    return make_organization("Parks Department")


@pytest.fixture
def coordinator(db, org):
    user = make_coordinator(org, "coord@example.org")
    db.session.commit()
    return user


@pytest.fixture
def org_b(db):
    return make_organization("Other Nonprofit")


@pytest.fixture
def other_coordinator(db, org_b):
    user = make_coordinator(org_b, "other@example.org")
    db.session.commit()
    return user


@pytest.fixture
def admin(db):
    user = make_user("admin@example.org", role=Role.ADMIN)
    db.session.commit()
    return user


@pytest.fixture
def volunteer(db):
    user = make_user("volunteer@example.org")
    db.session.commit()
    return user


@pytest.fixture
def initiative(db, org):
    initiative = make_initiative(
        org, status=InitiativeStatus.DRAFT, timezone="America/New_York", title="Tree Crew"
    )
    db.session.commit()
    return initiative


@pytest.fixture
def soon():
    """Views use the real clock, so shifts are placed relative to it."""
    return days_ahead(3)


@pytest.fixture
def login(auth):
    def log_in(user):
        response = auth.login(user.email)
        assert response.status_code in (302, 303), "login failed"
        return response

    return log_in


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def words(response) -> str:
    """The page's text with tags removed and whitespace collapsed, as a reader sees it."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())
