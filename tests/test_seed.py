"""`flask seed demo` builds a demo city that keeps every rule of the data; `flask seed logins`
prints who to log in as."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from tests.clock import INSTANTS
from volunteer_app.accounts.models import Membership, Organization, Role, User
from volunteer_app.accounts.passwords import verify_password
from volunteer_app.core.db import UTCDateTime, utcnow
from volunteer_app.core.time import local
from volunteer_app.extensions import db as _db
from volunteer_app.hours.models import HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource, VolunteerHourRate
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.seed import reference as ref
from volunteer_app.seed.demo import build_demo_city
from volunteer_app.shifts.models import SPOT_HOLDING, Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.models import Direction, Message, MessageStatus


def seed(runner, *flags: str):
    return runner.invoke(args=["seed", "demo", *flags])


@pytest.fixture
def seeded(runner):
    started_at = utcnow()
    result = seed(runner)
    assert result.exit_code == 0, result.output
    assert "Loaded the demo city" in result.output
    _db.session.expire_all()
    return started_at


def all_rows(model):
    return _db.session.scalars(sa.select(model)).all()


def test_every_shift_counts_exactly_the_signups_holding_its_spots(seeded):
    holders = Counter(
        signup.shift_id for signup in all_rows(Signup) if signup.status in SPOT_HOLDING
    )
    shifts = all_rows(Shift)
    assert len(shifts) > 150
    for shift in shifts:
        assert shift.spots_taken == holders[shift.id], shift
        assert 0 <= shift.spots_taken <= shift.capacity
        assert 5 <= shift.capacity <= 25
        if shift.is_cancelled:
            assert shift.spots_taken == 0


def test_waitlists_run_one_to_n_and_only_on_full_shifts(seeded):
    positions = defaultdict(list)
    for signup in all_rows(Signup):
        if signup.status == SignupStatus.WAITLISTED:
            positions[signup.shift_id].append(signup.waitlist_position)
    assert len(positions) >= 2, "the demo shows some full shifts with people waiting"
    for shift_id, waiting in positions.items():
        shift = _db.session.get(Shift, shift_id)
        assert sorted(waiting) == list(range(1, len(waiting) + 1))
        assert shift.spots_taken == shift.capacity
        assert shift.starts_at > seeded


def test_nobody_holds_two_overlapping_shifts_or_is_too_young(seeded):
    by_person = defaultdict(list)
    signups = _db.session.scalars(
        sa.select(Signup).options(sa.orm.joinedload(Signup.shift).joinedload(Shift.initiative))
    ).all()
    users = {user.id: user for user in all_rows(User)}
    for signup in signups:
        if signup.status in (*SPOT_HOLDING, SignupStatus.WAITLISTED):
            by_person[signup.user_id].append(signup.shift)
        initiative = signup.shift.initiative
        assert initiative.status != InitiativeStatus.DRAFT
        if initiative.minimum_age and signup.status != SignupStatus.CANCELLED:
            day = local(signup.shift.starts_at, initiative.timezone).date()
            assert users[signup.user_id].age_on(day) >= initiative.minimum_age
    for shifts in by_person.values():
        shifts.sort(key=lambda s: s.starts_at)
        for earlier, later in zip(shifts, shifts[1:], strict=False):
            assert earlier.ends_at <= later.starts_at
    teenagers = [
        u for u in users.values() if u.birth_date and u.age_on(local(seeded, "UTC").date()) < 18
    ]
    assert len(teenagers) >= 2


# Instants that say when something is planned, not when it happened: they may lie ahead.
PLANNED = {
    (Shift, "starts_at"),
    (Shift, "ends_at"),
    (Message, "send_after"),
    (Message, "expires_at"),
}


def instants_written():
    """(model, column, instant) for every instant in the database, status histories included."""
    for mapper in _db.Model.registry.mappers:
        model = mapper.class_
        columns = [c.key for c in mapper.columns if isinstance(c.type, UTCDateTime)]
        for row in all_rows(model):
            for key in columns:
                if (value := getattr(row, key)) is not None:
                    yield model, key, value
    for message in all_rows(Message):
        for entry in message.status_history or []:
            yield Message, "status_history", dt.datetime.fromisoformat(entry["at"])


def written_after(now: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """Every instant that is not UTC, or that happened after `now`."""
    return [
        (model.__name__, key, value)
        for model, key, value in instants_written()
        if value.utcoffset() != dt.timedelta(0) or ((model, key) not in PLANNED and value > now)
    ]


def test_every_instant_is_aware_utc_and_nothing_happened_in_the_future(seeded):
    assert written_after(utcnow()) == []
    for shift in all_rows(Shift):
        assert shift.ends_at > shift.starts_at
    for signup in all_rows(Signup):
        assert signup.created_at < signup.shift.starts_at
        if signup.checked_out_at:
            assert signup.checked_in_at < signup.checked_out_at


@pytest.mark.parametrize(
    "now", INSTANTS.values(), ids=[f"{i:%Y-%m-%dT%H:%MZ}" for i in INSTANTS.values()]
)
def test_seeded_at_any_hour_nothing_is_written_after_its_now(app, now):
    """Seeding at a time-of-day edge (see tests/clock.py) writes nothing after the seed's
    `now`: no outcome recorded, text sent or review done in the future."""
    summary = build_demo_city(now)
    _db.session.expire_all()  # read every instant back from the database
    assert summary.counts["outcome records"] > 100 and summary.counts["hours entries"] > 100
    assert written_after(now) == []
    starts = [shift.starts_at for shift in all_rows(Shift)]
    assert min(starts) < now - dt.timedelta(weeks=10) and max(starts) > now + dt.timedelta(weeks=6)


def test_published_initiatives_have_goals_and_shifts_ahead(seeded):
    initiatives = all_rows(Initiative)
    statuses = Counter(i.status for i in initiatives)
    assert statuses[InitiativeStatus.DRAFT] == 1
    assert statuses[InitiativeStatus.CLOSED] == 1
    assert statuses[InitiativeStatus.PUBLISHED] >= 6
    assert {i.timezone for i in initiatives} == {"America/New_York", "America/Chicago"}
    for initiative in initiatives:
        assert initiative.metrics, initiative
        assert initiative.blueprint
        for metric in initiative.metrics:
            assert metric.target > 0 and metric.unit and metric.deadline_on
        if initiative.status != InitiativeStatus.PUBLISHED:
            continue
        ahead = [
            s
            for s in _db.session.scalars(
                sa.select(Shift).where(Shift.initiative_id == initiative.id)
            )
            if s.starts_at > seeded and s.status == ShiftStatus.SCHEDULED
        ]
        assert ahead, initiative
        # Local times come from the initiative's own zone: 4 pm in Chicago, not New York.
        if initiative.timezone == "America/Chicago":
            assert {local(s.starts_at, initiative.timezone).hour for s in ahead} == {16}
        recorded = _db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutcomeRecord)
            .where(OutcomeRecord.metric_id.in_([m.id for m in initiative.metrics]))
        )
        assert recorded > 0, f"{initiative.slug} shows no progress"
    assert any(
        r.source == OutcomeSource.PARTNER_REPORT and r.period_end_on > r.period_start_on
        for r in all_rows(OutcomeRecord)
    )


def test_attendance_carries_approved_hours_and_some_wait_for_review(seeded):
    entries = all_rows(HoursEntry)
    by_signup = {e.signup_id: e for e in entries if e.signup_id is not None}
    attended = [s for s in all_rows(Signup) if s.status == SignupStatus.ATTENDED]
    assert attended
    for signup in attended:
        if signup.checked_out_at is None:
            continue  # a shift going on right now
        entry = by_signup[signup.id]
        shift = signup.shift
        assert entry.status == HoursStatus.APPROVED
        assert entry.source == HoursSource.ATTENDANCE
        assert entry.served_on == local(shift.starts_at, shift.initiative.timezone).date()
        assert 0 < entry.minutes <= shift.duration.total_seconds() // 60
    assert not any(
        by_signup.get(s.id) for s in all_rows(Signup) if s.status != SignupStatus.ATTENDED
    )
    pending = [e for e in entries if e.status == HoursStatus.PENDING]
    assert pending and all(e.source == HoursSource.SELF_REPORT for e in pending)


def test_people_rates_and_messages(seeded, app):
    users = all_rows(User)
    volunteers = [u for u in users if u.role == Role.VOLUNTEER]
    assert 55 <= len(volunteers) <= 70
    admin = _db.session.scalar(sa.select(User).where(User.email == ref.ADMIN_EMAIL))
    assert admin.role == Role.ADMIN
    assert verify_password(admin.password_hash, ref.DEMO_PASSWORD)
    # Every organization has its coordinator.
    organizations = all_rows(Organization)
    coordinated = {m.organization_id for m in all_rows(Membership)}
    assert {o.id for o in organizations} == coordinated
    maria = _db.session.scalar(sa.select(User).where(User.email == ref.SPANISH_VOLUNTEER_EMAIL))
    assert maria.preferred_language == "es" and maria.can_text
    texting = [u for u in users if u.phone]
    assert texting and all(u.phone.startswith("+1202555") for u in texting)
    consented = [u for u in texting if u.sms_consent_at]
    assert {u.sms_consent_version for u in consented} == {app.config["SMS_CONSENT_VERSION"]}
    assert any(u.phone and u.sms_consent_at is None for u in users)
    assert any(u.email is None for u in users), "someone who only texts"

    rates = {r.year: r.cents for r in all_rows(VolunteerHourRate)}
    assert rates == {2024: 3479, 2023: 3349, 2022: 3180, 2021: 2995}

    messages = all_rows(Message)
    outbound = [m for m in messages if m.direction == Direction.OUTBOUND]
    assert {m.status for m in outbound} <= {MessageStatus.SENT, MessageStatus.DELIVERED}
    assert any(m.status == MessageStatus.DELIVERED for m in outbound)
    assert all(m.twilio_sid and m.sent_at for m in outbound)


def test_if_empty_skips_a_seeded_database_and_a_second_plain_run_refuses(runner):
    first = seed(runner, "--if-empty")
    assert first.exit_code == 0, first.output
    assert "Loaded the demo city" in first.output
    shifts = _db.session.scalar(sa.select(sa.func.count()).select_from(Shift))
    codes = set(_db.session.scalars(sa.select(Shift.code)))

    again = seed(runner, "--if-empty")
    assert again.exit_code == 0
    assert "already has data" in again.output

    refused = seed(runner)
    assert refused.exit_code != 0
    assert "already has data" in refused.output
    assert "--reset" in refused.output
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == shifts

    both = seed(runner, "--if-empty", "--reset")
    assert both.exit_code != 0

    reset = seed(runner, "--reset")
    assert reset.exit_code == 0, reset.output
    _db.session.expire_all()
    # The same seed gives the same city: the codes people text are stable.
    assert set(_db.session.scalars(sa.select(Shift.code))) == codes
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == len(
        ref.ORGANIZATIONS
    )


def test_logins_lists_the_demo_accounts_and_the_password(runner, seeded):
    result = runner.invoke(args=["seed", "logins"])
    assert result.exit_code == 0
    for email in (
        ref.ADMIN_EMAIL,
        ref.VOLUNTEER_EMAIL,
        ref.SPANISH_VOLUNTEER_EMAIL,
        *(org.coordinator_email for org in ref.ORGANIZATIONS),
    ):
        assert email in result.output
    assert ref.DEMO_PASSWORD in result.output
    assert "http://127.0.0.1:5000" in result.output
    assert "not in this database" not in result.output


def test_logins_on_an_empty_database_says_to_seed_first(runner):
    result = runner.invoke(args=["seed", "logins"])
    assert result.exit_code == 0
    assert "run flask seed demo" in result.output
