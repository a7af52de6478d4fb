"""Accounts: registering, logging in, the volunteer profile, SMS consent given on the web,
and making admins and coordinators from the command line (password-reset links are in
accounts/password_reset.py).

The SMS consent text lives here, next to the version it is recorded under: whoever changes
`sms_consent_text` bumps `SMS_CONSENT_VERSION` in config.py in the same commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _

from volunteer_app.accounts.models import (
    DAY_PARTS,
    Effort,
    Membership,
    Organization,
    PhoneStatus,
    Role,
    User,
    availability_bit,
)
from volunteer_app.accounts.passwords import hash_password, needs_rehash, verify_password
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 120
MAX_EMAIL_LENGTH = 254
MAX_TRAVEL_MILES = 500
MAX_AGE_YEARS = 120
WEEKDAYS = 7
CONSENT_SOURCE_WEB = "web"
ZIP_CODE_RE = re.compile(r"[0-9]{5}")


class FieldError(DomainError):
    """A rule refused one input; views show `message` next to the form field named `field`
    (or above the form when `field` is None)."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


class EmailTaken(FieldError):
    status_code = 409


class PhoneTaken(FieldError):
    status_code = 409


class AccountInactive(DomainError):
    status_code = 403


# --- SMS consent -------------------------------------------------------------------------


def sms_consent_text() -> str:
    """The exact words a person agrees to when they tick the SMS box.

    Changing them means bumping SMS_CONSENT_VERSION, which is recorded with every consent.
    """
    return _(
        "Yes, %(program)s may text me at this number about the shifts I sign up for: "
        "confirmations, reminders and changes. Message frequency varies. Message and data "
        "rates may apply. Reply STOP to stop at any time, HELP for help. Texts are never "
        "required to volunteer.",
        program=current_app.config["PROGRAM_NAME"],
    )


def sms_consent_version() -> str:
    return current_app.config["SMS_CONSENT_VERSION"]


def _record_consent(user: User, *, consent: bool, phone_changed: bool, now: dt.datetime) -> None:
    """Consent belongs to one number and one text: a new number or a new text needs it again,
    unticking the box withdraws it."""
    if user.phone is None or not consent:
        user.sms_consent_at = None
        user.sms_consent_version = None
        user.sms_consent_source = None
        return
    version = sms_consent_version()
    if phone_changed or user.sms_consent_at is None or user.sms_consent_version != version:
        user.sms_consent_at = now
        user.sms_consent_version = version
        user.sms_consent_source = CONSENT_SOURCE_WEB


def sms_status(user: User) -> str:
    """What the profile says about texts: "no_phone", "opted_out" (replied STOP),
    "undeliverable" (the carrier refused the number), "on" or "off" (no consent)."""
    if user.phone is None:
        return "no_phone"
    if user.sms_opted_out_at is not None:
        return "opted_out"
    if user.phone_status != PhoneStatus.OK:
        return "undeliverable"
    return "on" if user.sms_consent_at is not None else "off"


# --- Checking what people type -----------------------------------------------------------


def normalise_email(raw: str) -> str:
    return (raw or "").strip().lower()


def checked_email(raw: str) -> str:
    """A well-formed email address, lowercased, or FieldError."""
    email = normalise_email(raw)
    if len(email) > MAX_EMAIL_LENGTH:
        raise FieldError("email", _("That email address is too long."))
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise FieldError("email", _("Enter a valid email address.")) from None
    return email


