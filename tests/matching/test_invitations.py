"""Invitations (text or email, weekly cap, accept on signup, decline) and their counts."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_signup, make_user
from tests.matching.conftest import SATURDAY, SUNDAY, local, shift_in
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.mail import outbox
from volunteer_app.matching import invitations
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.reference.settings import set_setting
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

    outcome = invitations.invite_volunteers(
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
    token = invitations.invitation_token(rows[0])
    assert f"/i/{token}" in text.body and f"JOIN {shift.code}" in text.body
    assert text.expires_at == shift.starts_at

    (mail,) = outcome.mails
    assert mail.to == "sam@example.org"
    assert f"/i/{invitations.invitation_token(rows[1])}" in mail.body
    assert f"/i/{invitations.invitation_token(rows[1])}/no" in mail.body
    assert shift.code in mail.body  # "JOIN 1234", or its Spanish twin for Sam
    assert invitations.send_mails(outcome.mails) == 1 and outbox[0].to == "sam@example.org"


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

    outcome = invitations.invite_volunteers(
        shift, [busy_inbox.id], invited_by=city.coordinator, now=now
    )

    assert outcome.invited == [] and outcome.skipped == {busy_inbox.id: invitations.WEEKLY_LIMIT}
    set_setting("max_invitations_per_week", 3)
    again = invitations.invite_volunteers(
        shift, [busy_inbox.id], invited_by=city.coordinator, now=now
    )
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
    invitations.invite_volunteers(shift, [maria.id], invited_by=coordinator, now=now)

    outcome = invitations.invite_volunteers(
        shift,
        [maria.id, on_shift.id, busy.id, stopped.id, unreachable.id, coordinator.id, 99999],
        invited_by=coordinator,
        now=now,
    )

    assert outcome.invited == []
    assert outcome.skipped == {
        maria.id: invitations.ALREADY_INVITED,
        on_shift.id: invitations.ON_SHIFT,
        busy.id: invitations.BUSY,
        stopped.id: invitations.UNREACHABLE,
        unreachable.id: invitations.UNREACHABLE,
        coordinator.id: invitations.NOT_A_VOLUNTEER,
        99999: invitations.NOT_A_VOLUNTEER,
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_invite_refuses_too_young_and_closed_shifts(db, city, now):
    teen = make_user(birth_date=dt.date(2011, 1, 1))
    adults = shift_in(city.adults_only, city.a, local(SATURDAY, 9))
    outcome = invitations.invite_volunteers(adults, [teen.id], invited_by=city.coordinator, now=now)
    assert outcome.skipped == {teen.id: invitations.TOO_YOUNG}

    cancelled = shift_in(city.trees, city.a, local(SUNDAY, 9), status=ShiftStatus.CANCELLED)
    started = shift_in(city.trees, city.a, now - dt.timedelta(hours=1))
    draft = make_initiative(city.org, cause=city.environment, status="draft")
    unpublished = shift_in(draft, city.a, local(SUNDAY, 12))
    for closed in (cancelled, started, unpublished):
        with pytest.raises(invitations.ShiftNotOpen):
            invitations.invite_volunteers(closed, [teen.id], invited_by=city.coordinator, now=now)
    with pytest.raises(DomainError):
        invitations.invite_volunteers(adults, [], invited_by=city.coordinator, now=now)
    with pytest.raises(DomainError):
        invitations.invite_volunteers(
            adults, list(range(1, 60)), invited_by=city.coordinator, now=now
        )


def test_signing_up_accepts_the_invitation_even_after_not_this_time(db, city, maria, shift, now):
    (invitation,) = invitations.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    invitations.decline_invitation(invitation, now=now)
    assert invitation.status == InvitationStatus.DECLINED

    later = now + dt.timedelta(hours=2)
    signup_for_shift(maria, shift, now=later)

    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.ACCEPTED and invitation.responded_at == later
    counts = invitations.invitation_counts_by_shift([shift.id])[shift.id]
    assert (counts.sent, counts.accepted, counts.declined, counts.waiting) == (1, 1, 0, 0)


def test_joining_the_waitlist_also_accepts(db, city, maria, now):
    full = shift_in(city.trees, city.a, local(SATURDAY, 9), capacity=1)
    make_signup(make_user(), full)
    invitations.invite_volunteers(full, [maria.id], invited_by=city.coordinator, now=now)
    assert signup_for_shift(maria, full, now=now).waitlisted
    assert db.session.scalar(sa.select(Invitation.status)) == InvitationStatus.ACCEPTED


def test_joining_by_text_accepts_the_invitation(db, city, maria, shift, now):
    invitations.invite_volunteers(shift, [maria.id], invited_by=city.coordinator, now=now)
    handle_inbound(maria.phone, f"JOIN {shift.code}", "SM" + "1" * 32, now)
    assert db.session.scalar(sa.select(Invitation.status)) == InvitationStatus.ACCEPTED
    signup_status = db.session.execute(
        sa.text("select status from signups where user_id = :u"), {"u": maria.id}
    ).scalar()
    assert signup_status == SignupStatus.CONFIRMED.value


def test_accepting_by_link_signs_up_only_the_invitee(db, city, maria, shift, now):
    (invitation,) = invitations.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    with pytest.raises(NotFound):
        invitations.accept_invitation(invitation, make_user(), now=now)
    result = invitations.accept_invitation(invitation, maria, now=now)
    assert result.signup.status == SignupStatus.CONFIRMED
    assert invitation.status == InvitationStatus.ACCEPTED


def test_cannot_decline_after_signing_up(db, city, maria, shift, now):
    (invitation,) = invitations.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    invitations.accept_invitation(invitation, maria, now=now)
    with pytest.raises(invitations.CannotDecline):
        invitations.decline_invitation(invitation, now=now)


def test_tokens_name_one_invitation_and_refuse_tampering(db, city, maria, shift, now):
    (invitation,) = invitations.invite_volunteers(
        shift, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    token = invitations.invitation_token(invitation)
    assert invitations.invitation_for_token(token).id == invitation.id
    for bad in (token[:-2] + "xx", "nonsense", token.replace(".", "")):
        with pytest.raises(NotFound):
            invitations.invitation_for_token(bad)


def test_counts_per_initiative(db, city, maria, shift, now):
    other = shift_in(city.trees, city.b, local(SUNDAY, 9))
    sam = make_user()
    invitations.invite_volunteers(shift, [maria.id, sam.id], invited_by=city.coordinator, now=now)
    (late,) = invitations.invite_volunteers(
        other, [maria.id], invited_by=city.coordinator, now=now
    ).invited
    invitations.decline_invitation(late, now=now)
    totals = invitations.invitation_counts_for_initiative(city.trees.id)
    assert (totals.sent, totals.accepted, totals.declined, totals.waiting) == (3, 0, 1, 2)
    rows = invitations.initiative_invitations(city.trees)
    assert [(r.shift.id, r.counts.sent) for r in rows] == [(shift.id, 2), (other.id, 1)]
    assert invitations.invitation_counts_for_initiative(city.tutoring.id).sent == 0
