"""Forms for coordinators and admins: organizations and invitations, initiatives and goals,
shifts and series, exports. Each form turns what was typed into the details its service takes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from volunteer_app.accounts.organizations import OrganizationDetails
from volunteer_app.core.bounds import DateField
from volunteer_app.core.submissions import OneSubmission
from volunteer_app.core.time import is_valid_timezone
from volunteer_app.initiatives.manage import (
    InitiativeDetails,
    MetricDetails,
    format_reminder_offsets,
    parse_reminder_offsets,
)
from volunteer_app.initiatives.models import MetricKind
from volunteer_app.shifts.scheduling import (
    MAX_CAPACITY,
    THIS_AND_FOLLOWING,
    THIS_SHIFT,
    ShiftDetails,
)

COMMON_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "America/Toronto",
    "America/Vancouver",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Kolkata",
    "Asia/Manila",
    "Asia/Tokyo",
    "Australia/Sydney",
)
OTHER_TIMEZONE = "other"
MAX_AMOUNT = decimal.Decimal("999999999999")
WEEKDAYS = (
    SelectChoice(0, _l("Monday")),
    SelectChoice(1, _l("Tuesday")),
    SelectChoice(2, _l("Wednesday")),
    SelectChoice(3, _l("Thursday")),
    SelectChoice(4, _l("Friday")),
    SelectChoice(5, _l("Saturday")),
    SelectChoice(6, _l("Sunday")),
)
EFFORT_CHOICES = [
    SelectChoice("", _l("Not stated")),
    SelectChoice("light", _l("Light")),
    SelectChoice("moderate", _l("Moderate")),
    SelectChoice("heavy", _l("Heavy")),
]


_T = TypeVar("_T")


def _given(value: _T | None) -> _T:
    """The value of a field with InputRequired, once the form has validated (the stubs type
    every field's data as possibly None)."""
    if value is None:
        raise ValueError("a required field was read before the form validated")
    return value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    return int(value)


def _finite(form, field):
    """NaN and infinity parse as numbers but compare as nothing; refuse them first."""
    value = field.data
    if value is None:
        return
    finite = value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)
    if not finite:
        raise StopValidation(_l("Please give a number."))


def _too_long(limit: int):
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# ---------------------------------------------------------------------------------------------
# Organizations and invitations


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), filters=[_strip], validators=[InputRequired(), _too_long(120)])
    slug = StringField(
        _l("Short name for addresses"),
        filters=[_strip],
        validators=[
            Optional(),
            _too_long(60),
            Regexp(
                r"^[a-z0-9]+(-[a-z0-9]+)*$",
                message=_l("Use lowercase letters, digits and hyphens."),
            ),
        ],
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("department", _l("City department")),
            SelectChoice("nonprofit", _l("Nonprofit partner")),
        ],
    )
    website = URLField(
        _l("Website"),
        filters=[_strip],
        validators=[
            Optional(),
            _too_long(200),
            Regexp(r"^https?://\S+\.\S+$", message=_l("Give an address starting with https://.")),
        ],
    )

    def details(self) -> OrganizationDetails:
        return OrganizationDetails(
            name=_given(self.name.data),
            slug=self.slug.data or "",
            kind=self.kind.data,
            website=self.website.data or "",
        )


class NewOrganizationForm(OneSubmission, OrganizationForm):
    """A new organization: saved once, however often the form is sent."""


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email address of the new coordinator"),
        filters=[_strip],
        validators=[
            InputRequired(),
            _too_long(254),
            Email(message=_l("Please give a valid email address.")),
        ],
    )

    def address(self) -> str:
        return _given(self.email.data)


# ---------------------------------------------------------------------------------------------
# Goals


