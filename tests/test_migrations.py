"""The migrations build the schema the models describe, and undo it, on every backend."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import check, downgrade, upgrade
from sqlalchemy.engine import make_url

from config import TestingConfig
from tests.conftest import _create_postgres_database
from volunteer_app import create_app
from volunteer_app.extensions import db


def _empty_database(database_url, tmp_path):
    """A new, empty database of the same kind as the suite's."""
    if make_url(database_url).get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}", lambda: None
    return _create_postgres_database()


def test_upgrade_from_empty_matches_the_models_and_downgrades_cleanly(database_url, tmp_path):
    url, drop = _empty_database(database_url, tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            tables = set(sa.inspect(db.engine).get_table_names())
            assert set(db.metadata.tables) <= tables
            check()  # raises if the models and the migrated schema differ

            downgrade(revision="base")
            assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}

            upgrade()  # and the whole way up again
            check()
            db.engine.dispose()
    finally:
        drop()
