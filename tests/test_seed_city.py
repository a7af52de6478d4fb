"""`flask seed city` loads a city-scale data set (here at a hundredth of a city) that keeps
every rule the demo city keeps, with the demo logins."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import phonenumbers
import pytest
import sqlalchemy as sa

from tests.test_seed import written_after
from volunteer_app.accounts.models import User
from volunteer_app.core.db import utcnow
from volunteer_app.core.time import local
from volunteer_app.extensions import db as _db
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
from volunteer_app.matching.models import Invitation
from volunteer_app.seed import reference as ref
from volunteer_app.seed.city import build_city, city_size
from volunteer_app.seed.plans import PLANS
from volunteer_app.shifts.models import SPOT_HOLDING, Shift, ShiftStatus, Signup, SignupStatus

SCALE = 0.01
DEMO_SLUGS = {plan.slug for plan in PLANS}


def all_rows(model):
    return _db.session.scalars(sa.select(model)).all()


@pytest.fixture
def city(app, now):
    """The city at a hundredth of its size, seeded at the suite's fixed `now`."""
    summary = build_city(now, scale=SCALE)
    _db.session.commit()
    _db.session.expire_all()
    return summary


def test_the_command_loads_a_city_whose_counts_scale_and_whose_logins_work(runner, client):
    started_at = utcnow()
    result = runner.invoke(args=["seed", "city", "--scale", str(SCALE)])
    assert result.exit_code == 0, result.output
    assert "Loaded the city (scale 0.01)" in result.output
    _db.session.expire_all()

    size = city_size(SCALE)
    demo_people = len(ref.ORGANIZATIONS) + 1 + 60
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(User)) == (
        demo_people + size["volunteers"]
    )
    bulk_initiatives = [i for i in all_rows(Initiative) if i.slug not in DEMO_SLUGS]
    assert len(bulk_initiatives) == size["initiatives"]
    bulk_ids = {i.id for i in bulk_initiatives}
    shifts = [s for s in all_rows(Shift) if s.initiative_id in bulk_ids]
    assert len(shifts) == size["shifts"]
    upcoming = sum(s.starts_at > started_at for s in shifts)
    assert upcoming == size["upcoming shifts"]
    signups = _db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Signup)
        .where(Signup.shift_id.in_(s.id for s in shifts))
    )
    assert 0.75 * size["signups"] <= signups <= 1.1 * size["signups"]
    hours = _db.session.scalar(
        sa.select(sa.func.count())
        .select_from(HoursEntry)
        .where(HoursEntry.initiative_id.in_(bulk_ids))
    )
    assert 0.95 * size["hours entries"] <= hours <= size["hours entries"]
    outcomes = _db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutcomeRecord)
        .join(OutcomeMetric)
        .where(OutcomeMetric.initiative_id.in_(bulk_ids))
    )
    assert 0.5 * size["outcome records"] <= outcomes <= size["outcome records"]

    # A second run refuses a database that has data.
    assert runner.invoke(args=["seed", "city", "--scale", str(SCALE)]).exit_code != 0

    # The demo logins work at city scale, and so does any resident's with the demo password.
    resident = _db.session.scalar(
        sa.select(User.email).where(User.email.like("%@residents.example")).limit(1)
    )
    for email in (ref.VOLUNTEER_EMAIL, ref.ORGANIZATIONS[0].coordinator_email, resident):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)[1]
        response = client.post(
            "/login",
            data={"email": email, "password": ref.DEMO_PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 302, (email, response.status_code)
        assert client.get("/me/shifts").status_code == 200
        assert client.post("/logout", data={"csrf_token": token}).status_code in (200, 302)


def test_every_shift_counts_its_spot_holders_within_capacity(city, now):
    holders = Counter(s.shift_id for s in all_rows(Signup) if s.status in SPOT_HOLDING)
    waiting = defaultdict(list)
    for signup in all_rows(Signup):
        if signup.status == SignupStatus.WAITLISTED:
            waiting[signup.shift_id].append(signup.waitlist_position)
    shifts = all_rows(Shift)
    assert len(shifts) > city_size(SCALE)["shifts"]
    for shift in shifts:
        assert shift.spots_taken == holders[shift.id], shift
        assert 0 <= shift.spots_taken <= shift.capacity
        if shift.status == ShiftStatus.CANCELLED:
            assert shift.spots_taken == 0
    assert any(s.spots_taken == s.capacity for s in shifts), "some shifts are full"
    for shift_id, positions in waiting.items():
        shift = _db.session.get(Shift, shift_id)
        assert sorted(positions) == list(range(1, len(positions) + 1))
        assert shift.spots_taken == shift.capacity and shift.starts_at > now
    assert len({s.code for s in shifts}) == len(shifts)


def test_nobody_is_on_two_shifts_at_once_or_too_young(city):
    users = {u.id: u for u in all_rows(User)}
    held = defaultdict(list)
    for signup in all_rows(Signup):
        if signup.status == SignupStatus.CANCELLED:
            continue
        shift = signup.shift
        initiative = shift.initiative
        assert initiative.status != InitiativeStatus.DRAFT
        if initiative.minimum_age:
            day = local(shift.starts_at, initiative.timezone).date()
            assert users[signup.user_id].age_on(day) >= initiative.minimum_age
        held[signup.user_id].append(shift)
    assert max(len(shifts) for shifts in held.values()) > 1
    for shifts in held.values():
        shifts.sort(key=lambda s: s.starts_at)
        for earlier, later in zip(shifts, shifts[1:], strict=False):
            assert earlier.ends_at <= later.starts_at


def test_people_have_unique_e164_phones_and_emails(city):
    users = all_rows(User)
    phones = [u.phone for u in users if u.phone]
    emails = [u.email for u in users if u.email]
    assert len(phones) == len(set(phones)) > 100
    assert len(emails) == len(set(emails)) > 100
    for phone in phones:
        assert re.fullmatch(r"\+1\d{10}", phone)
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone))
    for user in users:
        assert (user.sms_consent_at is None) == (user.sms_consent_version is None)
        if user.sms_consent_at is not None:
            assert user.phone is not None


