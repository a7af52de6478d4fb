"""Invitations (text or email, weekly cap, accept on signup, decline), Find your fit and the
equity setting."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_signup, make_user
from tests.matching.conftest import SATURDAY, SUNDAY, local, shift_in
from volunteer_app.accounts.services import FieldError
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.mail import outbox
from volunteer_app.matching import services
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.reference.settings import get_setting, set_setting
from volunteer_app.shifts.models import ShiftStatus, SignupStatus
from volunteer_app.shifts.services import signup_for_shift
from volunteer_app.sms.inbound import handle_inbound
from volunteer_app.sms.models import Message, MessageStatus


@pytest.fixture(autouse=True)
def empty_mailbox():
    outbox.clear()
    yield
    outbox.clear()


@pytest.fixture
def shift(city):
    return shift_in(city.trees, city.a, local(SATURDAY, 9), miles=1.2)


def messages(db) -> list[Message]:
    return list(db.session.scalars(sa.select(Message).order_by(Message.id)))


def test_invite_texts_people_who_agreed_and_mails_the_others(db, city, maria, shift, now):
    no_consent = make_user("sam@example.org", phone="+12025550102", preferred_language="es")

    outcome = services.invite_volunteers(
        shift, [maria.id, no_consent.id], invited_by=city.coordinator, now=now
    )

    assert (outcome.by_text, outcome.by_email, outcome.skipped) == (1, 1, {})
    rows = db.session.scalars(sa.select(Invitation).order_by(Invitation.user_id)).all()
    assert [(i.user_id, i.channel, i.status) for i in rows] == [
        (maria.id, "sms", InvitationStatus.SENT),
        (no_consent.id, "email", InvitationStatus.SENT),
    ]
    assert rows[0].invited_by_id == city.coordinator.id and rows[0].sent_at == now
    (text,) = messages(db)  # nobody is texted without consent
    assert text.user_id == maria.id and text.status == MessageStatus.QUEUED
    assert text.idempotency_key == f"invitation:shift:{shift.id}:user:{maria.id}"
    assert text.kind == "invitation" and text.shift_id == shift.id
    token = services.invitation_token(rows[0])
    assert f"/i/{token}" in text.body and f"JOIN {shift.code}" in text.body
    assert text.expires_at == shift.starts_at

    (mail,) = outcome.mails
    assert mail.to == "sam@example.org"
    assert f"/i/{services.invitation_token(rows[1])}" in mail.body
    assert f"/i/{services.invitation_token(rows[1])}/no" in mail.body
    assert shift.code in mail.body  # "JOIN 1234", or its Spanish twin for Sam
    assert services.send_mails(outcome.mails) == 1 and outbox[0].to == "sam@example.org"


def test_the_weekly_cap_counts_the_last_seven_days(db, city, shift, now):
    set_setting("max_invitations_per_week", 2)
    busy_inbox = make_user()
    earlier = [shift_in(city.trees, city.a, local(SUNDAY, 8 + n)) for n in range(3)]
    for days_ago, other in zip((8, 6, 1), earlier, strict=True):
        db.session.add(
            Invitation(
                shift_id=other.id,
                user_id=busy_inbox.id,
                channel="email",
                sent_at=now - dt.timedelta(days=days_ago),
            )
        )
    db.session.flush()

    outcome = services.invite_volunteers(
        shift, [busy_inbox.id], invited_by=city.coordinator, now=now
    )

    assert outcome.invited == [] and outcome.skipped == {busy_inbox.id: services.WEEKLY_LIMIT}
    set_setting("max_invitations_per_week", 3)
    again = services.invite_volunteers(shift, [busy_inbox.id], invited_by=city.coordinator, now=now)
    assert len(again.invited) == 1


def test_invite_skips_and_says_why(db, city, maria, shift, now):
    on_shift = make_user()
    make_signup(on_shift, shift)
    busy = make_user()
    make_signup(busy, shift_in(city.tutoring, city.b, local(SATURDAY, 10)))
    stopped = make_user(phone="+12025550120", sms_opted_out_at=now)
    unreachable = make_user(phone="+12025550121")
    unreachable.email = None
    coordinator = city.coordinator
    services.invite_volunteers(shift, [maria.id], invited_by=coordinator, now=now)

    outcome = services.invite_volunteers(
        shift,
        [maria.id, on_shift.id, busy.id, stopped.id, unreachable.id, coordinator.id, 99999],
        invited_by=coordinator,
        now=now,
    )

    assert outcome.invited == []
    assert outcome.skipped == {
        maria.id: services.ALREADY_INVITED,
        on_shift.id: services.ON_SHIFT,
        busy.id: services.BUSY,
        stopped.id: services.UNREACHABLE,
        unreachable.id: services.UNREACHABLE,
        coordinator.id: services.NOT_A_VOLUNTEER,
        99999: services.NOT_A_VOLUNTEER,
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_invite_refuses_too_young_and_closed_shifts(db, city, now):
    teen = make_user(birth_date=dt.date(2011, 1, 1))
    adults = shift_in(city.adults_only, city.a, local(SATURDAY, 9))
    outcome = services.invite_volunteers(adults, [teen.id], invited_by=city.coordinator, now=now)
    assert outcome.skipped == {teen.id: services.TOO_YOUNG}

    cancelled = shift_in(city.trees, city.a, local(SUNDAY, 9), status=ShiftStatus.CANCELLED)
    started = shift_in(city.trees, city.a, now - dt.timedelta(hours=1))
    draft = make_initiative(city.org, cause=city.environment, status="draft")
    unpublished = shift_in(draft, city.a, local(SUNDAY, 12))
    for closed in (cancelled, started, unpublished):
        with pytest.raises(services.ShiftNotOpen):
            services.invite_volunteers(closed, [teen.id], invited_by=city.coordinator, now=now)
    with pytest.raises(DomainError):
        services.invite_volunteers(adults, [], invited_by=city.coordinator, now=now)
    with pytest.raises(DomainError):
        services.invite_volunteers(adults, list(range(1, 60)), invited_by=city.coordinator, now=now)


def test_signing_up_accepts_the_invitation_even_after_not_this_time(db, city, maria, shift, now):
    (invitation,) = services.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    services.decline_invitation(invitation, now=now)
    assert invitation.status == InvitationStatus.DECLINED

    later = now + dt.timedelta(hours=2)
    signup_for_shift(maria, shift, now=later)

    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.ACCEPTED and invitation.responded_at == later
    counts = services.invitation_counts_by_shift([shift.id])[shift.id]
    assert (counts.sent, counts.accepted, counts.declined, counts.waiting) == (1, 1, 0, 0)


def test_joining_the_waitlist_also_accepts(db, city, maria, now):
    full = shift_in(city.trees, city.a, local(SATURDAY, 9), capacity=1)
    make_signup(make_user(), full)
    services.invite_volunteers(full, [maria.id], invited_by=city.coordinator, now=now)
    assert signup_for_shift(maria, full, now=now).waitlisted
    assert db.session.scalar(sa.select(Invitation.status)) == InvitationStatus.ACCEPTED


def test_joining_by_text_accepts_the_invitation(db, city, maria, shift, now):
    services.invite_volunteers(shift, [maria.id], invited_by=city.coordinator, now=now)
    handle_inbound(maria.phone, f"JOIN {shift.code}", "SM" + "1" * 32, now)
    assert db.session.scalar(sa.select(Invitation.status)) == InvitationStatus.ACCEPTED
    signup_status = db.session.execute(
        sa.text("select status from signups where user_id = :u"), {"u": maria.id}
    ).scalar()
    assert signup_status == SignupStatus.CONFIRMED.value


def test_accepting_by_link_signs_up_only_the_invitee(db, city, maria, shift, now):
    (invitation,) = services.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    with pytest.raises(NotFound):
        services.accept_invitation(invitation, make_user(), now=now)
    result = services.accept_invitation(invitation, maria, now=now)
    assert result.signup.status == SignupStatus.CONFIRMED
    assert invitation.status == InvitationStatus.ACCEPTED


def test_cannot_decline_after_signing_up(db, city, maria, shift, now):
    (invitation,) = services.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    services.accept_invitation(invitation, maria, now=now)
    with pytest.raises(services.CannotDecline):
        services.decline_invitation(invitation, now=now)


def test_tokens_name_one_invitation_and_refuse_tampering(db, city, maria, shift, now):
    (invitation,) = services.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    token = services.invitation_token(invitation)
    assert services.invitation_for_token(token).id == invitation.id
    for bad in (token[:-2] + "xx", "nonsense", token.replace(".", "")):
        with pytest.raises(NotFound):
            services.invitation_for_token(bad)


def test_counts_per_initiative(db, city, maria, shift, now):
    other = shift_in(city.trees, city.b, local(SUNDAY, 9))
    sam = make_user()
    services.invite_volunteers(shift, [maria.id, sam.id], invited_by=city.coordinator, now=now)
    (late,) = services.invite_volunteers(
        other, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    services.decline_invitation(late, now=now)
    totals = services.invitation_counts_for_initiative(city.trees.id)
    assert (totals.sent, totals.accepted, totals.declined, totals.waiting) == (3, 0, 1, 2)
    rows = services.initiative_invitations(city.trees)
    assert [(r.shift.id, r.counts.sent) for r in rows] == [(shift.id, 2), (other.id, 1)]
    assert services.invitation_counts_for_initiative(city.tutoring.id).sent == 0


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
