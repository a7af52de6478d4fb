"""Account forms: register, log in, forgot and reset password, the volunteer profile.

Forms check the shape of what was typed (required, length, a real date); the rules that
decide (unique email, valid phone, consent, birth-date range) live in services.py, and views
show a refused rule next to its field.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from babel.dates import get_day_names
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import EmailField, IntegerField, TelField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from volunteer_app.accounts import services
from volunteer_app.accounts.models import DAY_PARTS, Effort
from volunteer_app.core.bounds import DateField
from volunteer_app.core.submissions import OneSubmission


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def at_most(count: int):
    """Length check that stops the chain, so a 10,000-character paste gets one message."""

    def check(form, field):
        if field.data and isinstance(field.data, str) and len(field.data) > count:
            raise StopValidation(_("This can be at most %(count)d characters.", count=count))

    return check


def one_line(form, field):
    """Control characters (NUL above all, which PostgreSQL refuses) never reach a service."""
    if isinstance(field.data, str) and any(unicodedata.category(c) == "Cc" for c in field.data):
        raise StopValidation(_("Remove the special characters from this field."))


def phone_for_form(e164: str | None) -> str:
    """A stored number as a person would type it: national for the program's own country,
    international otherwise, so saving the form unchanged parses back to the same number."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = current_app.config.get("SMS_DEFAULT_REGION", "US")
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


def _int_or_none(value):
    if value in (None, ""):
        return None
    return int(value)


NOT_OFFERED = _l("Choose from the options shown.")


class ChoiceField(SelectField):
    """A select that answers a value it did not offer in words people understand."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(NOT_OFFERED)) from None

    def pre_validate(self, form):
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(str(NOT_OFFERED)) from None


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_value_message", NOT_OFFERED)
        kwargs.setdefault("invalid_choice_message", NOT_OFFERED)
        super().__init__(*args, **kwargs)


def _email_field(label):
    return EmailField(
        label,
        validators=[
            DataRequired(_l("Enter your email address.")),
            at_most(services.MAX_EMAIL_LENGTH),
            one_line,
            Email(_l("Enter a valid email address."), check_deliverability=False),
        ],
        filters=[_strip, _lower],
    )


def _new_password_fields():
    password = PasswordField(
        _l("Password"),
        description=_l(
            "At least %(count)d characters. A few words you will remember work well.",
            count=services.MIN_PASSWORD_LENGTH,
        ),
        validators=[
            DataRequired(_l("Choose a password.")),
            at_most(services.MAX_PASSWORD_LENGTH),
            _min_password_length,
        ],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
    )
    return password, confirm


def _min_password_length(form, field):
    if len(field.data or "") < services.MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _("Passwords need at least %(count)d characters.", count=services.MIN_PASSWORD_LENGTH)
        )


def _name_field():
    return StringField(
        _l("Your name"),
        validators=[
            DataRequired(_l("Enter your name.")),
            at_most(services.MAX_NAME_LENGTH),
            one_line,
        ],
        filters=[_strip],
    )


def _valid_phone(form, field):
    # The service checks again; this shows the message together with the other fields'.
    try:
        services.checked_phone(field.data)
    except services.FieldError as error:
        raise ValidationError(error.message) from None


def _phone_field():
    return TelField(
        _l("Mobile phone (optional)"),
        validators=[Optional(), at_most(40), one_line, _valid_phone],
        filters=[_strip],
    )


class RegisterForm(OneSubmission, FlaskForm):
    name = _name_field()
    email = _email_field(_l("Email"))
    password, password_confirm = _new_password_fields()
    phone = _phone_field()
    sms_consent = BooleanField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The exact, versioned consent text, in the visitor's language.
        self.sms_consent.label.text = services.sms_consent_text()


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email address.")), at_most(254), one_line],
        filters=[_strip, _lower],
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), at_most(1024)]
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field(_l("Email"))


class ResetPasswordForm(FlaskForm):
    password, password_confirm = _new_password_fields()


def availability_value(weekday: int, part: int) -> str:
    return f"{weekday}-{part}"


def weekday_names() -> list[tuple[str, str]]:
    """(full, short) weekday names from Monday, in the visitor's language."""
    locale = get_locale()
    wide = get_day_names("wide", locale=locale)
    short = get_day_names("abbreviated", locale=locale)
    return [(wide[day], short[day]) for day in range(services.WEEKDAYS)]


