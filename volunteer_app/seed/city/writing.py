"""Writing the plan: Core bulk inserts in chunks (at the driver: see bulk_insert), then the
shifts' counts from shifts.services, the sequences past the ids given, and the service gaps."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from volunteer_app.accounts.models import User, user_causes, user_languages, user_skills
from volunteer_app.core.db import StrEnumType, UTCDateTime
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursAudit, HoursEntry, refresh_service_gaps
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import Initiative, OutcomeMetric
from volunteer_app.matching.models import Invitation
from volunteer_app.seed.city.plan import CityPlan
from volunteer_app.shifts.models import Shift, Signup
from volunteer_app.shifts.services import recount_spots

CHUNK = 10_000
RECOUNT_CHUNK = 5_000  # shift ids per recount_spots, clear of SQLite's parameter limit


def write(plan: CityPlan) -> None:
    connection = db.session.connection()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A page cache that holds the indexes being filled (256 MB, for this load only).
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
        connection.exec_driver_sql("PRAGMA cache_size=-262144")
    _insert(plan, User.__table__, plan.users, "volunteers")
    _insert(plan, user_causes, plan.user_causes)
    _insert(plan, user_skills, plan.user_skills)
    _insert(plan, user_languages, plan.user_languages)
    _insert(plan, Initiative.__table__, plan.initiative_rows, "initiatives")
    for table, rows in plan.initiative_links.items():
        _insert(plan, table, rows)
    _insert(plan, OutcomeMetric.__table__, plan.metric_rows, "goals")
    _insert(plan, Shift.__table__, [s.row for s in plan.shifts], "shifts")
    plan.added["upcoming shifts"] = sum(s.row["starts_at"] > plan.now for s in plan.shifts)
    _insert(plan, Signup.__table__, plan.signups, "signups")
    # The shifts went in at the column's 0; their counts are the services' to set.
    shift_ids = [s.row["id"] for s in plan.shifts]
    for start in range(0, len(shift_ids), RECOUNT_CHUNK):
        recount_spots(shift_ids[start : start + RECOUNT_CHUNK])
    _insert(plan, HoursEntry.__table__, plan.hours, "hours entries")
    _insert(plan, HoursAudit.__table__, plan.audits)
    _insert(plan, OutcomeRecord.__table__, plan.outcomes, "outcome records")
    _insert(plan, Invitation.__table__, plan.invitations, "invitations")
    if sqlite:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
    else:
        # Ids were given explicitly: move each sequence past them.
        for model in (User, Initiative, OutcomeMetric, Shift, Signup, HoursEntry, HoursAudit):
            _advance_sequence(connection, model.__table__)
        _advance_sequence(connection, OutcomeRecord.__table__)
        _advance_sequence(connection, Invitation.__table__)
    refresh_service_gaps(connection)


def analyze() -> str:
    """Fresh planner statistics after the bulk load, as a deployment's maintenance would give
    (VACUUM ANALYZE on PostgreSQL, also for its index-only scans). Run after the commit: both
    run outside a transaction."""
    command = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(command)
    return command


def _insert(plan: CityPlan, table: sa.Table, rows: list[dict], what: str | None = None) -> None:
    if rows:
        bulk_insert(db.session.connection(), table, rows)
    if what:
        plan.added[what] = len(rows)


def bulk_insert(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert rows (dicts with the same keys) in chunks of executemany, at the driver.

    SQLAlchemy's own executemany converts every value through the column types in Python,
    which at city scale is most of the time spent; the conversions here give the driver the
    same values (checked against SQLAlchemy's on the first row) with a fraction of the calls:
    instants must be aware (a naive one is refused, as UTCDateTime refuses it) and go in as
    UTC; statuses as their plain text; the rest as the column types convert them.
    """
    dialect = connection.dialect
    keys = list(rows[0])
    statement = sa.insert(table).compile(dialect=dialect, column_keys=keys)
    positions = statement.positiontup if statement.positional else None
    order = list(positions) if positions is not None else list(statement.binds)
    # The columns left out take their (constant) defaults; a default computed at insert time
    # (the wall clock, for one) must be given instead.
    defaults = {}
    for key in order:
        if key not in rows[0]:
            default = table.c[key].default
            if not isinstance(default, ScalarElementColumnDefault):
                raise ValueError(f"{table.name}.{key} must be given")
            defaults[key] = default.arg
    if defaults:
        rows = [{**defaults, **row} for row in rows]
    converters = [_converter(table.c[key].type, dialect) for key in order]
    reference = [table.c[key].type._cached_bind_processor(dialect) for key in order]
    first = rows[0]
    for key, convert, check in zip(order, converters, reference, strict=True):
        value = first[key]
        fast = convert(value) if convert else value
        slow = check(value) if check else value
        if fast != slow and repr(fast) != repr(slow):  # (psycopg.Json has no ==)
            raise AssertionError(f"{table.name}.{key}: {fast!r} is not {slow!r}")
    pairs = list(zip(order, converters, strict=True))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if statement.positional:
            params: list = [
                tuple(convert(row[key]) if convert else row[key] for key, convert in pairs)
                for row in chunk
            ]
        else:
            params = [
                {key: convert(row[key]) if convert else row[key] for key, convert in pairs}
                for row in chunk
            ]
        connection.exec_driver_sql(statement.string, params)


def _converter(kind: sa.types.TypeEngine, dialect: sa.Dialect):
    if isinstance(kind, UTCDateTime):
        return _sqlite_instant if dialect.name == "sqlite" else _aware_instant
    if isinstance(kind, StrEnumType):
        return _text
    if isinstance(kind, sa.Date) and dialect.name == "sqlite":
        return _iso_date
    return kind._cached_bind_processor(dialect)


def _aware_instant(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
    return value


def _sqlite_instant(value: dt.datetime | None) -> str | None:
    """As UTCDateTime and SQLite's DATETIME store it: naive UTC text with microseconds."""
    if value is None:
        return None
    if value.tzinfo is not dt.UTC:
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _iso_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _advance_sequence(connection: sa.Connection, table: sa.Table) -> None:
    connection.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}), false)"
        )
    )
