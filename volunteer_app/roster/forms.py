"""Forms for the roster, attendance, self check-in, hours and outcome screens.

Numbers people type (hours, outcome values) are read as text and parsed here with Decimal, so
"abc", "NaN", "1e999" or "-3" get a clear message instead of reaching a service or a CHECK.
Forms whose fields depend on the roster (attendance, one value per metric) are built per request.
"""

from __future__ import annotations

import decimal
from typing import TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
    ValidationError,
)

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from volunteer_app.core.bounds import DateField, id_value
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.core.submissions import OneSubmission
from volunteer_app.impact.outcomes import MAX_VALUE

ROUNDING_CHOICES = (1, 5, 6, 10, 15, 30, 60)

_T = TypeVar("_T")


def given(value: _T | None) -> _T:
    """The value of a field its validators require (InputRequired, or a validate_ method that
    refuses a blank), once the form has validated: the stubs type every field's data as
    possibly None."""
    if value is None:
        raise ValueError("a required field was read before the form validated")
    return value


def _when_full_field() -> RadioField:
    return RadioField(
        _l("The shift is full. What should happen?"),
        choices=[
            SelectChoice("raise", _l("Raise the capacity by one for this person")),
            SelectChoice("waitlist", _l("Add them to the end of the waitlist")),
        ],
        validators=[Optional()],
    )


def _valid_phone(form, field) -> None:
    try:
        to_e164(field.data or "")
    except InvalidPhone as exc:
        raise ValidationError(_("Please enter a valid phone number.")) from exc


def parse_decimal(raw: str | None) -> decimal.Decimal | None:
    """A finite number from what someone typed (commas as thousands separators), or None."""
    text = (raw or "").strip().replace(",", "")
    if not text or len(text) > 30:
        return None
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    return value if value.is_finite() else None


def hours_to_minutes(raw: str | None, *, quarter_hours: bool) -> int:
    """Minutes from hours typed as a number; raises ValidationError with a clear message."""
    value = parse_decimal(raw)
    if value is None:
        raise ValidationError(_("Please give the hours as a number, like 2 or 1.5."))
    if value < 0:
        raise ValidationError(_("Hours cannot be negative."))
    if value > 24:
        raise ValidationError(_("Hours must be 24 or fewer for one entry."))
    minutes = value * 60
    if quarter_hours:
        if value < decimal.Decimal("0.25"):
            raise ValidationError(_("Please report at least a quarter of an hour."))
        if minutes % 15:
            raise ValidationError(_("Please use quarter hours: 1, 1.25, 1.5, 1.75..."))
    return int(minutes.to_integral_value(rounding=decimal.ROUND_HALF_UP))


def outcome_value_error(raw: str | None) -> str | None:
    """Why a typed outcome value is not acceptable, or None if it is (blank included)."""
    text = (raw or "").strip()
    if not text:
        return None
    value = parse_decimal(text)
    if value is None:
        return _("Please give a number, like 12 or 3.5.")
    if value < 0:
        return _("The value cannot be negative.")
    if value > MAX_VALUE:
        return _("That number is too large. Please check it.")
    return None


def _outcome_value(form, field) -> None:
    error = outcome_value_error(field.data)
    if error:
        raise ValidationError(error)


class FindWalkInForm(OneSubmission, FlaskForm):
    """A walk-in who already has an account, found by email or phone."""

    lookup = StringField(_l("Email or phone number"), validators=[InputRequired(), Length(max=254)])
    when_full = _when_full_field()
    submit = SubmitField(_l("Add to the roster"))


