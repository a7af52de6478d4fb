"""The admin SMS simulator: act as a phone through the same code as the webhook, and see the
whole conversation, including texts still waiting for the worker."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_coordinator,
    make_initiative,
    make_organization,
    make_shift,
    make_user,
)
from tests.sms.conftest import new_phone
from volunteer_app.accounts.models import Role, User
from volunteer_app.core.db import utcnow
from volunteer_app.shifts.models import Signup, SignupSource
from volunteer_app.sms.models import Direction, Message, MessageStatus


@pytest.fixture
def admin(db, client, auth):
    admin = make_user(role=Role.ADMIN)
    db.session.commit()
    auth.login(admin.email)
    return admin


def simulate(auth, phone: str, body: str):
    return auth.post("/sms/simulator", {"phone": phone, "body": body}, follow_redirects=True)


def bubbles(page: str) -> list[str]:
    return re.findall(r'<p class="sms-body">([^<]*)</p>', page)


def test_join_from_the_simulator_signs_up_a_new_phone_and_shows_the_reply(admin, auth, db):
    shift = make_shift(
        make_initiative(title="Tree planting"), starts_at=utcnow() + dt.timedelta(days=2)
    )
    db.session.commit()
    phone = new_phone()

    response = simulate(auth, phone, f"JOIN {shift.code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    said = bubbles(page)
    assert said[0] == f"JOIN {shift.code}"
    assert shift.code in said[-1] and "name" in said[-1]

    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    signup = db.session.scalar(sa.select(Signup).where(Signup.user_id == person.id))
    assert signup.source == SignupSource.SMS
    inbound = db.session.scalar(sa.select(Message).where(Message.direction == Direction.INBOUND))
    assert inbound.twilio_sid.startswith("SIM")
    assert inbound.reply_body == said[-1].replace("&#39;", "'")

    page = simulate(auth, phone, "Ana").get_data(as_text=True)
    assert "Thanks, Ana!" in page
    db.session.refresh(person)
    assert person.name == "Ana"


def test_the_conversation_shows_queued_and_deferred_texts_with_their_status(
    admin, client, db, texter
):
    person = texter(name="Quinn")
    later = utcnow() + dt.timedelta(hours=9)
    db.session.add_all(
        [
            Message(
                direction=Direction.OUTBOUND,
                status=MessageStatus.QUEUED,
                idempotency_key="sim-test:deferred",
                user_id=person.id,
                to_phone=person.phone,
                body="Reminder: tree planting tomorrow at 9.",
                kind="reminder",
                send_after=later,
            ),
            Message(
                direction=Direction.OUTBOUND,
                status=MessageStatus.UNDELIVERED,
                idempotency_key="sim-test:undelivered",
                user_id=person.id,
                to_phone=person.phone,
                body="You're signed up.",
                kind="signup_confirmed",
                error_code="30003",
            ),
        ]
    )
    db.session.commit()
    page = client.get(f"/sms/simulator?phone={person.phone}").get_data(as_text=True)
    assert "Reminder: tree planting tomorrow at 9." in page
    assert "waits until" in page and ">queued<" in page
    assert ">undelivered<" in page and "error 30003" in page
    assert "Quinn" in page  # offered among the phones to act as


def test_stop_from_the_simulator_opts_out(admin, auth, db, texter):
    person = texter()
    db.session.commit()
    page = simulate(auth, person.phone, "STOP").get_data(as_text=True)
    assert "Twilio itself answers STOP" in page
    db.session.refresh(person)
    assert person.sms_opted_out_at is not None


def test_a_bad_phone_number_is_explained_and_nothing_recorded(admin, auth, db):
    response = simulate(auth, "not a phone", "HELP")
    assert response.status_code == 200
    assert "valid phone number" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0


@pytest.mark.parametrize("who", ["volunteer", "coordinator", "anonymous"])
def test_only_admins_may_use_the_simulator(db, client, auth, who):
    expected = 302 if who == "anonymous" else 403
    if who == "volunteer":
        auth.login(make_user().email)
    elif who == "coordinator":
        coordinator = make_coordinator(make_organization())
        db.session.commit()
        auth.login(coordinator.email)
    db.session.commit()
    assert client.get("/sms/simulator").status_code == expected
    response = client.post("/sms/simulator", data={"phone": new_phone(), "body": "HELP"})
    assert response.status_code in (expected, 400)
    assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0


def test_the_page_is_laid_out_for_small_screens(admin, client):
    page = client.get("/sms/simulator").get_data(as_text=True)
    assert 'name="viewport"' in page and "css/sms.css" in page
    assert '<label for="phone">' in page and '<label for="body">' in page


def test_the_simulator_can_act_during_a_shift_to_try_in_and_out(admin, auth, db, app):
    """The demo rarely has a shift under way: the admin sets the simulated time (in the
    program's timezone) to inside one and checks in and out."""
    from volunteer_app.core.time import local
    from volunteer_app.hours.models import HoursEntry
    from volunteer_app.shifts import services

    shift = make_shift(starts_at=utcnow() + dt.timedelta(days=3), hours=2)
    person = make_user(phone=new_phone(), consent_at=utcnow())
    services.signup_for_shift(person, shift, now=utcnow())
    db.session.commit()
    zone = app.config["PROGRAM_TIMEZONE"]
    during = local(shift.starts_at + dt.timedelta(minutes=5), zone).strftime("%Y-%m-%dT%H:%M")
    leaving = local(shift.ends_at - dt.timedelta(minutes=2), zone).strftime("%Y-%m-%dT%H:%M")

    auth.post("/sms/simulator", {"phone": person.phone, "body": "IN", "sent_at": during})
    page = auth.post(
        "/sms/simulator",
        {"phone": person.phone, "body": "OUT", "sent_at": leaving},
        follow_redirects=True,
    ).get_data(as_text=True)

    db.session.expire_all()
    entry = db.session.scalar(sa.select(HoursEntry).where(HoursEntry.user_id == person.id))
    assert entry is not None and entry.minutes == 120  # 5 minutes late, rounded to the quarter
    assert "2 hours credited" in bubbles(page)[-1]


def test_without_a_time_the_simulator_uses_now(admin, auth, db):
    shift = make_shift(starts_at=utcnow() + dt.timedelta(days=3))
    person = make_user(phone=new_phone(), consent_at=utcnow())
    from volunteer_app.shifts import queries, services

    services.signup_for_shift(person, shift, now=utcnow())
    db.session.commit()

    page = simulate(auth, person.phone, "IN").get_data(as_text=True)

    # Three days before the shift, IN finds nothing to check in to.
    assert db.session.get(Signup, queries.signup_of(person, shift).id).checked_in_at is None
    assert "checked in to" not in bubbles(page)[-1]
