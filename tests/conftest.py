"""Fixtures shared by the whole suite.

Every test runs once per database backend: SQLite always, PostgreSQL when TEST_DATABASE_URL
is set (REQUIRE_POSTGRES=1 turns "PostgreSQL not reachable" into a failure). Each test session
gets throwaway databases of its own, so two runs on one machine never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import g, has_app_context, request_started
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from config import TestingConfig
from volunteer_app import create_app
from volunteer_app.extensions import db as _db
from volunteer_app.extensions import limiter

BACKENDS = ["sqlite"]
if os.environ.get("TEST_DATABASE_URL"):
    BACKENDS.append("postgresql")


def _postgres_admin_url() -> sa.URL:
    url = make_url(os.environ["TEST_DATABASE_URL"])
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _create_postgres_database() -> tuple[str, callable]:
    admin_url = _postgres_admin_url()
    name = f"vt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")

    def drop() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield f"sqlite:///{path}"
    else:
        url, drop = _create_postgres_database()
        yield url
        drop()


@pytest.fixture(scope="session")
def _app(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.engine.dispose()


class CommittingClient(FlaskClient):
    """What a test wrote before a request is in the database when the request starts, as it
    would be for a real server: a request never sees (or flushes) another's uncommitted rows.
    The test shares the app's session, so without this a GET's end would find the test's
    pending rows (core/transaction.py commits the request's own work)."""

    def open(self, *args, **kwargs):
        if has_app_context():  # a thread of a concurrency test has its own, inside the request
            _db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture
def app(_app):
    """The app with an empty database and no rate-limit counts (the suite logs in far more
    often than the limits allow); every row a test writes is removed after it.

    The test runs inside one app context (so it can use the database), and Flask reuses an
    open app context for the requests a test client makes; every request therefore starts
    with a fresh `g`, as on a real server, or flask-login's cached user, the CSRF token and
    the locale would leak from one request into the next.
    """

    def fresh_g(sender, **extra):
        vars(g).clear()

    request_started.connect(fresh_g, _app)
    _app.test_client_class = CommittingClient
    # Reset only a store of this process: a shared one (redis://) may hold other counts.
    assert _app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    limiter.reset()
    with _app.app_context():
        yield _app
        _db.session.remove()
        _empty_all_tables()
    request_started.disconnect(fresh_g, _app)


def _empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.execute(table.delete())


@contextmanager
def separate_app(config, database_url: str, **overrides):
    """A second app on the suite's database, for settings the suite's own app cannot have
    (a Redis limit store, production). Flask-Limiter keeps its storage on the one `limiter`
    object, not per app: the second app takes it over, so the suite's is put back after."""
    saved = {**vars(limiter), "_storage_options": dict(limiter._storage_options)}
    other = create_app(config, SQLALCHEMY_DATABASE_URI=database_url, **overrides)
    try:
        yield other
    finally:
        with other.app_context():
            _db.engine.dispose()
        vars(limiter).clear()
        vars(limiter).update(saved)


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def backend(app) -> str:
    return _db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now() -> dt.datetime:
    """A fixed 'now' for services; tests pass it explicitly instead of patching clocks."""
    return dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)


# What a confirm page's button posts (core/confirm.py), besides the CSRF token.
CONFIRMED = {"confirmed": "yes"}

CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(client, url: str = "/") -> str:
    """Read a real CSRF token from a page, the way a browser would."""
    return _csrf_in(client.get(url).get_data(as_text=True), url)


SUBMISSION_RE = re.compile(r'name="((?:[\w]+-)?submission_token)" type="hidden" value="([^"]+)"')


def form_fields(client, url: str) -> dict[str, str]:
    """The hidden fields a browser sends with a form on `url`: its CSRF token and, for the
    forms that create rows, their one-time submission tokens (core/submissions.py)."""
    page = client.get(url).get_data(as_text=True)
    fields = {"csrf_token": _csrf_in(page, url)}
    # Each form on the page has its own (a prefixed form's name has the prefix).
    fields.update(SUBMISSION_RE.findall(page))
    return fields


def _csrf_in(page: str, url: str) -> str:
    match = CSRF_RE.search(page) or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = "correct horse battery"):
        token = csrf_token(self._client, "/login")
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        token = csrf_token(self._client, "/")
        return self._client.post("/logout", data={"csrf_token": token})

    def post(self, url: str, data: dict | None = None, page: str | None = None, **kwargs):
        """POST a form with the hidden tokens read from `page` (default: the same URL), as a
        browser showing that page would."""
        fields = form_fields(self._client, page or url)
        return self._client.post(url, data={**fields, **(data or {})}, **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def outbox(app):
    """The "memory" mail backend's outbox, empty at the start of the test."""
    from volunteer_app.core import mail

    assert app.config["MAIL_BACKEND"] == "memory"
    mail.outbox.clear()
    yield mail.outbox
    mail.outbox.clear()


@pytest.fixture
def count_queries(app):
    """Count SQL statements run inside the `with` block: `with count_queries() as q: ...`."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements: list[str] = []

        def before(conn, cursor, statement, *args):
            if (
                not statement.lstrip()
                .upper()
                .startswith(("BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK"))
            ):
                statements.append(statement)

        sa.event.listen(_db.engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa.event.remove(_db.engine, "before_cursor_execute", before)

    return counting