def checked_phone(raw: str | None) -> str | None:
    """A mobile number in E.164, None when left empty, or FieldError."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return to_e164(raw)
    except InvalidPhone:
        raise FieldError(
            "phone", _("Enter a valid mobile number, for example 202-555-0143.")
        ) from None


def checked_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise FieldError("name", _("Enter your name."))
    if len(name) > MAX_NAME_LENGTH:
        raise FieldError(
            "name", _("Names can be at most %(count)d characters.", count=MAX_NAME_LENGTH)
        )
    return name


def check_password_rules(password: str, field_name: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise FieldError(
            field_name,
            _("Passwords need at least %(count)d characters.", count=MIN_PASSWORD_LENGTH),
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise FieldError(
            field_name,
            _("Passwords can be at most %(count)d characters.", count=MAX_PASSWORD_LENGTH),
        )


def check_birth_date(born_on: dt.date | None, *, today: dt.date) -> None:
    if born_on is None:
        return
    if born_on > today:
        raise FieldError("birth_date", _("A birth date cannot be in the future."))
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if born_on < oldest:
        raise FieldError("birth_date", _("Please check the year of your birth date."))


def _check_unique(
    email: str | None, phone: str | None, *, exclude_user_id: int | None = None
) -> None:
    def taken(column, value) -> bool:
        query = sa.select(User.id).where(column == value)
        if exclude_user_id is not None:
            query = query.where(User.id != exclude_user_id)
        return db.session.scalar(query.limit(1)) is not None

    if email is not None and taken(User.email, email):
        raise EmailTaken(
            "email",
            _(
                "An account with this email address already exists. Log in, or reset your "
                "password if you forgot it."
            ),
        )
    if phone is not None and taken(User.phone, phone):
        raise PhoneTaken(
            "phone",
            _(
                "This mobile number already belongs to another account. Leave it empty for "
                "now, or contact %(contact)s to link it to this account.",
                contact=current_app.config["PROGRAM_CONTACT"],
            ),
        )


def explain_conflict(
    email: str | None, phone: str | None, *, exclude_user_id: int | None = None
) -> FieldError:
    """After a unique constraint refused a write (another request took the email or phone
    between our check and our insert), say which one; call it after rolling back."""
    try:
        _check_unique(
            normalise_email(email) if email else None,
            _phone_or_none(phone),
            exclude_user_id=exclude_user_id,
        )
    except FieldError as exc:
        return exc
    return FieldError(None, _("That could not be saved. Please try again."))


def _phone_or_none(raw: str | None) -> str | None:
    try:
        return checked_phone(raw)
    except FieldError:
        return None


def language_or_default(code: str | None) -> str:
    languages: dict[str, str] = current_app.config["LANGUAGES"]
    return code if code in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def public_url(endpoint: str, **values) -> str:
    """An absolute link on PUBLIC_BASE_URL, for mails; works outside a request too."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


# --- Registering and logging in ----------------------------------------------------------


def register_user(
    *,
    name: str,
    email: str,
    password: str,
    phone: str | None,
    sms_consent: bool,
    preferred_language: str | None,
    now: dt.datetime,
) -> User:
    """Create a volunteer account (who is logged in straight away, hence `last_login_at`).

    A phone number is optional and may be given without consent to be texted; consent is
    recorded only with a number, together with the version of the text that was shown.
    """
    name = checked_name(name)
    email = checked_email(email)
    check_password_rules(password)
    phone = checked_phone(phone)
    if sms_consent and phone is None:
        raise FieldError("phone", _("Enter your mobile number to get texts, or untick the box."))
    _check_unique(email, phone)
    user = User(
        name=name,
        email=email,
        password_hash=hash_password(password),
        role=Role.VOLUNTEER,
        phone=phone,
        preferred_language=language_or_default(preferred_language),
        created_at=now,
        last_login_at=now,
    )
    _record_consent(user, consent=sms_consent, phone_changed=True, now=now)
    db.session.add(user)
    db.session.flush()
    return user


@functools.cache
def _dummy_hash() -> str:
    return hash_password("no account has this password")


