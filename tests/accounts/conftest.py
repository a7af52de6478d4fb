"""Fixtures for the accounts tests: a fresh `g` per request, the mail outbox, reference rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import g, request_started

from tests.factories import make_cause, make_language, make_neighborhood
from volunteer_app.core import mail
from volunteer_app.reference.models import Skill


@pytest.fixture(autouse=True)
def _fresh_g_per_request(app):
    """Give every request a fresh `g`, as a real server does: the `app` fixture keeps one app
    context open for the whole test and requests reuse it, so flask-login's cached user would
    otherwise survive a logout."""

    def clear(sender, **extra):
        vars(g).clear()

    request_started.connect(clear, app)
    yield
    request_started.disconnect(clear, app)


@pytest.fixture
def outbox(app):
    """The "memory" mail backend's outbox, empty at the start of the test."""
    assert app.config["MAIL_BACKEND"] == "memory"
    mail.outbox.clear()
    yield mail.outbox
    mail.outbox.clear()


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