class NewWalkInForm(OneSubmission, FlaskForm):
    """A walk-in new to the program: a name and a phone are enough (and a birth date when the
    initiative has a minimum age)."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=120)])
    phone = TelField(_l("Phone number"), validators=[InputRequired(), Length(max=40), _valid_phone])
    agreed_to_texts = BooleanField(_l("The volunteer agreed to texts in person"))
    # Asked only when the initiative has a minimum age (the template shows it then): without
    # it such a walk-in is refused, as a volunteer's own signup without one is.
    birth_date = DateField(_l("Birth date (optional)"), validators=[Optional()])
    when_full = _when_full_field()
    submit = SubmitField(_l("Add new volunteer"))


PRESENT, ABSENT = "present", "absent"


class _AttendanceBase(FlaskForm):
    save = SubmitField(_l("Save attendance"))
    all_present = SubmitField(_l("Save, marking everyone else present"))

    def mark_fields(self):
        return [f for f in self if f.short_name.startswith("mark_")]

    def marks(self) -> dict[int, str]:
        """{signup id: 'present' | 'absent'} for everyone marked (or all, with all_present)."""
        marks = {}
        for f in self.mark_fields():
            signup_id = int(f.short_name.removeprefix("mark_"))
            if f.data in (PRESENT, ABSENT):
                marks[signup_id] = f.data
            elif self.all_present.data:
                marks[signup_id] = PRESENT
        return marks


def attendance_form(rows, **kwargs) -> _AttendanceBase:
    """One present/absent toggle per spot holder, pre-set from what is already recorded."""

    class AttendanceForm(_AttendanceBase):
        pass

    for row in rows:
        status = str(row.signup.status)
        current = PRESENT if status == "attended" else ABSENT if status == "no_show" else None
        setattr(
            AttendanceForm,
            f"mark_{row.signup.id}",
            RadioField(
                row.user.display_name,
                choices=[SelectChoice(PRESENT, _l("Present")), SelectChoice(ABSENT, _l("Absent"))],
                default=current,
                validators=[Optional()],
            ),
        )
    return AttendanceForm(**kwargs)


class CheckInForm(FlaskForm):
    phone = TelField(_l("Your phone number"), validators=[Optional(), Length(max=40)])
    sheet = StringField(_l("Code on the sign-in sheet"), validators=[Optional(), Length(max=20)])
    check_in = SubmitField(_l("Check in"))
    check_out = SubmitField(_l("I'm leaving"))


class HoursReportForm(OneSubmission, FlaskForm):
    initiative_id = SelectField(_l("Initiative"), coerce=int, validators=[InputRequired()])
    served_on = DateField(_l("Date served"), validators=[InputRequired()])
    hours = StringField(
        _l("Hours"),
        validators=[InputRequired(), Length(max=10)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    note = TextAreaField(_l("What did you do? (optional)"), validators=[Length(max=500)])
    submit = SubmitField(_l("Send for approval"))

    minutes: int = 0

    def validate_hours(self, field) -> None:
        self.minutes = hours_to_minutes(field.data, quarter_hours=True)


class HoursReviewForm(FlaskForm):
    """Checkboxes over the queue; the choices are the ids on screen, checked in the service."""

    entry_ids = SelectMultipleField(
        _l("Entries"),
        coerce=id_value,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    reason = StringField(_l("Reason (required to reject)"), validators=[Length(max=500)])
    approve = SubmitField(_l("Approve selected"))
    reject = SubmitField(_l("Reject selected"))

    def validate_entry_ids(self, field) -> None:
        if not field.data:
            raise ValidationError(_("Please choose at least one entry."))

    def validate_reason(self, field) -> None:
        if self.reject.data and not (field.data or "").strip():
            raise ValidationError(_("Please say why these hours are rejected."))


class HoursCorrectionForm(FlaskForm):
    hours = StringField(
        _l("Corrected hours"),
        validators=[InputRequired(), Length(max=10)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = StringField(_l("Reason for the correction"), validators=[Length(max=500)])
    submit = SubmitField(_l("Save correction"))

    minutes: int = 0

    def validate_hours(self, field) -> None:
        self.minutes = hours_to_minutes(field.data, quarter_hours=False)

    def validate_reason(self, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Please say why the hours are corrected."))


class _ShiftOutcomesBase(OneSubmission, FlaskForm):
    submit = SubmitField(_l("Record outcomes"))

    def values(self) -> dict[int, str]:
        return {
            int(f.short_name.removeprefix("metric_")): f.data
            for f in self.metric_fields()
            if (f.data or "").strip()
        }

    def metric_fields(self):
        return [f for f in self if f.short_name.startswith("metric_")]


def shift_outcomes_form(metrics, current: dict[int, str] | None = None, **kwargs):
    """One value per metric of the initiative, labelled with its unit."""

    class ShiftOutcomesForm(_ShiftOutcomesBase):
        pass

    current = current or {}
    for metric in metrics:
        setattr(
            ShiftOutcomesForm,
            f"metric_{metric.id}",
            StringField(
                f"{metric.name} ({metric.unit})",
                validators=[Length(max=30), _outcome_value],
                default=current.get(metric.id, ""),
                render_kw={"inputmode": "decimal", "autocomplete": "off"},
            ),
        )
    return ShiftOutcomesForm(**kwargs)


class PartnerReportForm(OneSubmission, FlaskForm):
    metric_id = SelectField(_l("Measure"), coerce=int, validators=[InputRequired()])
    value = StringField(
        _l("Value"),
        validators=[InputRequired(), Length(max=30), _outcome_value],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    period_start_on = DateField(_l("From"), validators=[InputRequired()])
    period_end_on = DateField(_l("To"), validators=[InputRequired()])
    note = TextAreaField(_l("Note (source, method)"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record the report"))

    def validate_period_end_on(self, field) -> None:
        start = self.period_start_on.data
        if start and field.data and field.data < start:
            raise ValidationError(_("The period must end on or after its start."))


class VoidOutcomeForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Length(max=500)])
    submit = SubmitField(_l("Withdraw"))

    def validate_reason(self, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError(_("Please say why this value is withdrawn."))


class ProgramSettingsForm(FlaskForm):
    hours_rounding_minutes = SelectField(
        _l("Round hours from attendance to the nearest"),
        coerce=int,
        choices=[
            SelectChoice(m, lazy_ngettext("%(num)d minute", "%(num)d minutes", m))
            for m in ROUNDING_CHOICES
        ],
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save settings"))
