"""The bounds every input stays within, whatever a browser, a script or a fuzzer sends.

- Ids: a number in a URL or a form names a row only if it fits the id columns, INTEGER:
  32 bits on PostgreSQL (64 on SQLite). A larger one is "no such thing" (404 in a URL, a
  field error in a form), never an overflow in the driver or the database.
- Dates: forms, query-string filters and the API take dates in one window, from 1 January
  1900 (the oldest birth date a person could give) to 31 December ten years after this one
  (further than any shift, goal or report plans). Outside it a date is a typing slip, and
  the arithmetic on it (time zones, the day after) could leave the calendar.
- Text: no control characters (NUL and its kin) anywhere in a request, except tab and line
  breaks in form text. No person types one, and PostgreSQL refuses NUL in text.
"""

from __future__ import annotations

import datetime as dt
import re

import wtforms
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from volunteer_app.core.db import utcnow

MAX_ID = 2**31 - 1
EARLIEST_DAY = dt.date(1900, 1, 1)
YEARS_AHEAD = 10

# Unicode's control characters (category Cc): C0, DEL and C1.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an unsigned id that fits an id column."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int = MAX_ID):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def id_value(raw) -> int:
    """A form's or query's id as an int; ValueError if it could name no row."""
    value = int(raw)
    if not 0 < value <= MAX_ID:
        raise ValueError(f"{value} is not an id")
    return value


def date_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day any input may name, seen from `today`."""
    return EARLIEST_DAY, dt.date(today.year + YEARS_AHEAD, 12, 31)


def clamp_to_window(day: dt.date, today: dt.date) -> dt.date:
    """`day`, or the window's edge it lies beyond: nothing is stored outside the window, so a
    filter from 0001-01-01 finds what one from 1900-01-01 does."""
    earliest, latest = date_window(today)
    return min(max(day, earliest), latest)


def in_date_window(form, field) -> None:
    """The check of the fields below: the field's date (or datetime's date) is in the window.
    It runs before the field's own validators, so Optional() cannot skip it."""
    if field.data is None:
        return
    day = field.data.date() if isinstance(field.data, dt.datetime) else field.data
    earliest, latest = date_window(utcnow().date())
    if not earliest <= day <= latest:
        raise wtforms.ValidationError(
            _(
                "Please give a date from %(first)d to %(last)d.",
                first=earliest.year,
                last=latest.year,
            )
        )


class DateField(wtforms.DateField):
    """A date in the window. Every form's dates are one of these (tests/test_input_bounds.py
    fails on a form that uses wtforms' own)."""

    def pre_validate(self, form):
        in_date_window(form, self)


class DateTimeLocalField(wtforms.DateTimeLocalField):
    """A local date and time whose date is in the window."""

    def pre_validate(self, form):
        in_date_window(form, self)


def has_control_characters(text: str, *, line_breaks_allowed: bool = False) -> bool:
    pattern = _CONTROL_BUT_LINE_BREAKS if line_breaks_allowed else _CONTROL
    return pattern.search(text) is not None


def without_control_characters(text: str) -> str:
    """`text` with control characters other than tab and line breaks dropped (for texts,
    which arrive signed by Twilio and must be read whatever they hold)."""
    return _CONTROL_BUT_LINE_BREAKS.sub("", text)


class ControlCharacters(BadRequest):
    """A request's address, query string or form held a control character."""


def control_characters_in(request) -> bool:
    """Whether the path, a query parameter's name or value, or a form field's name or value
    holds a control character (form values may hold tabs and line breaks)."""
    query = [part for pair in request.args.items(multi=True) for part in pair]
    return any(has_control_characters(text) for text in (request.path, *query)) or any(
        has_control_characters(name) or has_control_characters(value, line_breaks_allowed=True)
        for name, value in request.form.items(multi=True)
    )


def reads_raw_text(view):
    """Mark a view that takes whatever text it is sent and cleans it itself: Twilio's webhooks,
    whose signature covers the text as sent and which must answer every text."""
    view.reads_raw_text = True
    return view
