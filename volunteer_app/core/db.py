"""The declarative base, the UTC-aware column type and database-specific connection set-up.

Every constraint gets a stable name from the naming convention, so migrations can drop and
alter them by name on SQLite (batch mode) and PostgreSQL alike.

On SQLite, which has one writer at a time, a transaction's write intent is declared at the
edge: a GET or HEAD request only reads, and its transaction begins deferred, so under WAL page
views never wait for the write lock; every other transaction (a form post, a webhook, the SMS
worker, the CLI) may write and begins IMMEDIATE, so it holds the lock from its first read and
can never be refused it halfway (a deferred transaction that read and then writes gets
SQLITE_BUSY when another writer committed in between). So a write inside a read-only request
is a bug, caught before it fails now and then under load: it raises WriteInReadOnlyTransaction
under TESTING (or the debugger) and is logged as an error otherwise. A GET that must write says
so with `writing()`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry, scoped_session

logger = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Requests with these methods only read: their transactions begin deferred on SQLite.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
_writing: ContextVar[bool] = ContextVar("writing", default=False)


class WriteInReadOnlyTransaction(RuntimeError):
    """A GET or HEAD request tried to write: move the write to a POST (or the worker)."""


def reads_only() -> bool:
    """Whether a transaction begun here may only read: in a GET or HEAD request, outside
    `writing()`."""
    return has_request_context() and request.method in READ_ONLY_METHODS and not _writing.get()


@contextmanager
def writing(session: sa.orm.Session | scoped_session) -> Iterator[None]:
    """Lets a GET request write: the read it was in ends (a deferred transaction cannot be
    made immediate), the block's transaction begins IMMEDIATE and is committed when the block
    ends. Anywhere else (a POST, the CLI) the block is part of the transaction it is in, which
    commits as it always does (a request at its end, see core/transaction.py)."""
    if not reads_only():
        yield
        return
    session.commit()  # nothing to write: the guard below saw to that
    token = _writing.set(True)
    try:
        yield
        session.commit()
    finally:
        _writing.reset(token)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores instants in UTC and always returns timezone-aware datetimes.

    A naive datetime is refused rather than guessed at: it is always a bug upstream.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(f"naive datetime {value!r} given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        # SQLite has no time zones: store naive UTC text that still sorts correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class StrEnumType(sa.types.TypeDecorator):
    """A Python StrEnum kept as plain text (with a CHECK added by the model), so adding a
    value later needs no ALTER TYPE dance on PostgreSQL."""

    impl = sa.String(20)
    cache_ok = True

    def __init__(self, enum_class: type[enum.StrEnum], length: int = 20):
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_class(value)


def enum_check(column: str, enum_class: type[enum.StrEnum]) -> sa.CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum_class)
    return sa.CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        # Every model is mapped to a table (none to a join or a select), so its __table__ has
        # columns to insert into and update, which DeclarativeBase's FromClause has not.
        __table__: ClassVar[sa.Table]

    # Every `Mapped[datetime]` column is a UTCDateTime.
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime},
    )


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers and one writer work at once (WAL), and wait
    for the write lock instead of failing. Transactions begin as `_sqlite_begin` says."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "connect")
def _postgresql_connect(dbapi_connection, connection_record):
    """PostgreSQL: no JIT compilation. Its planner switches JIT on by estimated cost, and for
    this application's queries (tens of milliseconds at city scale) compiling costs far more
    than it saves: the dashboard's goals query took 25 ms to run and 275 ms to compile."""
    module = type(dbapi_connection).__module__
    if not module.startswith("psycopg"):
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # a SET outside any transaction, kept for the session
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    dbapi_connection.autocommit = autocommit


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: deferred for a read-only request, IMMEDIATE (take the write lock now) for
    everything else; see the module docstring."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if reads_only() else "BEGIN IMMEDIATE")


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_refuse_writes_in_reads(conn, cursor, statement, parameters, context, executemany):  # noqa: PLR0917 -- the signature SQLAlchemy's before_cursor_execute event calls
    """The suite (and the debugger) raise at once; a production server logs the bug as an
    error and lets SQLite try, which works unless another writer got in first."""
    if conn.dialect.name == "sqlite" and _WRITE.match(statement) and reads_only():
        problem = (
            f"{request.method} {request.path} wrote to the database in a read-only "
            f"transaction: {' '.join(statement.split(maxsplit=3)[:3])}; requests that write "
            "are POSTs, or wrap the write in core.db.writing()"
        )
        if current_app.testing or current_app.debug:
            raise WriteInReadOnlyTransaction(problem)
        logger.error(problem)
