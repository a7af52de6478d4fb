"""days_to_next_service stays right whoever writes hours: new entries in any order, approvals,
rejections, people who serve twice a day, two transactions at once, and a bulk refresh."""

from __future__ import annotations

import datetime as dt
import random
import threading

import sqlalchemy as sa

from tests.factories import make_hours_entry, make_initiative, make_user
from volunteer_app.extensions import db as _db
from volunteer_app.hours import services
from volunteer_app.hours.models import HoursEntry, HoursStatus, refresh_service_gaps

APPROVED, PENDING, REJECTED = HoursStatus.APPROVED, HoursStatus.PENDING, HoursStatus.REJECTED
DAY = dt.date(2026, 6, 1)


def expected_gaps(entries) -> dict[int, int | None]:
    """The rule, spelled out in Python: days to the person's next later approved day."""
    gaps = {}
    for entry in entries:
        later = [
            other.served_on
            for other in entries
            if other.user_id == entry.user_id
            and other.status == APPROVED
            and other.served_on > entry.served_on
        ]
        gaps[entry.id] = (min(later) - entry.served_on).days if later else None
    return gaps


def stored_gaps(db) -> dict[int, int | None]:
    rows = db.session.execute(sa.select(HoursEntry.id, HoursEntry.days_to_next_service))
    return {entry_id: gap for entry_id, gap in rows}


def all_entries(db) -> list[HoursEntry]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(HoursEntry)))


def insert_around_the_session(db, person_id: int, initiative_id: int, *, days) -> None:
    """Approved hours written with Core, as a bulk load does: no flush rule runs."""
    with db.engine.begin() as conn:
        conn.execute(
            HoursEntry.__table__.insert(),
            [
                {
                    "user_id": person_id,
                    "initiative_id": initiative_id,
                    "served_on": DAY + dt.timedelta(days=n),
                    "minutes": 60,
                    "source": "coordinator",
                    "status": "approved",
                }
                for n in days
            ],
        )


def test_gaps_follow_new_entries_approvals_and_rejections(db, now):
    person, other = make_user(), make_user()
    initiative = make_initiative()

    def day(n):
        return DAY + dt.timedelta(days=n)

    last = make_hours_entry(person, initiative, served_on=day(9))
    first = make_hours_entry(person, initiative, served_on=day(0))  # added out of order
    same_day = make_hours_entry(person, initiative, served_on=day(0))
    waiting = make_hours_entry(person, initiative, served_on=day(4), status=PENDING)
    elsewhere = make_hours_entry(other, initiative, served_on=day(2))

    # Loaded objects see the value the database computed, not the one read before.
    assert (first.days_to_next_service, same_day.days_to_next_service) == (9, 9)
    assert waiting.days_to_next_service == 5  # pending entries know their next day too
    assert last.days_to_next_service is None
    assert elsewhere.days_to_next_service is None  # another person's days never count

    services.review_hours([waiting], approve=True, by=other, reason="", now=now)
    assert (first.days_to_next_service, waiting.days_to_next_service) == (4, 5)

    services.change_hours(last, by=other, reason="Not served", now=now, status=REJECTED)
    assert waiting.days_to_next_service is None
    assert first.days_to_next_service == 4
    db.session.commit()
    assert stored_gaps(db) == expected_gaps(all_entries(db))


def test_gaps_match_the_rule_after_many_random_writes(db, now):
    rng = random.Random(7)
    people = [make_user() for _ in range(6)]
    initiative = make_initiative()
    entries = []
    for _ in range(80):
        if entries and rng.random() < 0.3:
            entry = rng.choice(entries)
            status = rng.choice([APPROVED, PENDING, REJECTED])
            if status != entry.status:
                services.change_hours(entry, by=people[0], reason="review", now=now, status=status)
        else:
            entries.append(
                make_hours_entry(
                    rng.choice(people),
                    initiative,
                    served_on=DAY + dt.timedelta(days=rng.randint(0, 200)),
                    status=rng.choice([APPROVED, APPROVED, PENDING]),
                )
            )
        if rng.random() < 0.2:
            db.session.commit()
    db.session.commit()
    stored = stored_gaps(db)
    assert stored == expected_gaps(all_entries(db))
    assert sum(1 for gap in stored.values() if gap is not None) > 20  # not all None


def test_bulk_refresh_fills_rows_written_around_the_session(db):
    person_id, initiative_id = make_user().id, make_initiative().id
    db.session.commit()
    insert_around_the_session(db, person_id, initiative_id, days=(0, 3, 10))
    assert set(stored_gaps(db).values()) == {None}
    db.session.rollback()  # on SQLite an open transaction holds the write lock
    with db.engine.begin() as conn:
        refresh_service_gaps(conn)
    assert sorted(stored_gaps(db).values(), key=str) == [3, 7, None]


def test_two_transactions_adding_hours_for_one_person_at_once(app, db):
    """Each transaction recomputes the person's entries; the second must see the first's."""
    person = make_user()
    initiative = make_initiative()
    make_hours_entry(person, initiative, served_on=DAY)
    person_id, initiative_id = person.id, initiative.id
    # Committed, and no transaction left open here: on SQLite it would hold the write lock.
    db.session.commit()

    for round_ in range(5):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def add(offset: int, round_=round_, barrier=barrier, errors=errors) -> None:
            with app.app_context():
                try:
                    barrier.wait()
                    _db.session.add(
                        HoursEntry(
                            user_id=person_id,
                            initiative_id=initiative_id,
                            served_on=DAY + dt.timedelta(days=10 * round_ + offset + 1),
                            minutes=60,
                            source="coordinator",
                            status=APPROVED,
                        )
                    )
                    _db.session.commit()
                except BaseException as exc:  # noqa: BLE001 - asserted below
                    errors.append(exc)
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=add, args=(offset,)) for offset in (2, 5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
    entries = all_entries(db)
    assert len(entries) == 11
    assert stored_gaps(db) == expected_gaps(entries)


def test_cli_recomputes_gaps_after_hours_loaded_by_other_means(app, db, runner):
    person_id, initiative_id = make_user().id, make_initiative().id
    db.session.commit()
    insert_around_the_session(db, person_id, initiative_id, days=(0, 30))
    result = runner.invoke(args=["impact", "refresh-retention"])
    assert result.exit_code == 0, result.output
    assert "2 hours entries" in result.output
    assert sorted(stored_gaps(db).values(), key=str) == [30, None]