class _MetricFields:
    name = StringField(_l("Goal"), filters=[_strip], validators=[InputRequired(), _too_long(120)])
    unit = StringField(
        _l("Unit"),
        filters=[_strip],
        validators=[InputRequired(), _too_long(40)],
        description=_l('What is counted, for example "trees" or "pounds".'),
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice(MetricKind.OUTPUT.value, _l("Output: what volunteers do")),
            SelectChoice(MetricKind.OUTCOME.value, _l("Outcome: what changes")),
        ],
    )
    target = DecimalField(
        _l("Target"),
        places=None,
        validators=[
            InputRequired(message=_l("Please give a target.")),
            _finite,
            NumberRange(
                min=decimal.Decimal("0.01"),
                max=MAX_AMOUNT,
                message=_l("The target must be more than zero."),
            ),
        ],
    )
    baseline = DecimalField(
        _l("Baseline (optional)"),
        places=None,
        validators=[
            Optional(),
            _finite,
            NumberRange(min=0, max=MAX_AMOUNT, message=_l("Give zero or a positive number.")),
        ],
    )
    deadline_on = DateField(_l("Deadline (optional)"), validators=[Optional()])
    sms_keyword = StringField(
        _l("Text keyword (optional)"),
        filters=[_strip],
        validators=[
            Optional(),
            _too_long(20),
            Regexp(r"^[A-Za-z]+$", message=_l("Use letters only, for example TREES.")),
        ],
    )

    def metric_details(self) -> MetricDetails:
        return MetricDetails(
            name=_given(self.name.data),
            unit=_given(self.unit.data),
            kind=MetricKind(self.kind.data),
            target=_given(self.target.data),
            baseline=self.baseline.data,
            deadline_on=self.deadline_on.data,
            sms_keyword=self.sms_keyword.data or None,
        )

    def fill(self, details: MetricDetails) -> None:
        self.name.data = details.name
        self.unit.data = details.unit
        self.kind.data = details.kind.value
        self.target.data = details.target
        self.baseline.data = details.baseline
        self.deadline_on.data = details.deadline_on
        self.sms_keyword.data = details.sms_keyword or ""


class MetricForm(FlaskForm, _MetricFields):
    pass


class NewMetricForm(OneSubmission, MetricForm):
    """A new goal: saved once, however often the form is sent."""


class BlueprintMetricForm(Form, _MetricFields):
    """One suggested goal inside the new-initiative form; unticked goals are left out."""

    include = BooleanField(_l("Include this goal"), default=True)

    def validate(self, extra_validators=None):
        if not self.include.data:
            return True
        return super().validate(extra_validators)


# ---------------------------------------------------------------------------------------------
# Initiatives


