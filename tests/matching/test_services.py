"""Find your fit, the equity setting and the home page's suggestions."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import make_user
from tests.matching.conftest import SATURDAY, local, shift_in
from volunteer_app.accounts.services import FieldError
from volunteer_app.matching import services
from volunteer_app.reference.settings import get_setting


def test_save_fit_changes_only_the_three_answers(db, city, now):
    person = make_user(name="Ana", phone="+12025550130", consent_at=now, travel_miles=3.0)
    person.skills = []
    answers = services.FitAnswers(
        cause_ids=[city.education.id],
        availability={(5, 0), (6, 1)},
        neighborhood_id=city.b.id,
        zip_code="20011",
        travel_miles=10.0,
    )
    services.save_fit(person, answers, now=now)
    assert [c.slug for c in person.causes] == ["education"]
    assert person.availability_mask == (1 << 15) | (1 << 19)
    assert (person.neighborhood_id, person.zip_code, person.travel_miles) == (
        city.b.id,
        "20011",
        10.0,
    )
    assert person.onboarded_at == now
    assert person.sms_consent_at == now and person.name == "Ana"
    assert services.fit_answers_of(person) == answers


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"zip_code": "2001"}, "zip_code"),
        ({"travel_miles": -1.0}, "travel_miles"),
        ({"neighborhood_id": 99999}, "neighborhood_id"),
        ({"cause_ids": [99999]}, "causes"),
        ({"availability": {(7, 0)}}, "availability"),
    ],
)
def test_save_fit_refuses_bad_answers(db, city, now, change, field):
    person = make_user()
    with pytest.raises(FieldError) as refused:
        services.save_fit(person, services.FitAnswers(**change), now=now)
    assert refused.value.field == field
    assert person.onboarded_at is None


def test_skipping_marks_onboarded_once(db, now):
    person = make_user()
    services.skip_fit(person, now=now)
    services.skip_fit(person, now=now + dt.timedelta(days=1))
    assert person.onboarded_at == now


def test_equity_settings(db, city):
    assert get_setting("priority_neighborhood_boost") is False
    settings = services.save_equity_settings({city.a.id, city.b.id}, boost=True)
    assert {h.slug for h in settings.neighborhoods if h.is_priority} == {"hood-a", "hood-b"}
    assert settings.boost is True
    services.save_equity_settings(set(), boost=False)
    db.session.expire_all()
    assert not any(h.is_priority for h in services.equity_settings().neighborhoods)
    with pytest.raises(FieldError):
        services.save_equity_settings({99999}, boost=False)


def test_home_suggestions_for_visitors_and_people(db, city, maria, now):
    shift_in(city.trees, city.a, local(SATURDAY, 9))
    assert services.home_suggestions(None, now=now) is None
    suggestions = services.home_suggestions(maria, now=now)
    assert len(suggestions.items) == 1 and suggestions.onboarded is False
