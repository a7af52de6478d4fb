"""The migrations build the schema the models describe, and undo it, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest
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


def test_days_to_next_service_is_filled_in_for_existing_hours(database_url, tmp_path):
    """The migration that adds the column fills it by the same rule the application keeps."""
    from tests.factories import make_hours_entry, make_initiative, make_user
    from volunteer_app.hours.models import HoursEntry, HoursStatus

    url, drop = _empty_database(database_url, tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    try:
        with app.app_context():
            upgrade()
            initiative = make_initiative()
            for person, days, statuses in [
                (make_user(), (0, 3, 3, 40, 200), "aaaaa"),
                (make_user(), (5, 1, 9), "apa"),
                (make_user(), (2,), "a"),
            ]:
                for day, status in zip(days, statuses, strict=True):
                    make_hours_entry(
                        person,
                        initiative,
                        served_on=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                        status=HoursStatus.APPROVED if status == "a" else HoursStatus.PENDING,
                    )
            db.session.commit()
            query = sa.select(HoursEntry.id, HoursEntry.days_to_next_service).order_by(
                HoursEntry.id
            )
            kept = db.session.execute(query).all()
            db.session.remove()
            assert [gap for _id, gap in kept] == [3, 37, 37, 160, None, 4, 4, None, None]

            downgrade(revision="a76a6cac21b8")  # the column goes, the hours stay
            upgrade()  # and is filled in again from the hours
            assert db.session.execute(query).all() == kept
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()


def test_the_message_statuses_of_the_worker_are_allowed_and_undone(database_url, tmp_path):
    """`claimed` and `unconfirmed` pass the CHECK after the migration; a made-up status still
    does not; the downgrade turns them back into what the old worker knew."""
    url, drop = _empty_database(database_url, tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    insert = sa.text(
        "INSERT INTO messages (direction, status, to_phone, from_phone, body, kind, segments,"
        " send_after, attempts, status_history, created_at, updated_at) VALUES ('outbound',"
        " :status, '+12025550100', '', 'Hi', 'reminder', 1, :at, 0, '[]', :at, :at)"
    )
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    try:
        with app.app_context():
            upgrade()
            with db.engine.begin() as conn:
                for status in ("claimed", "unconfirmed"):
                    conn.execute(insert, {"status": status, "at": at})
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(insert, {"status": "lost", "at": at})

            downgrade(revision="040797be55fa")
            with db.engine.connect() as conn:
                kept = conn.execute(sa.text("SELECT status FROM messages ORDER BY id")).scalars()
                assert list(kept) == ["queued", "review"]
            with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
                conn.execute(insert, {"status": "unconfirmed", "at": at})
            db.engine.dispose()
    finally:
        drop()


def test_broadcasts_about_a_shift_get_its_organization(database_url, tmp_path):
    from tests.factories import make_initiative, make_organization, make_shift

    url, drop = _empty_database(database_url, tmp_path)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    insert = sa.text(
        "INSERT INTO messages (direction, status, to_phone, from_phone, body, kind, segments,"
        " shift_id, send_after, attempts, status_history, created_at, updated_at) VALUES"
        " ('outbound', 'sent', '+12025550100', '', 'Hi', :kind, 1, :shift, :at, 0, '[]',"
        " :at, :at)"
    )
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    try:
        with app.app_context():
            upgrade(revision="6ec92dee2778")
            parks = make_organization("Parks")
            shift = make_shift(make_initiative(parks), starts_at=at)
            shift_id, parks_id = shift.id, parks.id
            db.session.commit()
            db.session.remove()
            with db.engine.begin() as conn:
                for kind, shift in (
                    ("broadcast", shift_id),
                    ("broadcast", None),
                    ("reminder", shift_id),
                ):
                    conn.execute(insert, {"kind": kind, "shift": shift, "at": at})

            upgrade()
            with db.engine.connect() as conn:
                rows = conn.execute(sa.text("SELECT organization_id FROM messages ORDER BY id"))
                assert list(rows.scalars()) == [parks_id, None, None]
            downgrade(revision="6ec92dee2778")
            db.engine.dispose()
    finally:
        drop()
