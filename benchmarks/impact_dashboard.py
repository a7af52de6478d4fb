"""How fast are the impact pages on a city-scale data set?

Builds a throwaway database (a temporary SQLite file by default, or a fresh PostgreSQL database
created next to the one `--database-url` names and dropped afterwards) holding 50,000
volunteers, 200,000 signups, 150,000 hours entries and 20,000 outcome records, written with
Core executemany, then maintained as a deployment would be (ANALYZE; VACUUM ANALYZE on
PostgreSQL, as autovacuum does); then renders the program dashboard and its page of every goal
(as an admin) and the public page of the busiest initiative through the test client: one
warm-up, then the median of several runs, with the number of SQL statements each page runs
(and, with --statements, each statement's median time in the order the page runs them).

    .venv/bin/python benchmarks/impact_dashboard.py
    .venv/bin/python benchmarks/impact_dashboard.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Target: at most 300 ms a page, with a constant number of queries (tests check the constancy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

from config import TestingConfig  # noqa: E402
from volunteer_app import create_app  # noqa: E402
from volunteer_app.accounts.models import User  # noqa: E402
from volunteer_app.accounts.sessions import start_login_session  # noqa: E402
from volunteer_app.core.time import utcnow  # noqa: E402
from volunteer_app.extensions import db  # noqa: E402

TARGET_MS = 300
TZ = "America/New_York"


# ---------------------------------------------------------------------------------------------
# The city


def build_city(
    *, volunteers: int, signups: int, hours_entries: int, outcomes: int, seed: int = 2026
):
    """Write the data set with Core executemany; returns the busiest public initiative's slug."""
    from volunteer_app.accounts.models import Organization, Role, User
    from volunteer_app.hours.models import HoursEntry, refresh_service_gaps
    from volunteer_app.impact.models import OutcomeRecord
    from volunteer_app.impact.rates import load_default_rates
    from volunteer_app.initiatives.models import Initiative, OutcomeMetric
    from volunteer_app.reference.models import Cause, Neighborhood
    from volunteer_app.shifts.models import Shift, Signup

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    zone = ZoneInfo(TZ)

    def insert(model, rows, chunk=20_000):
        table = model.__table__
        with db.engine.begin() as conn:
            for start in range(0, len(rows), chunk):
                conn.execute(table.insert(), rows[start : start + chunk])

    insert(Cause, [{"id": i, "slug": f"cause-{i}", "name": f"Cause {i}"} for i in range(1, 9)])
    insert(
        Neighborhood,
        [
            {
                "id": i,
                "slug": f"hood-{i}",
                "name": f"Neighborhood {i:02d}",
                "zip_codes": f"{20000 + i}",
                "is_priority": i % 4 == 0,
            }
            for i in range(1, 41)
        ],
    )
    insert(
        Organization,
        [{"id": i, "slug": f"org-{i}", "name": f"Organization {i:02d}"} for i in range(1, 21)],
    )
    initiative_count = 200
    statuses = ["published"] * 8 + ["closed", "draft"]
    insert(
        Initiative,
        [
            {
                "id": i,
                "organization_id": 1 + i % 20,
                "cause_id": 1 + i % 8,
                "slug": f"initiative-{i}",
                "title": f"Initiative {i:03d}",
                "timezone": TZ,
                "status": "published" if i == 1 else statuses[i % len(statuses)],
            }
            for i in range(1, initiative_count + 1)
        ],
    )
    metric_rows = []
    for i in range(1, initiative_count + 1):
        for position in range(3):
            metric_rows.append({
                "id": len(metric_rows) + 1,
                "initiative_id": i,
                "name": f"Goal {position + 1}",
                "unit": "things",
                "target": rng.choice((500, 1000, 5000)),
                "deadline_on": (now + dt.timedelta(days=rng.randint(-100, 400))).date(),
                "position": position,
            })
    insert(OutcomeMetric, metric_rows)

    user_rows = [
        {
            "id": 1,
            "email": "admin@bench.example",
            "name": "Admin",
            "role": Role.ADMIN,
            "neighborhood_id": None,
            "zip_code": None,
        }
    ]
    for i in range(2, volunteers + 2):
        roll = rng.random()
        user_rows.append({
            "id": i,
            "email": f"v{i}@bench.example",
            "name": f"Volunteer {i}",
            "role": Role.VOLUNTEER,
            "neighborhood_id": rng.randint(1, 40) if roll < 0.8 else None,
            "zip_code": f"{21000 + rng.randint(0, 50)}" if 0.8 <= roll < 0.9 else None,
        })
    insert(User, user_rows)

    # Shifts over the last 30 months and the next 6; about ten signups each. The busiest
    # initiative (id 1) gets a larger share, like a flagship program.
    shift_count = signups // 10
    start = now - dt.timedelta(days=900)
    shift_rows, spans = [], []
    for i in range(1, shift_count + 1):
        starts_at = start + dt.timedelta(days=rng.randint(0, 1080), hours=rng.randint(0, 10))
        hours = rng.choice((2, 3, 4))
        initiative_id = 1 if rng.random() < 0.05 else rng.randint(1, initiative_count)
        shift_rows.append({
            "id": i,
            "initiative_id": initiative_id,
            "starts_at": starts_at,
            "ends_at": starts_at + dt.timedelta(hours=hours),
            "capacity": rng.randint(10, 20),
            "spots_taken": 0,
            "code": f"{i:07d}",
            "neighborhood_id": rng.randint(1, 40) if rng.random() < 0.9 else None,
            "status": "cancelled" if rng.random() < 0.03 else "scheduled",
        })
        spans.append((starts_at, hours, initiative_id))

    signup_rows, attended = [], []
    taken: set[tuple[int, int]] = set()
    per_shift = [0] * (shift_count + 1)
    while len(signup_rows) < signups:
        shift_id = rng.randint(1, shift_count)
        shift = shift_rows[shift_id - 1]
        user_id = rng.randint(2, volunteers + 1)
        if (shift_id, user_id) in taken or per_shift[shift_id] >= shift["capacity"]:
            continue
        if shift["status"] == "cancelled":
            continue
        taken.add((shift_id, user_id))
        past = shift["ends_at"] <= now
        roll = rng.random()
        if past:
            status = (
                "attended"
                if roll < 0.75
                else "no_show"
                if roll < 0.85
                else "cancelled"
                if roll < 0.95
                else "confirmed"
            )
        else:
            status = "cancelled" if roll < 0.08 else "confirmed"
        if status != "cancelled":
            per_shift[shift_id] += 1
        signup_rows.append({
            "id": len(signup_rows) + 1,
            "shift_id": shift_id,
            "user_id": user_id,
            "status": status,
            "source": "web",
            "created_at": shift["starts_at"] - dt.timedelta(days=7),
        })
        if status == "attended":
            attended.append(signup_rows[-1])
    for shift in shift_rows:
        shift["spots_taken"] = per_shift[shift["id"]]
    insert(Shift, shift_rows)
    insert(Signup, signup_rows)

    hours_rows = []
    for signup in attended[:hours_entries]:
        starts_at, hours, initiative_id = spans[signup["shift_id"] - 1]
        hours_rows.append({
            "user_id": signup["user_id"],
            "initiative_id": initiative_id,
            "shift_id": signup["shift_id"],
            "signup_id": signup["id"],
            "served_on": starts_at.astimezone(zone).date(),
            "minutes": hours * 60,
            "source": "attendance",
            "status": "approved",
        })
    while len(hours_rows) < hours_entries:
        roll = rng.random()
        hours_rows.append({
            "user_id": rng.randint(2, volunteers + 1),
            "initiative_id": rng.randint(1, initiative_count),
            "shift_id": None,
            "signup_id": None,
            "served_on": (now - dt.timedelta(days=rng.randint(1, 900))).date(),
            "minutes": rng.choice((30, 60, 90, 120)),
            "source": "self_report",
            "status": "approved" if roll < 0.9 else "pending" if roll < 0.95 else "rejected",
        })
    insert(HoursEntry, hours_rows)
    # Written around the session, so the days to each person's next service are filled in
    # here, in one statement, as the migration does for existing data.
    with db.engine.begin() as conn:
        refresh_service_gaps(conn)

    insert(
        OutcomeRecord,
        [
            {
                "metric_id": rng.randint(1, len(metric_rows)),
                "value": rng.randint(1, 50),
                "period_start_on": (now - dt.timedelta(days=rng.randint(1, 900))).date(),
                "source": "web",
                "recorded_at": now,
                "voided_at": now if rng.random() < 0.03 else None,
                "void_reason": None,
            }
            for _ in range(outcomes)
        ],
    )
    load_default_rates()
    db.session.commit()
    return "initiative-1", {
        "volunteers": volunteers,
        "shifts": shift_count,
        "signups": len(signup_rows),
        "hours entries": len(hours_rows),
        "outcome records": outcomes,
        "initiatives": initiative_count,
        "goals": len(metric_rows),
    }


