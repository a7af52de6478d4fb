"""The filter form of the initiatives list: a GET form, so no CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SearchField, SelectField

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import Length, Optional, ValidationError

from volunteer_app.core.bounds import DateField
from volunteer_app.public.services import (
    WEEKDAY,
    WEEKEND,
    FilterChoices,
    InitiativeFilters,
)

MAX_QUERY_LENGTH = 100
BEST_MATCH = "match"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class InitiativeFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField(
        _l("Search"),
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=MAX_QUERY_LENGTH, message=_l("Use at most %(max)d characters.")),
        ],
    )
    cause = SelectField(_l("Cause"), validators=[Optional()])
    neighborhood = SelectField(_l("Neighborhood"), validators=[Optional()])
    # "from" is a Python keyword, so the attribute and the URL parameter differ.
    from_on = DateField(_l("From"), name="from", validators=[Optional()])
    to_on = DateField(_l("To"), name="to", validators=[Optional()])
    when = SelectField(
        _l("Days"),
        choices=[
            SelectChoice("", _l("Any day")),
            SelectChoice(WEEKDAY, _l("Weekdays")),
            SelectChoice(WEEKEND, _l("Weekends")),
        ],
        validators=[Optional()],
    )
    language = SelectField(_l("Language spoken"), validators=[Optional()])
    open = BooleanField(_l("Only shifts with spots left"))
    # Offered to people who are logged in: matching knows what fits them.
    sort = SelectField(
        _l("Order"),
        choices=[
            SelectChoice("", _l("Soonest first")),
            SelectChoice(BEST_MATCH, _l("Best match for you")),
        ],
        validators=[Optional()],
    )

    def set_choices(self, choices: FilterChoices) -> None:
        self.cause.choices = [SelectChoice("", _l("Any cause"))] + [
            SelectChoice(c.slug, c.name) for c in choices.causes
        ]
        self.neighborhood.choices = [SelectChoice("", _l("Anywhere in the city"))] + [
            SelectChoice(n.slug, n.name) for n in choices.neighborhoods
        ]
        self.language.choices = [SelectChoice("", _l("Any language"))] + [
            SelectChoice(lang.code, lang.name) for lang in choices.languages
        ]

    def validate_to_on(self, field):
        if field.data and self.from_on.data and field.data < self.from_on.data:
            raise ValidationError(_l("The end date is before the start date."))

    def filters(self) -> InitiativeFilters:
        """The filters to apply: a field whose value was not valid is left out."""

        def valid(field):
            return None if field.errors else (field.data or None)

        return InitiativeFilters(
            q=valid(self.q) or "",
            cause=valid(self.cause),
            neighborhood=valid(self.neighborhood),
            from_on=valid(self.from_on),
            to_on=valid(self.to_on),
            open_only=bool(valid(self.open)),
            when=valid(self.when),
            language=valid(self.language),
        )
