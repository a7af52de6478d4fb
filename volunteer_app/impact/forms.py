"""Forms of the impact pages: the dashboard filters (a GET form, no CSRF token) and the value
of a volunteer hour (admins)."""

from __future__ import annotations

from typing import TypedDict, TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectField, StringField

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from volunteer_app.core.bounds import DateField
from volunteer_app.core.submissions import OneSubmission
from volunteer_app.impact.rates import REGIONS, dollars_to_cents


def _id_or_none(value):
    """A select's value as an id; anything that is not a positive number means "any"."""
    if value in (None, "") or not str(value).isdigit():
        return None
    return int(value)


_T = TypeVar("_T")


def _given(value: _T | None) -> _T:
    """The value of a field with DataRequired, once the form has validated (the stubs type
    every field's data as possibly None)."""
    if value is None:
        raise ValueError("a required field was read before the form validated")
    return value


def _strip_upper(value):
    return value.strip().upper() if isinstance(value, str) else value


class PeriodFilterForm(FlaskForm):
    """Which period a report shows. An invalid field is reported and left out, never a 500."""

    class Meta:
        csrf = False

    # "from" is a Python keyword, so the attribute and the URL parameter differ.
    from_on = DateField(_l("From"), name="from", validators=[Optional()])
    to_on = DateField(_l("To"), name="to", validators=[Optional()])

    def validate_to_on(self, field):
        if field.data and self.from_on.data and field.data < self.from_on.data:
            raise ValidationError(_l("The end date is before the start date."))

    def valid(self, name: str):
        """A field's value, or None when it is missing, invalid or not on this form."""
        field = getattr(self, name, None)
        if field is None or field.errors:
            return None
        return field.data


class PublicFilterForm(PeriodFilterForm):
    """The public initiative page filters only by dates."""


class ReportFilterForm(PeriodFilterForm):
    """Which period and which part of the program a dashboard shows. An invalid field is
    reported and left out, never a 500."""

    organization = SelectField(_l("Organization"), coerce=_id_or_none, validators=[Optional()])
    initiative = SelectField(_l("Initiative"), coerce=_id_or_none, validators=[Optional()])
    cause = SelectField(_l("Cause"), coerce=_id_or_none, validators=[Optional()])
    region = SelectField(_l("Value of an hour"), validators=[Optional()])

    def set_choices(self, *, organizations=None, initiatives=(), causes=(), regions=()) -> None:
        if organizations is None:
            del self.organization
        else:
            self.organization.choices = [SelectChoice("", _l("All organizations"))] + [
                SelectChoice(str(o.id), o.name) for o in organizations
            ]
        self.initiative.choices = [SelectChoice("", _l("All initiatives"))] + [
            SelectChoice(str(i.id), i.title) for i in initiatives
        ]
        self.cause.choices = [SelectChoice("", _l("All causes"))] + [
            SelectChoice(str(c.id), c.name) for c in causes
        ]
        self.region.choices = [
            SelectChoice(r, _l("National (US)") if r == "US" else r) for r in regions
        ]


class RateValues(TypedDict):
    """What add_rate and update_rate take from the rate form."""

    year: int
    region: str
    cents: int
    source: str


class RateForm(FlaskForm):
    year = IntegerField(
        _l("Year of service"),
        validators=[
            DataRequired(message=_l("Please give a year.")),
            NumberRange(min=1990, max=2100, message=_l("Please give a year such as 2025.")),
        ],
    )
    region = StringField(
        _l("Region"),
        default="US",
        filters=[_strip_upper],
        validators=[DataRequired(message=_l('Please give "US" or a state code.'))],
    )
    dollars = DecimalField(
        _l("Value of one hour, in dollars"),
        places=2,
        validators=[
            DataRequired(message=_l("Please give the value of an hour, e.g. 34.79.")),
            NumberRange(
                min=0.01, max=1000, message=_l("Please give an amount between $0.01 and $1,000.")
            ),
        ],
    )
    source = StringField(
        _l("Source"), default="Independent Sector", validators=[Optional(), Length(max=200)]
    )

    def values(self) -> RateValues:
        return RateValues(
            year=_given(self.year.data),
            region=_given(self.region.data),
            cents=dollars_to_cents(_given(self.dollars.data)),
            source=self.source.data or "",
        )

    def validate_region(self, field):
        if field.data not in REGIONS:
            raise ValidationError(_l('Use "US" or a two-letter state code such as "CA".'))


class NewRateForm(OneSubmission, RateForm):
    """A new rate: saved once, however often the form is sent."""
