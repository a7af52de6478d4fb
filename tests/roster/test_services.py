"""Roster services on their own: last texts, attendance, outcomes, hours. (Walk-ins and moves
between the waitlist and spots are in tests/shifts/test_walk_ins.py.)"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import (
    make_message,
    make_shift,
    make_user,
)
from volunteer_app.roster import services
from volunteer_app.sms.models import MessageStatus


@pytest.fixture
def shift(db, now):
    return make_shift(starts_at=now + dt.timedelta(days=1), capacity=1)


def test_last_texts_takes_each_persons_latest_outbound_message(db, now):
    ana, ben, cy = make_user(phone="+12025550101"), make_user(phone="+12025550102"), make_user()
    make_message(ana, "delivered", created_at=now - dt.timedelta(days=1))
    make_message(ana, "failed", error_code="30003", created_at=now)
    make_message(ana, "received", direction="inbound", created_at=now + dt.timedelta(hours=1))
    make_message(ben, "queued", created_at=now)

    texts = services.last_texts([ana.id, ben.id, cy.id])

    assert texts[ana.id].status == MessageStatus.FAILED and texts[ana.id].error_code == "30003"
    assert texts[ben.id].status == MessageStatus.QUEUED
    assert cy.id not in texts
    assert services.last_texts([]) == {}


def test_consent_states(db, now):
    assert services.consent_state(make_user()) == "no"
    agreed = make_user(consent_at=now)
    assert services.consent_state(agreed) == "yes"
    agreed.sms_opted_out_at = now
    assert services.consent_state(agreed) == "opted_out"
