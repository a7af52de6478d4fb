"""Forms for Find your fit, inviting volunteers, answering an invitation, and the equity
setting. They check the shape of the input; the rules live in services.py."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import Optional

from volunteer_app.accounts.forms import (
    ChoiceField,
    MultiCheckboxField,
    at_most,
    availability_labels,
    availability_value,
    one_line,
    weekday_names,
)
from volunteer_app.core.bounds import id_value
from volunteer_app.core.submissions import OneSubmission
from volunteer_app.matching.services import FitAnswers, FitChoices

# How far people say they will go, as choices rather than a number to type.
TRAVEL_CHOICES = (1, 2, 5, 10, 25)


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _int_or_none(value):
    if value in (None, ""):
        return None
    return int(value)


def _float_or_none(value):
    if value in (None, ""):
        return None
    return float(value)


def _travel_label(miles: float) -> str:
    if miles.is_integer():
        return ngettext("Up to %(num)d mile", "Up to %(num)d miles", int(miles))
    return _("Up to %(miles)s miles", miles=f"{miles:g}")


class FitForm(FlaskForm):
    """Three questions: what you care about, when you are free, where you are."""

    causes = MultiCheckboxField(_l("What do you care about?"), coerce=int)
    availability = MultiCheckboxField(_l("When are you usually free?"))
    neighborhood_id = ChoiceField(_l("Your neighborhood"), coerce=_int_or_none)
    zip_code = StringField(
        _l("Or your ZIP code"), validators=[Optional(), at_most(10), one_line], filters=[_strip]
    )
    travel_miles = ChoiceField(_l("How far will you go?"), coerce=_float_or_none)

    def __init__(self, choices: FitChoices, *args, current_travel: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.causes.choices = [(cause.id, cause.name) for cause in choices.causes]
        self.neighborhood_id.choices = [("", _("Not sure, or prefer not to say"))] + [
            (hood.id, hood.name) for hood in choices.neighborhoods
        ]
        # A distance typed on the profile stays on offer, so saving here does not lose it.
        distances = {float(miles) for miles in TRAVEL_CHOICES}
        if current_travel is not None:
            distances.add(float(current_travel))
        self.travel_miles.choices = [("", _("No limit given"))] + [
            (miles, _travel_label(miles)) for miles in sorted(distances)
        ]
        self.weekday_names = weekday_names()
        self.day_part_names = [_("Morning"), _("Afternoon"), _("Evening")]
        self.availability_label_of = availability_labels()
        self.availability.choices = [
            (availability_value(*slot), label) for slot, label in self.availability_label_of.items()
        ]

    @staticmethod
    def initial_data(answers: FitAnswers) -> dict:
        return {
            "causes": answers.cause_ids,
            "availability": [availability_value(*slot) for slot in answers.availability],
            "neighborhood_id": answers.neighborhood_id,
            "zip_code": answers.zip_code,
            "travel_miles": answers.travel_miles,
        }

    def answers(self) -> FitAnswers:
        return FitAnswers(
            cause_ids=list(self.causes.data or []),
            availability={
                (int(weekday), int(part))
                for weekday, part in (value.split("-") for value in self.availability.data or [])
            },
            neighborhood_id=self.neighborhood_id.data,
            zip_code=self.zip_code.data or None,
            travel_miles=self.travel_miles.data,
        )

    def is_available(self, weekday: int, part: int) -> bool:
        return availability_value(weekday, part) in (self.availability.data or [])


class _PeopleField(SelectMultipleField):
    """User ids ticked on the candidates list. Any id is accepted here: the list may have
    changed since the page was drawn, and the service decides who is invited."""

    def pre_validate(self, form):
        pass

    def process_formdata(self, valuelist):
        try:
            self.data = [id_value(value) for value in valuelist]
        except ValueError:
            self.data = []
            raise ValueError(_("Choose people from the list.")) from None


class InviteForm(OneSubmission, FlaskForm):
    people = _PeopleField(_l("People to invite"))


class EquityForm(FlaskForm):
    priority = MultiCheckboxField(_l("Priority neighborhoods"), coerce=int)
    boost = BooleanField(_l("Boost shifts in priority neighborhoods in recommendations"))

    def __init__(self, neighborhoods, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.priority.choices = [(hood.id, hood.name) for hood in neighborhoods]
