"""Date arithmetic that reads the same in SQLite and PostgreSQL.

SQLite keeps dates as ISO text and PostgreSQL as dates, so counting days between two dates,
adding days to one or taking its year or month needs a different spelling on each; these
constructs compile to the right one, so queries and migrations stay portable.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class day_number(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """A date as a whole number of days, so two dates subtract to the days between them:
    julianday() on SQLite, date arithmetic on PostgreSQL."""

    type = sa.Integer()
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(day_number)
def _day_number_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '2000-01-01')"


class plus_days(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """A date column `days` days later, as a date the column's index can compare with:
    date(x, '+N days') on SQLite, date plus integer on PostgreSQL."""

    type = sa.Date()
    inherit_cache = True

    def __init__(self, column, days: int):
        self.days = int(days)
        super().__init__(column)

    # The day count is part of the SQL text, so it belongs in the statement cache key.
    _traverse_internals = FunctionElement._traverse_internals + [
        ("days", InternalTraversal.dp_plain_obj)
    ]


@compiles(plus_days, "sqlite")
def _plus_days_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, '{element.days:+d} days')"


@compiles(plus_days)
def _plus_days_default(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} + {element.days:d})"


class month_key(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """A date's calendar month as text, "2026-03": the first seven characters of SQLite's
    ISO date text (no date parsing per row), to_char on PostgreSQL. Sorts like the dates."""

    type = sa.String()
    inherit_cache = True


@compiles(month_key, "sqlite")
def _month_key_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(month_key)
def _month_key_default(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


def year_of(column) -> sa.ColumnElement[int]:
    """The calendar year of a date column (strftime on SQLite, EXTRACT on PostgreSQL)."""
    return sa.cast(sa.extract("year", column), sa.Integer)