class InitiativeForm(FlaskForm):
    organization = SelectField(_l("Organization"), coerce=_optional_int)
    cause = SelectField(_l("Cause"), coerce=_optional_int)
    title = StringField(_l("Title"), filters=[_strip], validators=[InputRequired(), _too_long(140)])
    summary = TextAreaField(
        _l("Summary"),
        filters=[_strip],
        validators=[InputRequired(), _too_long(300)],
        description=_l("One or two sentences for lists and search results."),
    )
    story = TextAreaField(
        _l("The story"),
        filters=[_strip],
        validators=[Optional(), _too_long(5000)],
        description=_l("The need, what volunteers do, and what will change."),
    )
    timezone = SelectField(_l("Time zone"))
    timezone_other = StringField(
        _l("Other time zone"),
        filters=[_strip],
        validators=[Optional(), _too_long(64)],
        description=_l('An IANA name such as "America/Detroit".'),
    )
    minimum_age = IntegerField(
        _l("Minimum age"),
        default=0,
        validators=[
            InputRequired(message=_l("Please give an age (0 for any age).")),
            NumberRange(min=0, max=120, message=_l("Give an age between 0 and 120.")),
        ],
    )
    neighborhoods = MultiCheckboxField(_l("Neighborhoods served"), coerce=int)
    skills = MultiCheckboxField(_l("Skills that help"), coerce=int)
    languages = MultiCheckboxField(_l("Languages spoken"))
    reminders = StringField(
        _l("Text reminders before each shift"),
        filters=[_strip],
        default="24h, 2h",
        validators=[Optional(), _too_long(100)],
        description=_l('For example "24h, 2h". Leave empty for no reminders.'),
    )
    blueprint = HiddenField()
    metrics = FieldList(FormField(BlueprintMetricForm), min_entries=0, max_entries=12)

    def set_choices(self, organizations, causes, neighborhoods, skills, languages) -> None:
        self.organization.choices = [SelectChoice(o.id, o.name) for o in organizations]
        self.cause.choices = [SelectChoice(c.id, c.name) for c in causes]
        self.neighborhoods.choices = [SelectChoice(n.id, n.name) for n in neighborhoods]
        self.skills.choices = [SelectChoice(s.id, s.name) for s in skills]
        self.languages.choices = [SelectChoice(lang.code, lang.name) for lang in languages]
        self.timezone.choices = [
            SelectChoice(tz, tz.replace("_", " ")) for tz in COMMON_TIMEZONES
        ] + [SelectChoice(OTHER_TIMEZONE, _l("Other (type it below)"))]

    def set_timezone(self, tz: str) -> None:
        if tz in COMMON_TIMEZONES:
            self.timezone.data = tz
        else:
            self.timezone.data = OTHER_TIMEZONE
            self.timezone_other.data = tz

    @property
    def chosen_timezone(self) -> str:
        if self.timezone.data == OTHER_TIMEZONE:
            return self.timezone_other.data or ""
        return self.timezone.data

    def validate_timezone_other(self, field):
        if self.timezone.data == OTHER_TIMEZONE:
            if not field.data:
                raise ValidationError(_l("Type the time zone, or choose one from the list."))
            if field.errors:
                return
            # Only names of sane length reach the zone database (files: a huge name is an
            # OS error there).
            if not is_valid_timezone(field.data):
                raise ValidationError(
                    _l('That is not a time zone we know. Use a name like "America/Detroit".')
                )

    def validate_reminders(self, field):
        from volunteer_app.core.errors import DomainError

        try:
            self.reminder_minutes = parse_reminder_offsets(field.data or "")
        except DomainError as error:
            raise ValidationError(error.message) from error

    def validate_metrics(self, field):
        names = [
            entry.form.name.data.casefold()
            for entry in field
            if entry.form.include.data and entry.form.name.data
        ]
        if len(names) != len(set(names)):
            raise ValidationError(_l("Two goals have the same name; give each its own."))

    def details(self) -> InitiativeDetails:
        return InitiativeDetails(
            organization_id=self.organization.data,
            cause_id=self.cause.data,
            title=_given(self.title.data),
            summary=self.summary.data or "",
            story=self.story.data or "",
            timezone=self.chosen_timezone,
            minimum_age=_given(self.minimum_age.data),
            neighborhood_ids=self.neighborhoods.data or [],
            skill_ids=self.skills.data or [],
            language_codes=self.languages.data or [],
            reminder_minutes=getattr(self, "reminder_minutes", []),
            blueprint=self.blueprint.data or None,
            metrics=[
                entry.form.metric_details() for entry in self.metrics if entry.form.include.data
            ],
        )

    def fill(self, initiative) -> None:
        self.organization.data = initiative.organization_id
        self.cause.data = initiative.cause_id
        self.title.data = initiative.title
        self.summary.data = initiative.summary
        self.story.data = initiative.story
        self.set_timezone(initiative.timezone)
        self.minimum_age.data = initiative.minimum_age
        self.neighborhoods.data = [n.id for n in initiative.neighborhoods]
        self.skills.data = [s.id for s in initiative.skills]
        self.languages.data = [lang.code for lang in initiative.languages]
        self.reminders.data = format_reminder_offsets(initiative.reminder_minutes or [])


# ---------------------------------------------------------------------------------------------
# Shifts


class NewInitiativeForm(OneSubmission, InitiativeForm):
    """A new initiative: saved once, however often the form is sent."""