def maintain() -> str:
    """What a real deployment does after a bulk load, so the planner sees the data as it is:
    fresh statistics (ANALYZE), and on PostgreSQL the visibility map that index-only scans
    rely on (VACUUM), as autovacuum would. Both run outside a transaction: an ANALYZE that is
    rolled back leaves no statistics behind, and VACUUM cannot run inside one."""
    command = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(command)
    return command


# ---------------------------------------------------------------------------------------------
# Timing


def time_page(app, client, url: str, runs: int) -> tuple[float, list[float], list[list[float]]]:
    """(median, every run's milliseconds, each SQL statement's milliseconds per run in the
    order the page runs them)."""
    current: list[float] = []
    started_at: list[float] = []

    def before(conn, cursor, statement, *args):
        started_at.append(time.perf_counter())

    def after(conn, cursor, statement, *args):
        began = started_at.pop()
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            current.append((time.perf_counter() - began) * 1000)

    response = client.get(url)  # warm-up: caches, templates, the database's pages
    assert response.status_code == 200, (url, response.status_code)
    timings, statements = [], []
    sa.event.listen(db.engine, "before_cursor_execute", before)
    sa.event.listen(db.engine, "after_cursor_execute", after)
    try:
        for _ in range(runs):
            current.clear()
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
            statements.append(list(current))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
        sa.event.remove(db.engine, "after_cursor_execute", after)
    return statistics.median(timings), timings, statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL server to create a database on")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the full city")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET_MS} ms")
    parser.add_argument(
        "--statements", action="store_true", help="also print each SQL statement's median time"
    )
    args = parser.parse_args(argv)

    with throwaway_database(args.database_url, "impact_bench") as url:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            slug, counts = build_city(
                volunteers=int(50_000 * args.scale),
                signups=int(200_000 * args.scale),
                hours_entries=int(150_000 * args.scale),
                outcomes=int(20_000 * args.scale),
            )
            built = time.perf_counter() - started
            backend = db.engine.dialect.name
            print(
                f"{backend}: built in {built:.1f} s: "
                + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            )
            print(f"  then {maintain()}, as a deployment's maintenance would")
            # As wsgi.py does after start-up: what is built before serving (here the app and
            # what building the city left behind) is kept out of the collector's way.
            gc.collect()
            gc.freeze()
            client = app.test_client()
            admin = db.session.get(User, 1)
            start_login_session(admin, remember=False, user_agent="benchmark", now=utcnow())
            db.session.commit()
            with client.session_transaction() as session:
                # The admin, as Flask-Login keeps them (the token of their login).
                session["_user_id"] = admin.login_token
                session["_fresh"] = True
            pages = {
                "program dashboard": "/impact/program",
                "every goal (program)": "/impact/program/goals",
                "public initiative page": f"/impact/initiatives/{slug}",
            }
            worst = 0.0
            for name, page_url in pages.items():
                db.session.remove()
                median, timings, statements = time_page(app, client, page_url, args.runs)
                worst = max(worst, median)
                runs = ", ".join(f"{t:.0f}" for t in timings)
                queries = len(statements[-1])
                print(f"  {name:24} median {median:6.1f} ms  ({queries} queries; runs: {runs})")
                if args.statements and all(len(run) == queries for run in statements):
                    each = [statistics.median(run[i] for run in statements) for i in range(queries)]
                    print(
                        f"    SQL {sum(each):.0f} ms, by statement: "
                        + ", ".join(f"{ms:.0f}" for ms in each)
                    )
            db.session.remove()
            db.engine.dispose()
    if args.check and worst > TARGET_MS:
        print(f"slower than the {TARGET_MS} ms target")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
