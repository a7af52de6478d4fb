"""Acting on texts: each command through `handle_inbound`, the code path shared by the webhook
and the simulator."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools

import pytest
import sqlalchemy as sa

from tests.factories import make_initiative, make_metric, make_shift, make_user
from tests.sms.conftest import messages, new_phone
from volunteer_app.accounts.models import User
from volunteer_app.hours.models import HoursEntry
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.shifts import services as shift_services
from volunteer_app.shifts.models import Signup, SignupSource, SignupStatus
from volunteer_app.sms import inbound
from volunteer_app.sms.models import Direction, Message, MessageStatus
from volunteer_app.sms.segments import count_segments

_sids = itertools.count(1)


@pytest.fixture
def say(db):
    """Text the program as `phone`: `say(phone, "OK", now)` returns the reply (committed)."""

    def send(phone: str, body: str, now: dt.datetime, sid: str | None = None) -> str | None:
        reply = inbound.handle_inbound(phone, body, sid or f"SMtest{next(_sids)}", now)
        db.session.commit()
        return reply

    return send


@pytest.fixture
def initiative(db):
    return make_initiative(title="Tree planting")


def signed_up(user, shift, now):
    return shift_services.signup_for_shift(user, shift, now=now).signup


# --- HELP, STOP, START ------------------------------------------------------------------------


def test_help_names_the_program_how_to_stop_and_whom_to_call(app, texter, say, now):
    person = texter()
    reply = say(person.phone, "help", now)
    assert app.config["PROGRAM_NAME"] in reply
    assert "STOP" in reply
    assert app.config["PROGRAM_CONTACT"] in reply


def test_stop_is_mirrored_at_once_and_silences_everything_but_start_and_help(db, texter, say, now):
    person = texter()
    assert say(person.phone, "STOP", now) is None  # Twilio's own confirmation stands
    assert person.sms_opted_out_at == now
    assert not person.can_text

    assert say(person.phone, "SHIFTS", now) is None
    assert say(person.phone, "hello?", now) is None
    assert "STOP" in say(person.phone, "HELP", now)

    later = now + dt.timedelta(days=1)
    assert say(person.phone, "start", later) is None  # Twilio confirms re-subscribing
    db.session.refresh(person)
    assert person.sms_opted_out_at is None and person.can_text
    inbound_rows = db.session.scalars(
        sa.select(Message).where(Message.direction == Direction.INBOUND)
    ).all()
    assert len(inbound_rows) == 5
    assert all(m.status == MessageStatus.RECEIVED and m.user_id == person.id for m in inbound_rows)


def test_spanish_opt_out_is_confirmed_by_us(db, texter, say, now):
    person = texter()
    reply = say(person.phone, "Parar", now)
    assert person.sms_opted_out_at == now
    assert "START" in reply


def test_stop_with_words_opts_out_and_confirms(db, texter, say, now):
    person = texter()
    assert "START" in say(person.phone, "stop texting me please", now)
    assert person.sms_opted_out_at == now


def test_start_records_consent_from_the_persons_own_text(app, db, say, now):
    person = make_user(phone=new_phone())
    assert person.sms_consent_at is None
    reply = say(person.phone, "START", now)
    assert "OK" in reply  # never opted out: told how to confirm instead
    assert person.sms_consent_at == now
    assert person.sms_consent_source == "sms"
    assert person.sms_consent_version == app.config["SMS_CONSENT_VERSION"]


def test_cancel_with_a_code_explains_drop_and_changes_nothing(db, texter, initiative, say, now):
    person = texter()
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=1))
    signup = signed_up(person, shift, now)
    db.session.commit()
    reply = say(person.phone, f"cancel {shift.code}", now)
    assert "DROP" in reply and "STOP" in reply
    db.session.refresh(signup)
    assert signup.status == SignupStatus.CONFIRMED
    assert person.sms_opted_out_at is None


# --- OK and DROP --------------------------------------------------------------------------------


def test_ok_confirms_the_next_shift_and_says_which(db, texter, initiative, say, now):
    person = texter()
    later = make_shift(initiative, starts_at=now + dt.timedelta(days=5))
    sooner = make_shift(initiative, starts_at=now + dt.timedelta(days=1))
    later_signup, sooner_signup = signed_up(person, later, now), signed_up(person, sooner, now)
    db.session.commit()

    reply = say(person.phone, "ok!", now)
    assert sooner.code in reply and "Tree planting" in reply
    assert sooner_signup.reconfirmed_at == now
    assert later_signup.reconfirmed_at is None

    say(person.phone, f"Listo {later.code}", now + dt.timedelta(minutes=1))
    assert later_signup.reconfirmed_at == now + dt.timedelta(minutes=1)


def test_ok_with_nothing_to_confirm_is_a_helpful_reply(texter, say, now):
    reply = say(texter().phone, "OK", now)
    assert "SHIFTS" in reply


def test_drop_gives_up_the_spot_promotes_the_waitlist_and_queues_the_promotion(
    db, texter, initiative, say, now
):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2), capacity=1)
    holder, waiting = texter(), texter()
    holder_signup = signed_up(holder, shift, now)
    waiting_signup = signed_up(waiting, shift, now)
    db.session.commit()
    assert waiting_signup.status == SignupStatus.WAITLISTED

    reply = say(holder.phone, " Drop ", now + dt.timedelta(hours=1))
    assert shift.code in reply
    db.session.refresh(holder_signup)
    db.session.refresh(waiting_signup)
    assert holder_signup.status == SignupStatus.CANCELLED
    assert waiting_signup.status == SignupStatus.CONFIRMED
    promotion = messages(kind="waitlist_promoted", user_id=waiting.id)
    assert len(promotion) == 1 and promotion[0].status == MessageStatus.QUEUED
    assert (
        db.session.scalar(sa.select(Message.shift_id).where(Message.kind == "in:drop")) == shift.id
    )


def test_drop_with_a_code_picks_that_shift(db, texter, initiative, say, now):
    person = texter()
    first = make_shift(initiative, starts_at=now + dt.timedelta(days=1))
    second = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    first_signup, second_signup = signed_up(person, first, now), signed_up(person, second, now)
    db.session.commit()

    reply = say(person.phone, f"DEJAR {second.code}", now)
    assert second.code in reply
    db.session.refresh(first_signup)
    db.session.refresh(second_signup)
    assert (first_signup.status, second_signup.status) == (
        SignupStatus.CONFIRMED,
        SignupStatus.CANCELLED,
    )
    assert "SHIFTS" in say(person.phone, "drop 9999", now)


# --- IN and OUT ---------------------------------------------------------------------------------


def test_in_during_the_shift_checks_in_and_out_credits_hours(db, texter, initiative, say, now):
    person = texter()
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=1), hours=3)
    signup = signed_up(person, shift, now)
    db.session.commit()

    too_early = shift.starts_at - dt.timedelta(hours=2)
    assert "30 minutes" in say(person.phone, "IN", too_early)
    assert signup.checked_in_at is None

    arrived = shift.starts_at - dt.timedelta(minutes=10)
    reply = say(person.phone, "in.", arrived)
    assert "checked in" in reply and shift.code in reply
    db.session.refresh(signup)
    assert signup.checked_in_at == arrived and signup.check_in_method == "sms"
    assert signup.status == SignupStatus.ATTENDED

    reply = say(person.phone, "Out", shift.starts_at + dt.timedelta(hours=2, minutes=31))
    entry = db.session.scalar(sa.select(HoursEntry).where(HoursEntry.signup_id == signup.id))
    assert entry.minutes == 150
    assert "2.5 hours" in reply
    assert "not checked in" in say(person.phone, "OUT", shift.ends_at)


def test_in_with_several_shifts_open_lists_their_codes(db, texter, initiative, say, now):
    person = texter()
    start = now + dt.timedelta(days=1)
    morning = make_shift(initiative, starts_at=start, hours=1)
    late_morning = make_shift(initiative, starts_at=start + dt.timedelta(minutes=75), hours=1)
    first, second = signed_up(person, morning, now), signed_up(person, late_morning, now)
    db.session.commit()

    between = start + dt.timedelta(minutes=50)  # the first is on, the second opens check-in
    reply = say(person.phone, "here", between)
    assert f"IN {morning.code}" in reply and f"IN {late_morning.code}" in reply
    db.session.refresh(first)
    assert first.checked_in_at is None

    say(person.phone, f"IN {late_morning.code}", between)
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.checked_in_at is None and second.checked_in_at == between


# --- SHIFTS -----------------------------------------------------------------------------------


def test_shifts_lists_upcoming_shifts_with_codes_and_waitlist_places(
    db, texter, initiative, say, now
):
    person = texter()
    confirmed = make_shift(initiative, starts_at=now + dt.timedelta(days=1))
    full = make_shift(initiative, starts_at=now + dt.timedelta(days=3), capacity=1)
    past = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    signed_up(texter(), full, now)
    signed_up(person, confirmed, now)
    signed_up(person, full, now)
    signed_up(person, past, now)
    db.session.commit()

    reply = say(person.phone, "SHIFTS", now + dt.timedelta(days=2, hours=5))
    assert full.code in reply and "#1" in reply
    assert confirmed.code not in reply and past.code not in reply
    # A Spanish command word gets a Spanish answer.
    assert "No tienes turnos" in say(texter().phone, "turnos", now)


# --- JOIN and names ---------------------------------------------------------------------------


def test_join_from_a_new_phone_creates_a_volunteer_with_consent_and_asks_the_name(
    app, db, initiative, say, now
):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2), code="4821")
    db.session.commit()
    phone = new_phone()

    reply = say(phone, "JOIN 4821", now)
    assert "4821" in reply and "name" in reply
    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    assert person.name == "" and person.email is None and person.password_hash is None
    assert person.sms_consent_at == now
    assert person.sms_consent_version == app.config["SMS_CONSENT_VERSION"]
    assert person.sms_consent_source == "sms"
    assert person.preferred_language == "en"
    signup = db.session.scalar(sa.select(Signup).where(Signup.user_id == person.id))
    assert signup.shift_id == shift.id and signup.status == SignupStatus.CONFIRMED
    assert signup.source == SignupSource.SMS
    # The reply carried the confirmation: the queued one is kept but not sent again.
    (confirmation,) = messages(kind="signup_confirmed", user_id=person.id)
    assert confirmation.status == MessageStatus.DROPPED
    (reply_row,) = messages(kind="reply", user_id=person.id)
    assert reply_row.body == reply and reply_row.status == MessageStatus.SENT

    assert say(phone, "ana", now) == "Thanks, Ana! Text SHIFTS to see your shifts or HELP for help."
    db.session.refresh(person)
    assert person.name == "Ana"
    assert "didn't get that" in say(phone, "hello again", now)  # the name is asked once


def test_join_with_a_spanish_alias_keeps_the_language(db, initiative, say, now):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    db.session.commit()
    phone = new_phone()
    say(phone, f"Unirme {shift.code}", now)
    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    assert person.preferred_language == "es"


def test_join_when_full_waitlists(db, texter, initiative, say, now):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2), capacity=1)
    signed_up(texter(), shift, now)
    db.session.commit()
    reply = say(new_phone(), f"join {shift.code}", now)
    assert "waitlist" in reply and "#1" in reply


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("unknown", "couldn't find shift"),
        ("too_young", "at least 18"),
        ("started", "already started"),
        ("twice", "already signed up"),
        ("no_code", "JOIN and the shift code"),
    ],
)
def test_join_refusals_are_clear_and_create_nobody(
    db, texter, initiative, say, now, setup, expected
):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2), code="5150")
    phone = new_phone()
    body = "JOIN 5150"
    if setup == "unknown":
        body = "JOIN 777777"
    elif setup == "too_young":
        initiative.minimum_age = 18
    elif setup == "started":
        shift.starts_at = now - dt.timedelta(minutes=5)
    elif setup == "twice":
        phone = texter().phone
        signed_up(db.session.scalar(sa.select(User).where(User.phone == phone)), shift, now)
    elif setup == "no_code":
        body = "join"
    db.session.commit()
    users_before = db.session.scalar(sa.select(sa.func.count(User.id)))

    reply = say(phone, body, now)
    assert expected in reply
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before


def test_join_clash_is_refused(db, texter, initiative, say, now):
    person = texter()
    first = make_shift(initiative, starts_at=now + dt.timedelta(days=2))
    overlapping = make_shift(initiative, starts_at=now + dt.timedelta(days=2, hours=1))
    signed_up(person, first, now)
    db.session.commit()
    reply = say(person.phone, f"JOIN {overlapping.code}", now)
    assert "already signed up for Tree planting at that time" in reply


# --- Outcome numbers from team leads -------------------------------------------------------


def test_team_lead_number_records_the_outcome_with_a_running_total(
    db, texter, initiative, say, now
):
    lead = texter()
    trees = make_metric(initiative, "Trees planted", unit="trees", target=100)
    make_metric(initiative, "Bags of litter", unit="bags", target=50, sms_keyword="LITTER")
    shift = make_shift(
        initiative, starts_at=now - dt.timedelta(hours=5), hours=3, team_lead_id=lead.id
    )
    db.session.commit()

    reply = say(lead.phone, "12", now)
    record = db.session.scalar(sa.select(OutcomeRecord))
    assert record.metric_id == trees.id and record.value == decimal.Decimal("12.00")
    assert record.source == OutcomeSource.SMS and record.shift_id == shift.id
    assert record.recorded_by_id == lead.id
    assert "12 trees" in reply and "12 of 100" in reply

    reply = say(lead.phone, "TREES 3", now + dt.timedelta(minutes=1))
    assert "15 of 100" in reply
    say(lead.phone, "litter: 7", now + dt.timedelta(minutes=2))
    litter = db.session.scalars(
        sa.select(OutcomeRecord).where(OutcomeRecord.metric_id != trees.id)
    ).all()
    assert [r.value for r in litter] == [decimal.Decimal("7.00")]


def test_numbers_from_others_or_too_late_record_nothing(db, texter, initiative, say, now):
    lead, someone = texter(), texter()
    make_metric(initiative)
    shift = make_shift(
        initiative, starts_at=now - dt.timedelta(hours=60), hours=3, team_lead_id=lead.id
    )
    db.session.commit()
    assert "didn't get that" in say(lead.phone, "12", now)  # ended 57 hours ago
    assert "didn't get that" in say(someone.phone, "12", now)
    assert f"JOIN {shift.code}" in say(someone.phone, shift.code, now)
    assert db.session.scalar(sa.select(sa.func.count(OutcomeRecord.id))) == 0


# --- Anything else, unknown phones, errors ---------------------------------------------------


def test_unknown_text_gets_the_list_of_commands(texter, say, now):
    reply = say(texter().phone, "what is this", now)
    for word in ("SHIFTS", "OK", "DROP", "IN", "OUT", "JOIN", "HELP"):
        assert word in reply


@pytest.mark.parametrize("body", ["hello", "OK", "SHIFTS", "12", "", "START"])
def test_unknown_phones_get_told_how_to_join(app, say, now, body):
    reply = say(new_phone(), body, now)
    assert "JOIN" in reply and app.config["PROGRAM_NAME"] in reply


def test_the_same_message_sid_acts_once_and_gets_the_same_reply(db, texter, initiative, say, now):
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=2), capacity=1)
    holder, waiting = texter(), texter()
    signed_up(holder, shift, now)
    signed_up(waiting, shift, now)
    db.session.commit()

    first = say(holder.phone, "DROP", now, sid="SMsame")
    second = say(holder.phone, "DROP", now + dt.timedelta(seconds=30), sid="SMsame")
    assert first == second and shift.code in first
    assert len(messages(kind="waitlist_promoted")) == 1
    assert len(messages(kind="reply")) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Message.id)).where(Message.direction == Direction.INBOUND)
        )
        == 1
    )


def test_an_unexpected_error_rolls_the_command_back_and_apologises(
    db, texter, initiative, say, now, monkeypatch
):
    person = texter()
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=1))
    signup = signed_up(person, shift, now)
    db.session.commit()

    def broken(command, user, *, now, locale):
        signup.reconfirmed_at = now
        db.session.flush()
        raise RuntimeError("boom")

    monkeypatch.setattr(inbound, "confirm", broken)
    reply = say(person.phone, "OK", now)
    assert reply.startswith("Sorry, something went wrong")
    db.session.refresh(signup)
    assert signup.reconfirmed_at is None
    row = db.session.scalar(sa.select(Message).where(Message.direction == Direction.INBOUND))
    assert row.reply_body == reply and row.kind == "in:ok"


def test_the_join_reply_fits_one_segment_even_with_long_names(db, say, now):
    initiative = make_initiative(title="Neighborhood Tree Planting and Park Clean-up Day")
    shift = make_shift(
        initiative,
        starts_at=now + dt.timedelta(days=2),
        code="48213",
        location_name="Riverside Park North Entrance by the fountain",
    )
    db.session.commit()
    reply = say(new_phone(), f"JOIN {shift.code}", now)
    assert "48213" in reply and "first name" in reply
    assert count_segments(reply) == 1, reply


def test_spanish_aliases_act_like_their_english_twins(db, texter, initiative, say, now):
    person = texter(preferred_language="es")
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=1), hours=2)
    signup = signed_up(person, shift, now)
    db.session.commit()

    assert "STOP" in say(person.phone, "Ayuda", now)
    assert shift.code in say(person.phone, "mis turnos", now)
    say(person.phone, "Llegué!", shift.starts_at)
    db.session.refresh(signup)
    assert signup.checked_in_at == shift.starts_at
    say(person.phone, "salida", shift.ends_at)
    entry = db.session.scalar(sa.select(HoursEntry).where(HoursEntry.signup_id == signup.id))
    assert entry.minutes == 120
