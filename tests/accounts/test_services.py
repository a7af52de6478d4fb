"""Accounts services: registering, logging in, the profile, admins, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher

from tests.factories import PASSWORD, make_organization, make_user
from volunteer_app.accounts import services
from volunteer_app.accounts.models import PhoneStatus, Role, availability_bit
from volunteer_app.accounts.passwords import needs_rehash, verify_password
from volunteer_app.core.errors import NotFound


def register(now, **overrides):
    fields = {
        "name": "  Ana   Lopez ",
        "email": " Ana@Example.ORG ",
        "password": "a long enough password",
        "phone": "(202) 555-0143",
        "sms_consent": True,
        "preferred_language": "es",
        "now": now,
    }
    return services.register_user(**{**fields, **overrides})


# --- Registering -------------------------------------------------------------------------


def test_register_normalises_and_records_consent_with_its_version(app, db, now):
    user = register(now)
    db.session.commit()

    assert user.name == "Ana Lopez"
    assert user.email == "ana@example.org"
    assert user.phone == "+12025550143"
    assert user.role == Role.VOLUNTEER
    assert user.preferred_language == "es"
    assert user.sms_consent_at == now
    assert user.sms_consent_version == app.config["SMS_CONSENT_VERSION"]
    assert user.sms_consent_source == "web"
    assert user.last_login_at == now
    assert user.password_hash != "a long enough password"
    assert verify_password(user.password_hash, "a long enough password")
    assert user.can_text


def test_register_keeps_a_phone_given_without_consent_but_never_texts_it(db, now):
    user = register(now, sms_consent=False)
    db.session.commit()

    assert user.phone == "+12025550143"
    assert user.sms_consent_at is None and user.sms_consent_version is None
    assert user.sms_consent_source is None
    assert not user.can_text


def test_register_without_phone_needs_no_consent(db, now):
    user = register(now, phone="", sms_consent=False)
    assert user.phone is None and user.sms_consent_at is None


def test_consent_without_a_phone_is_refused(db, now):
    with pytest.raises(services.FieldError) as refused:
        register(now, phone="", sms_consent=True)
    assert refused.value.field == "phone"


def test_unknown_interface_language_falls_back_to_the_default(db, now):
    assert register(now, preferred_language="xx").preferred_language == "en"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 10_000}, "password"),
        ({"name": "   "}, "name"),
        ({"name": "N" * 10_000}, "name"),
    ],
)
def test_register_refuses_bad_input_by_field(db, now, overrides, field):
    with pytest.raises(services.FieldError) as refused:
        register(now, **overrides)
    assert refused.value.field == field
    assert refused.value.message


def test_an_email_is_registered_once_whatever_its_case(db, now):
    make_user("ana@example.org")
    with pytest.raises(services.EmailTaken) as refused:
        register(now, email="ANA@example.org")
    assert refused.value.field == "email"


def test_a_phone_is_registered_once_whatever_its_format(db, now):
    make_user(phone="+12025550143")
    with pytest.raises(services.PhoneTaken) as refused:
        register(now, phone="202.555.0143")
    assert refused.value.field == "phone"


def test_explain_conflict_names_the_field_another_request_took(db, now):
    make_user("ana@example.org", phone="+12025550143")
    assert services.explain_conflict("Ana@example.org", None).field == "email"
    assert services.explain_conflict("new@example.org", "2025550143").field == "phone"
    assert services.explain_conflict("new@example.org", None).field is None


# --- Logging in --------------------------------------------------------------------------


def test_authenticate_finds_the_account_and_stamps_the_login(db, now):
    user = make_user("ana@example.org")
    assert services.authenticate(" ANA@example.org", PASSWORD, now=now) is user
    assert user.last_login_at == now


@pytest.mark.parametrize(
    ("email", "password"),
    [("ana@example.org", "wrong password!"), ("nobody@example.org", PASSWORD), ("", "")],
)
def test_authenticate_says_none_for_wrong_credentials(db, now, email, password):
    user = make_user("ana@example.org")
    assert services.authenticate(email, password, now=now) is None
    assert user.last_login_at is None


def test_authenticate_never_matches_an_account_without_a_password(db, now):
    make_user("texter@example.org", password=None)
    assert services.authenticate("texter@example.org", "", now=now) is None


def test_an_inactive_account_cannot_log_in(db, now):
    make_user("gone@example.org", active=False)
    with pytest.raises(services.AccountInactive):
        services.authenticate("gone@example.org", PASSWORD, now=now)


def test_an_old_hash_is_upgraded_at_login(db, now):
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    user = make_user("old@example.org", password=None)
    user.password_hash = weak
    assert needs_rehash(weak)

    services.authenticate("old@example.org", PASSWORD, now=now)

    assert user.password_hash != weak
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, PASSWORD)


# --- The profile -------------------------------------------------------------------------


def profile_of(user, **changes) -> services.ProfileData:
    data = services.profile_data_of(user)
    for name, value in changes.items():
        setattr(data, name, value)
    return data


def test_update_profile_saves_every_part(db, now, reference):
    user = make_user(phone="+12025550143", consent_at=now)
    data = profile_of(
        user,
        name="Ana Lopez",
        preferred_language="es",
        neighborhood_id=reference.riverside.id,
        zip_code="20001",
        cause_ids=[reference.environment.id, reference.education.id],
        skill_ids=[reference.tutoring.id],
        language_codes=["es", "vi"],
        availability={(0, 0), (4, 2), (6, 1)},
        travel_miles=5,
        effort_preference="moderate",
        birth_date=dt.date(1990, 2, 28),
    )

    services.update_profile(user, data, now=now)
    db.session.commit()
    db.session.expire_all()

    assert user.name == "Ana Lopez"
    assert user.preferred_language == "es"
    assert user.neighborhood == reference.riverside
    assert user.zip_code == "20001"
    assert {c.slug for c in user.causes} == {"environment", "education"}
    assert [s.slug for s in user.skills] == ["tutoring"]
    assert {language.code for language in user.languages} == {"es", "vi"}
    assert user.availability_mask == (
        availability_bit(0, 0) | availability_bit(4, 2) | availability_bit(6, 1)
    )
    assert user.availability_mask == 0b1 | 1 << 14 | 1 << 19
    assert user.travel_miles == 5.0
    assert user.effort_preference == "moderate"
    assert user.birth_date == dt.date(1990, 2, 28)
    assert services.profile_data_of(user).availability == {(0, 0), (4, 2), (6, 1)}


def test_update_profile_can_clear_the_optional_parts(db, now, reference):
    user = make_user(zip_code="20001", travel_miles=3.0, availability_mask=7)
    user.causes = [reference.environment]
    data = profile_of(user, zip_code=None, travel_miles=None, cause_ids=[], availability=set())
    services.update_profile(user, data, now=now)
    assert user.zip_code is None and user.travel_miles is None
    assert user.causes == [] and user.availability_mask == 0


def test_unticking_the_box_withdraws_consent(db, now):
    user = make_user(phone="+12025550143", consent_at=now - dt.timedelta(days=30))
    services.update_profile(user, profile_of(user, sms_consent=False), now=now)
    assert user.phone == "+12025550143"
    assert user.sms_consent_at is None and user.sms_consent_version is None
    assert not user.can_text


def test_saving_an_unchanged_number_keeps_the_original_consent(app, db, now):
    earlier = now - dt.timedelta(days=30)
    user = make_user(phone="+12025550143")
    services.update_profile(user, profile_of(user, sms_consent=True), now=earlier)
    services.update_profile(user, profile_of(user, name="New name"), now=now)
    assert user.sms_consent_at == earlier
    assert user.sms_consent_version == app.config["SMS_CONSENT_VERSION"]


def test_a_new_consent_text_is_agreed_to_afresh(app, db, now):
    user = make_user(phone="+12025550143", consent_at=now - dt.timedelta(days=30))
    assert user.sms_consent_version == "test"
    services.update_profile(user, profile_of(user), now=now)
    assert user.sms_consent_at == now
    assert user.sms_consent_version == app.config["SMS_CONSENT_VERSION"]


def test_a_new_number_needs_fresh_consent(db, now):
    user = make_user(phone="+12025550143", consent_at=now - dt.timedelta(days=30))
    user.sms_opted_out_at = now - dt.timedelta(days=1)
    user.phone_status = PhoneStatus.INVALID

    services.update_profile(
        user, profile_of(user, phone="202 555 0199", sms_consent=False), now=now
    )
    assert user.phone == "+12025550199"
    assert user.sms_consent_at is None

    services.update_profile(user, profile_of(user, sms_consent=True), now=now)
    assert user.sms_consent_at == now and user.sms_consent_source == "web"
    # The STOP and the delivery failure belonged to the old number.
    assert user.sms_opted_out_at is None and user.phone_status == PhoneStatus.OK
    assert user.can_text


def test_removing_the_phone_removes_consent(db, now):
    user = make_user(phone="+12025550143", consent_at=now)
    services.update_profile(user, profile_of(user, phone="", sms_consent=False), now=now)
    assert user.phone is None and user.sms_consent_at is None


def test_the_same_number_keeps_a_stop(db, now):
    stopped_at = now - dt.timedelta(days=1)
    user = make_user(phone="+12025550143", consent_at=now - dt.timedelta(days=30))
    user.sms_opted_out_at = stopped_at
    services.update_profile(user, profile_of(user, phone="(202) 555-0143"), now=now)
    assert user.sms_opted_out_at == stopped_at
    assert services.sms_status(user) == "opted_out"


def test_another_accounts_phone_is_refused(db, now):
    make_user(phone="+12025550199")
    user = make_user(phone="+12025550143")
    with pytest.raises(services.PhoneTaken):
        services.update_profile(user, profile_of(user, phone="2025550199"), now=now)
    assert user.phone == "+12025550143"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_date": dt.date(2026, 6, 2)}, "birth_date"),
        ({"birth_date": dt.date(1906, 5, 31)}, "birth_date"),
        ({"zip_code": "2000"}, "zip_code"),
        ({"zip_code": "20001-1234"}, "zip_code"),
        ({"travel_miles": -1}, "travel_miles"),
        ({"travel_miles": 501}, "travel_miles"),
        ({"effort_preference": "extreme"}, "effort_preference"),
        ({"preferred_language": "xx"}, "preferred_language"),
        ({"neighborhood_id": 999_999}, "neighborhood_id"),
        ({"cause_ids": [999_999]}, None),
        ({"language_codes": ["zz"]}, None),
        ({"availability": {(7, 0)}}, "availability"),
        ({"availability": {(0, 3)}}, "availability"),
        ({"phone": "555"}, "phone"),
        ({"sms_consent": True, "phone": None}, "phone"),
        ({"name": "x" * 10_000}, "name"),
    ],
)
def test_update_profile_refuses_bad_input_and_changes_nothing(db, now, changes, field):
    user = make_user(name="Ana", zip_code="20001")
    with pytest.raises(services.FieldError) as refused:
        services.update_profile(user, profile_of(user, **changes), now=now)
    assert refused.value.field == field
    assert user.name == "Ana" and user.zip_code == "20001"


def test_birth_dates_at_the_edges_are_accepted(db, now):
    user = make_user()
    for born in (now.date(), dt.date(1906, 6, 1)):
        services.update_profile(user, profile_of(user, birth_date=born), now=now)
        assert user.birth_date == born


def test_a_birth_date_is_judged_by_the_program_zones_today(db):
    # 22:00 on 1 June in New York is 2 June in UTC: 2 June is still tomorrow there.
    evening = dt.datetime(2026, 6, 2, 2, 0, tzinfo=dt.UTC)
    user = make_user()
    with pytest.raises(services.FieldError) as refused:
        services.update_profile(user, profile_of(user, birth_date=dt.date(2026, 6, 2)), now=evening)
    assert refused.value.field == "birth_date"
    services.update_profile(user, profile_of(user, birth_date=dt.date(2026, 6, 1)), now=evening)
    assert user.birth_date == dt.date(2026, 6, 1)


def test_the_120_year_limit_survives_29_february(db):
    # 1900 was no leap year, so 120 years before 29 February 2020 is taken as 28 February.
    services.check_birth_date(dt.date(1900, 2, 28), today=dt.date(2020, 2, 29))
    with pytest.raises(services.FieldError):
        services.check_birth_date(dt.date(1900, 2, 27), today=dt.date(2020, 2, 29))


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        ({}, "no_phone"),
        ({"phone": "+12025550143"}, "off"),
        ({"phone": "+12025550143", "consent": True}, "on"),
        ({"phone": "+12025550143", "consent": True, "stopped": True}, "opted_out"),
        ({"phone": "+12025550143", "consent": True, "invalid": True}, "undeliverable"),
    ],
)
def test_sms_status(db, now, setup, status):
    user = make_user(phone=setup.get("phone"), consent_at=now if setup.get("consent") else None)
    if setup.get("stopped"):
        user.sms_opted_out_at = now
    if setup.get("invalid"):
        user.phone_status = PhoneStatus.NOT_SMS_CAPABLE
    assert services.sms_status(user) == status


def test_the_consent_text_names_the_program_and_how_to_stop(app):
    text = services.sms_consent_text()
    assert app.config["PROGRAM_NAME"] in text
    assert "STOP" in text and "HELP" in text
    assert services.sms_consent_version() == app.config["SMS_CONSENT_VERSION"]


# --- Admins and coordinators -------------------------------------------------------------


def test_create_admin_makes_a_new_account(db, now):
    user, created = services.create_admin("Boss@City.example", "Boss", "a long password", now=now)
    assert created and user.role == Role.ADMIN and user.email == "boss@city.example"
    assert verify_password(user.password_hash, "a long password")


def test_create_admin_promotes_and_keeps_the_password(db, now):
    existing = make_user("ana@example.org")
    user, created = services.create_admin("ana@example.org", "Ana", "ignored password", now=now)
    assert user is existing and not created and user.role == Role.ADMIN
    assert verify_password(user.password_hash, PASSWORD)


def test_create_coordinator_joins_the_organization_once(db, now):
    org = make_organization()
    user, created = services.create_coordinator(
        "coord@example.org", "Coord", "a long password", org.slug, now=now
    )
    again, created_again = services.create_coordinator(
        "coord@example.org", "Coord", "a long password", org.slug, now=now
    )
    assert created and not created_again and again is user
    assert user.role == Role.COORDINATOR
    assert user.organization_ids == {org.id}


def test_an_admin_made_coordinator_stays_admin(db, now):
    org = make_organization()
    admin = make_user("boss@example.org", role=Role.ADMIN)
    services.create_coordinator("boss@example.org", "Boss", "", org.slug, now=now)
    assert admin.role == Role.ADMIN and admin.is_coordinator


def test_create_coordinator_needs_a_real_organization(db, now):
    with pytest.raises(NotFound):
        services.create_coordinator("c@example.org", "C", "a long password", "nope", now=now)