def test_nothing_is_written_after_now_and_hours_follow_attendance(city, now):
    assert written_after(now) == []
    signups = all_rows(Signup)
    for signup in signups:
        assert signup.created_at < signup.shift.starts_at
        if signup.checked_out_at:
            assert signup.checked_in_at < signup.checked_out_at
    by_signup = {e.signup_id: e for e in all_rows(HoursEntry) if e.signup_id is not None}
    attended = [s for s in signups if s.status == SignupStatus.ATTENDED]
    assert len(attended) > 500
    for signup in attended:
        if signup.checked_out_at is None:
            continue  # a demo shift going on right now
        entry = by_signup[signup.id]
        shift = signup.shift
        assert entry.status == HoursStatus.APPROVED
        assert entry.source == HoursSource.ATTENDANCE
        assert entry.user_id == signup.user_id and entry.shift_id == shift.id
        assert entry.served_on == local(shift.starts_at, shift.initiative.timezone).date()
        assert 0 < entry.minutes <= shift.duration.total_seconds() // 60
    assert not any(by_signup.get(s.id) for s in signups if s.status != SignupStatus.ATTENDED)
    entries = all_rows(HoursEntry)
    assert any(e.status == HoursStatus.PENDING for e in entries)
    assert all(
        e.source == HoursSource.SELF_REPORT for e in entries if e.status == HoursStatus.PENDING
    )
    # Retention reads the days to each person's next service, filled in as the app keeps it.
    assert any(e.days_to_next_service for e in entries)


def test_outcomes_belong_to_published_goals_that_are_part_way_there(city):
    records = all_rows(OutcomeRecord)
    bulk = [r for r in records if r.metric.initiative.slug not in DEMO_SLUGS]
    assert len(bulk) > city_size(SCALE)["outcome records"] // 2
    for record in bulk:
        assert record.metric.initiative.status == InitiativeStatus.PUBLISHED
        assert record.value >= 0
        if record.shift is not None:
            assert record.shift.initiative_id == record.metric.initiative_id
            assert record.recorded_at >= record.shift.ends_at
    for metric in all_rows(OutcomeMetric):
        assert metric.target > 0 and metric.deadline_on


def test_invitations_are_recent_and_to_people_not_on_the_shift(city, now):
    signed_up = {(s.shift_id, s.user_id) for s in all_rows(Signup)}
    invitations = all_rows(Invitation)
    assert len(invitations) > city_size(SCALE)["invitations"] // 2
    for invitation in invitations:
        assert now - dt.timedelta(days=7) <= invitation.sent_at <= now
        assert invitation.shift.starts_at > now
        assert (invitation.shift_id, invitation.user_id) not in signed_up


def test_new_rows_after_the_bulk_load_get_fresh_ids(city, now):
    """The bulk rows carry explicit ids; a row the app adds afterwards must not collide."""
    user = User(email="new@city.example", name="New", created_at=now)
    _db.session.add(user)
    _db.session.flush()
    assert user.id > max(u.id for u in all_rows(User) if u is not user)


def test_scale_is_bounded(app, now):
    with pytest.raises(ValueError):
        build_city(now, scale=0)
    with pytest.raises(ValueError):
        build_city(now, scale=5)