class ShiftForm(FlaskForm):
    starts_on = DateField(_l("Date"), validators=[InputRequired(message=_l("Please give a date."))])
    start_time = TimeField(
        _l("Starts at"), validators=[InputRequired(message=_l("Please give a start time."))]
    )
    end_time = TimeField(
        _l("Ends at"), validators=[InputRequired(message=_l("Please give an end time."))]
    )
    capacity = IntegerField(
        _l("Volunteers needed"),
        validators=[
            InputRequired(message=_l("Please say how many volunteers are needed.")),
            NumberRange(
                min=0,
                max=MAX_CAPACITY,
                message=_l("Give a number between %(min)s and %(max)s."),
            ),
        ],
    )
    location_name = StringField(
        _l("Place"), filters=[_strip], validators=[Optional(), _too_long(140)]
    )
    address = StringField(_l("Address"), filters=[_strip], validators=[Optional(), _too_long(200)])
    latitude = FloatField(
        _l("Latitude (optional)"),
        validators=[
            Optional(),
            _finite,
            NumberRange(min=-90, max=90, message=_l("Between -90 and 90.")),
        ],
    )
    longitude = FloatField(
        _l("Longitude (optional)"),
        validators=[
            Optional(),
            _finite,
            NumberRange(min=-180, max=180, message=_l("Between -180 and 180.")),
        ],
    )
    neighborhood = SelectField(_l("Neighborhood"), coerce=_optional_int)
    role = StringField(
        _l("Role (optional)"),
        filters=[_strip],
        validators=[Optional(), _too_long(60)],
        description=_l('For example "Team lead" or "Tutor".'),
    )
    description = TextAreaField(
        _l("What volunteers will do"),
        filters=[_strip],
        validators=[Optional(), _too_long(2000)],
    )
    effort = SelectField(_l("Physical effort"), choices=EFFORT_CHOICES)
    team_lead = SelectField(_l("Team lead (optional)"), coerce=_optional_int)

    def set_choices(self, neighborhoods, team_leads) -> None:
        self.neighborhood.choices = [SelectChoice("", _l("Not stated"))] + [
            SelectChoice(n.id, n.name) for n in neighborhoods
        ]
        self.team_lead.choices = [SelectChoice("", _l("Nobody yet"))] + [
            SelectChoice(u.id, u.display_name) for u in team_leads
        ]

    def validate_end_time(self, field):
        if field.data and self.start_time.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The shift must end after it starts."))

    def validate_longitude(self, field):
        if (field.data is None) != (self.latitude.data is None):
            raise ValidationError(_l("Give both latitude and longitude, or neither."))

    def details(self) -> ShiftDetails:
        return ShiftDetails(
            starts_on=_given(self.starts_on.data),
            start_time=_given(self.start_time.data),
            end_time=_given(self.end_time.data),
            capacity=_given(self.capacity.data),
            location_name=self.location_name.data or "",
            address=self.address.data or "",
            latitude=self.latitude.data,
            longitude=self.longitude.data,
            neighborhood_id=self.neighborhood.data,
            role=self.role.data or None,
            description=self.description.data or "",
            effort=self.effort.data or None,
            team_lead_id=self.team_lead.data,
        )

    def fill(self, details: ShiftDetails) -> None:
        self.starts_on.data = details.starts_on
        self.start_time.data = details.start_time
        self.end_time.data = details.end_time
        self.capacity.data = details.capacity
        self.location_name.data = details.location_name
        self.address.data = details.address
        self.latitude.data = details.latitude
        self.longitude.data = details.longitude
        self.neighborhood.data = details.neighborhood_id
        self.role.data = details.role or ""
        self.description.data = details.description
        self.effort.data = details.effort or ""
        self.team_lead.data = details.team_lead_id


class NewShiftForm(OneSubmission, ShiftForm):
    repeat_weekdays = MultiCheckboxField(_l("Repeat every week on"), coerce=int, choices=WEEKDAYS)
    repeat_until = DateField(_l("Repeat until"), validators=[Optional()])

    def validate_repeat_weekdays(self, field):
        # Here rather than on repeat_until: Optional() stops that field's checks when empty.
        if field.data and not self.repeat_until.data and not self.repeat_until.errors:
            raise ValidationError(_l("Give the last date of the series."))

    def validate_repeat_until(self, field):
        if field.data and not self.repeat_weekdays.data:
            raise ValidationError(_l("Choose the days of the week the series repeats on."))
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The series must end on or after its first date."))

    @property
    def is_series(self) -> bool:
        return bool(self.repeat_weekdays.data)

    def series(self) -> tuple[list[int], dt.date]:
        """The weekdays and last date of a series (validation asks for the date with the days)."""
        return _given(self.repeat_weekdays.data), _given(self.repeat_until.data)


class EditShiftForm(ShiftForm):
    scope = RadioField(
        _l("Apply the changes to"),
        choices=[
            SelectChoice(THIS_SHIFT, _l("This shift only")),
            SelectChoice(THIS_AND_FOLLOWING, _l("This and the following shifts of the series")),
        ],
        default=THIS_SHIFT,
    )


class DuplicateShiftForm(OneSubmission, FlaskForm):
    on_date = DateField(
        _l("New date"), validators=[InputRequired(message=_l("Please give a date."))]
    )

    def new_date(self) -> dt.date:
        return _given(self.on_date.data)


# ---------------------------------------------------------------------------------------------
# Exports


class ExportRangeForm(FlaskForm):
    """A GET form: no CSRF token."""

    class Meta:
        csrf = False

    from_on = DateField(_l("From"), name="from", validators=[Optional()])
    to_on = DateField(_l("To"), name="to", validators=[Optional()])

    def validate_to_on(self, field):
        if field.data and self.from_on.data and field.data < self.from_on.data:
            raise ValidationError(_l("The end date is before the start date."))