def availability_labels() -> dict[tuple[int, int], str]:
    """'Monday morning' and so on, in the visitor's language, for each cell of the grid."""
    days = [wide for wide, _short in weekday_names()]
    parts = (
        lambda day: _("%(day)s morning", day=day),
        lambda day: _("%(day)s afternoon", day=day),
        lambda day: _("%(day)s evening", day=day),
    )
    return {
        (weekday, part): parts[part](days[weekday])
        for weekday in range(services.WEEKDAYS)
        for part in range(len(DAY_PARTS))
    }


def effort_choices():
    labels = {
        Effort.LIGHT: _("Light: sitting or standing, little lifting"),
        Effort.MODERATE: _("Moderate: walking, some bending and lifting"),
        Effort.HEAVY: _("Heavy: digging, carrying, lifting over 25 lb"),
    }
    return [("", _("No preference"))] + [(effort.value, labels[effort]) for effort in Effort]


class ProfileForm(FlaskForm):
    name = _name_field()
    phone = _phone_field()
    sms_consent = BooleanField()
    preferred_language = ChoiceField(_l("Language for messages"))
    neighborhood_id = ChoiceField(_l("Neighborhood"), coerce=_int_or_none)
    zip_code = StringField(
        _l("ZIP code (optional)"), validators=[Optional(), at_most(10), one_line], filters=[_strip]
    )
    causes = MultiCheckboxField(_l("Causes you care about"), coerce=int)
    skills = MultiCheckboxField(_l("Skills you can offer"), coerce=int)
    languages = MultiCheckboxField(_l("Languages you speak"))
    availability = MultiCheckboxField(_l("When you are usually free"))
    travel_miles = IntegerField(
        _l("How far will you travel? (miles, optional)"),
        validators=[
            Optional(),
            NumberRange(
                0,
                services.MAX_TRAVEL_MILES,
                _l("Enter a distance from 0 to %(max)s miles."),
            ),
        ],
    )
    effort_preference = ChoiceField(_l("Physical effort"))
    birth_date = DateField(_l("Birth date (optional)"), validators=[Optional()])

    def __init__(self, choices: services.ProfileChoices, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sms_consent.label.text = services.sms_consent_text()
        self.preferred_language.choices = list(current_app.config["LANGUAGES"].items())
        self.neighborhood_id.choices = [("", _("Not sure, or prefer not to say"))] + [
            (hood.id, hood.name) for hood in choices.neighborhoods
        ]
        self.causes.choices = [(cause.id, cause.name) for cause in choices.causes]
        self.skills.choices = [(skill.id, skill.name) for skill in choices.skills]
        self.languages.choices = [(lang.code, lang.name) for lang in choices.languages]
        self.weekday_names = weekday_names()
        self.day_part_names = [_("Morning"), _("Afternoon"), _("Evening")]
        self.availability_label_of = availability_labels()
        self.availability.choices = [
            (availability_value(*slot), label) for slot, label in self.availability_label_of.items()
        ]
        self.effort_preference.choices = effort_choices()

    @staticmethod
    def initial_data(profile: services.ProfileData) -> dict:
        """The form's starting values for a saved profile."""
        return {
            "name": profile.name,
            "phone": phone_for_form(profile.phone),
            "sms_consent": profile.sms_consent,
            "preferred_language": profile.preferred_language,
            "neighborhood_id": profile.neighborhood_id,
            "zip_code": profile.zip_code,
            "causes": profile.cause_ids,
            "skills": profile.skill_ids,
            "languages": profile.language_codes,
            "availability": [availability_value(*slot) for slot in profile.availability],
            "travel_miles": profile.travel_miles,
            "effort_preference": profile.effort_preference or "",
            "birth_date": profile.birth_date,
        }

    def profile_data(self) -> services.ProfileData:
        return services.ProfileData(
            name=self.name.data,
            phone=self.phone.data or None,
            sms_consent=self.sms_consent.data,
            preferred_language=self.preferred_language.data,
            neighborhood_id=self.neighborhood_id.data,
            zip_code=self.zip_code.data or None,
            cause_ids=list(self.causes.data or []),
            skill_ids=list(self.skills.data or []),
            language_codes=list(self.languages.data or []),
            availability={
                (int(weekday), int(part))
                for weekday, part in (value.split("-") for value in self.availability.data or [])
            },
            travel_miles=self.travel_miles.data,
            effort_preference=self.effort_preference.data or None,
            birth_date=self.birth_date.data,
        )

    def is_available(self, weekday: int, part: int) -> bool:
        return availability_value(weekday, part) in (self.availability.data or [])
