"""What every connection is set up with, on each database, and how SQLite transactions begin."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from tests.factories import make_organization
from volunteer_app.accounts.models import Organization
from volunteer_app.core.db import WriteInReadOnlyTransaction, writing


def test_connections_are_set_up_for_their_database(db, backend):
    if backend == "postgresql":
        # No JIT compilation: it cost the dashboard's goals query 275 ms to save nothing.
        assert db.session.scalar(sa.text("SHOW jit")) == "off"
        db.session.rollback()
        # A connection handed back and taken again keeps it (the SET is outside any
        # transaction, so no rollback undoes it).
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SHOW jit")) == "off"
    else:
        assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1
        assert db.session.scalar(sa.text("PRAGMA journal_mode")) == "wal"
        assert db.session.scalar(sa.text("PRAGMA busy_timeout")) == 30000


@pytest.fixture
def begins(db):
    """The BEGIN statements SQLite transactions start with, in order."""
    seen: list[str] = []

    def before(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    db.session.commit()  # whatever the test set up is done: the next statement begins afresh
    sa.event.listen(db.engine, "before_cursor_execute", before)
    yield seen
    sa.event.remove(db.engine, "before_cursor_execute", before)


def test_only_transactions_that_may_write_take_the_write_lock(app, db, backend, begins):
    with app.test_request_context("/initiatives", method="GET"):
        db.session.scalar(sa.select(Organization.id))
        db.session.rollback()
    for method in ("POST", "DELETE"):
        with app.test_request_context("/login", method=method):
            db.session.scalar(sa.select(Organization.id))
            db.session.rollback()
    db.session.scalar(sa.select(Organization.id))  # the CLI, the worker, a shell
    db.session.rollback()
    if backend == "sqlite":
        assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    else:
        assert begins == []


def test_a_get_request_that_writes_is_refused_unless_it_says_so(app, db, backend, begins):
    with app.test_request_context("/coordinate/shifts/1/roster", method="GET"):
        if backend == "sqlite":
            with pytest.raises(WriteInReadOnlyTransaction, match="GET /coordinate/shifts/1/roster"):
                make_organization("Refused")
            db.session.rollback()
        else:
            make_organization("Unguarded")  # PostgreSQL has no write lock to queue for
        db.session.scalar(sa.select(Organization.id))
        with writing(db.session):
            make_organization("Written")
            db.session.commit()
        db.session.scalar(sa.select(Organization.id))
        db.session.rollback()
    in_request = list(begins)
    names = set(db.session.scalars(sa.select(Organization.name)))
    if backend == "sqlite":
        assert names == {"Written"}
        assert in_request == ["BEGIN", "BEGIN", "BEGIN IMMEDIATE", "BEGIN"]
    else:
        assert names == {"Unguarded", "Written"}


def test_outside_the_suite_a_get_that_writes_is_logged_as_the_bug_it_is(
    app, db, backend, caplog, monkeypatch
):
    monkeypatch.setitem(app.config, "TESTING", False)
    with (
        app.test_request_context("/initiatives", method="GET"),
        caplog.at_level(logging.ERROR, logger="volunteer_app.core.db"),
    ):
        make_organization("Logged")
        db.session.commit()
    assert db.session.scalar(sa.select(Organization.name)) == "Logged"
    if backend == "sqlite":
        assert "GET /initiatives wrote to the database in a read-only transaction" in caplog.text
    else:
        assert caplog.text == ""
