"""Fixtures for the accounts tests: the reference rows a profile offers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.factories import make_cause, make_language, make_neighborhood
from volunteer_app.reference.models import Skill


@pytest.fixture
def reference(db):
    """The causes, skills, languages and neighborhoods the profile offers (seed data in real
    life), committed so requests see them."""
    skills = [Skill(slug="carpentry", name="Carpentry"), Skill(slug="tutoring", name="Tutoring")]
    db.session.add_all(skills)
    rows = SimpleNamespace(
        environment=make_cause("environment", "Environment"),
        education=make_cause("education", "Education"),
        carpentry=skills[0],
        tutoring=skills[1],
        spanish=make_language("es", "Spanish"),
        vietnamese=make_language("vi", "Vietnamese"),
        riverside=make_neighborhood("riverside", name="Riverside", zip_codes="20001"),
        hilltop=make_neighborhood("hilltop", name="Hilltop"),
    )
    db.session.commit()
    return rows
