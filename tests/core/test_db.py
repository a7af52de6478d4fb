"""What every connection is set up with, on each database."""

from __future__ import annotations

import sqlalchemy as sa


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