def authenticate(email: str, password: str, *, now: dt.datetime) -> User | None:
    """The account with this email and password, or None (the caller says nothing more, so
    nobody learns which emails have accounts). Raises AccountInactive when the password is
    right but the account is switched off. Upgrades old password hashes."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None or not user.password_hash:
        # Spend the same time as a real check, so timing does not reveal the account exists.
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if not user.active:
        raise AccountInactive(
            _(
                "This account is switched off. Contact %(contact)s if you think that is a mistake.",
                contact=current_app.config["PROGRAM_CONTACT"],
            )
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    db.session.flush()
    return user


# --- The volunteer profile ---------------------------------------------------------------


@dataclass
class ProfileData:
    """Everything the profile page edits, already parsed into Python types."""

    name: str
    phone: str | None = None
    sms_consent: bool = False
    preferred_language: str = "en"
    neighborhood_id: int | None = None
    zip_code: str | None = None
    cause_ids: list[int] = field(default_factory=list)
    skill_ids: list[int] = field(default_factory=list)
    language_codes: list[str] = field(default_factory=list)
    # (weekday, part of day): Monday = 0, parts index DAY_PARTS (morning, afternoon, evening).
    availability: set[tuple[int, int]] = field(default_factory=set)
    travel_miles: int | float | None = None
    effort_preference: str | None = None
    birth_date: dt.date | None = None


@dataclass
class ProfileChoices:
    neighborhoods: list[Neighborhood]
    causes: list[Cause]
    skills: list[Skill]
    languages: list[Language]


def profile_choices() -> ProfileChoices:
    """The reference lists the profile form offers, each in one query."""
    return ProfileChoices(
        neighborhoods=list(db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name))),
        causes=list(db.session.scalars(sa.select(Cause).order_by(Cause.name))),
        skills=list(db.session.scalars(sa.select(Skill).order_by(Skill.name))),
        languages=list(db.session.scalars(sa.select(Language).order_by(Language.name))),
    )


def availability_slots(mask: int) -> set[tuple[int, int]]:
    return {
        (weekday, part)
        for weekday in range(WEEKDAYS)
        for part in range(len(DAY_PARTS))
        if mask & availability_bit(weekday, part)
    }


def availability_mask(slots: set[tuple[int, int]]) -> int:
    mask = 0
    for weekday, part in slots:
        if not (0 <= weekday < WEEKDAYS and 0 <= part < len(DAY_PARTS)):
            raise FieldError("availability", _("Choose times from the weekly grid."))
        mask |= availability_bit(weekday, part)
    return mask


def profile_data_of(user: User) -> ProfileData:
    """The profile as the form shows it before any change."""
    return ProfileData(
        name=user.name,
        phone=user.phone,
        sms_consent=user.sms_consent_at is not None,
        preferred_language=user.preferred_language,
        neighborhood_id=user.neighborhood_id,
        zip_code=user.zip_code,
        cause_ids=[cause.id for cause in user.causes],
        skill_ids=[skill.id for skill in user.skills],
        language_codes=[language.code for language in user.languages],
        availability=availability_slots(user.availability_mask),
        travel_miles=int(user.travel_miles) if user.travel_miles is not None else None,
        effort_preference=user.effort_preference,
        birth_date=user.birth_date,
    )


def _rows_by_key(model, key_column, keys: list) -> list:
    """The reference rows with these keys, or FieldError when one of them does not exist."""
    wanted = set(keys)
    if not wanted:
        return []
    rows = list(db.session.scalars(sa.select(model).where(key_column.in_(wanted))))
    if len(rows) != len(wanted):
        raise FieldError(None, _("One of the choices is no longer available. Please retry."))
    return rows


def update_profile(user: User, data: ProfileData, *, now: dt.datetime) -> User:
    """Save the volunteer profile of `user`.

    Changing the phone number needs consent again for the new number (and forgets a STOP
    or delivery failure, which belonged to the old one); unticking the SMS box withdraws
    consent.
    """
    name = checked_name(data.name)
    phone = checked_phone(data.phone)
    if data.sms_consent and phone is None:
        raise FieldError("phone", _("Enter your mobile number to get texts, or untick the box."))
    if data.preferred_language not in current_app.config["LANGUAGES"]:
        raise FieldError("preferred_language", _("Choose one of the languages offered."))
    neighborhood = None
    if data.neighborhood_id is not None:
        neighborhood = db.session.get(Neighborhood, data.neighborhood_id)
        if neighborhood is None:
            raise FieldError("neighborhood_id", _("Choose a neighborhood from the list."))
    zip_code = (data.zip_code or "").strip() or None
    if zip_code is not None and not ZIP_CODE_RE.fullmatch(zip_code):
        raise FieldError("zip_code", _("Enter a 5-digit ZIP code."))
    mask = availability_mask(data.availability)
    if data.travel_miles is not None and not 0 <= data.travel_miles <= MAX_TRAVEL_MILES:
        raise FieldError(
            "travel_miles",
            _("Enter a distance from 0 to %(count)d miles.", count=MAX_TRAVEL_MILES),
        )
    effort = data.effort_preference or None
    if effort is not None and effort not in {e.value for e in Effort}:
        raise FieldError("effort_preference", _("Choose light, moderate or heavy."))
    # A person's today is the program's: a New York evening is already tomorrow in UTC.
    check_birth_date(
        data.birth_date, today=local(now, current_app.config["PROGRAM_TIMEZONE"]).date()
    )
    causes = _rows_by_key(Cause, Cause.id, data.cause_ids)
    skills = _rows_by_key(Skill, Skill.id, data.skill_ids)
    languages = _rows_by_key(Language, Language.code, data.language_codes)

    phone_changed = phone != user.phone
    if phone_changed and phone is not None:
        _check_unique(None, phone, exclude_user_id=user.id)
        user.sms_opted_out_at = None
        user.phone_status = PhoneStatus.OK
    user.name = name
    user.phone = phone
    _record_consent(user, consent=data.sms_consent, phone_changed=phone_changed, now=now)
    user.preferred_language = data.preferred_language
    user.neighborhood = neighborhood
    user.zip_code = zip_code
    user.availability_mask = mask
    user.travel_miles = float(data.travel_miles) if data.travel_miles is not None else None
    user.effort_preference = effort
    user.birth_date = data.birth_date
    user.causes = causes
    user.skills = skills
    user.languages = languages
    db.session.flush()
    return user


# --- Admins and coordinators (the CLI) ---------------------------------------------------


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _new_account(email: str, name: str, password: str, role: Role, now: dt.datetime) -> User:
    check_password_rules(password)
    user = User(
        email=email,
        name=checked_name(name),
        password_hash=hash_password(password),
        role=role,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_admin(email: str, name: str, password: str, *, now: dt.datetime) -> tuple[User, bool]:
    """Make an admin: a new account, or promote the existing account with this email (whose
    password then stays as it was). Returns the user and whether it was created."""
    email = checked_email(email)
    user = _user_by_email(email)
    if user is not None:
        user.role = Role.ADMIN
        db.session.flush()
        return user, False
    return _new_account(email, name, password, Role.ADMIN, now), True


def create_coordinator(
    email: str, name: str, password: str, organization_slug: str, *, now: dt.datetime
) -> tuple[User, bool]:
    """Make someone a coordinator of an organization: a new account, or an existing one
    (an admin stays an admin and keeps their password). Returns the user and whether it
    was created."""
    email = checked_email(email)
    organization = db.session.scalar(
        sa.select(Organization).where(Organization.slug == organization_slug)
    )
    if organization is None:
        raise NotFound(_("There is no organization %(slug)s.", slug=organization_slug))
    user = _user_by_email(email)
    created = user is None
    if user is None:
        user = _new_account(email, name, password, Role.COORDINATOR, now)
    elif user.role == Role.VOLUNTEER:
        user.role = Role.COORDINATOR
    if organization.id not in user.organization_ids:
        user.memberships.append(Membership(organization=organization))
    db.session.flush()
    return user, created
