"""How fast are the impact pages on a city-scale data set?

Builds a throwaway database (a temporary SQLite file by default, or a fresh PostgreSQL database
created next to the one `--database-url` names and dropped afterwards) holding the city of `flask
seed city` (volunteer_app/seed/city/: the demo city plus 50,000 volunteers, 200,000 signups,
150,000 hours entries and 20,000 outcome records at scale 1.0), then maintained as a deployment
would be (ANALYZE; VACUUM ANALYZE on PostgreSQL, as autovacuum does); then renders the program
dashboard and its page of every goal (as an admin) and the public page of the busiest initiative
through the test client: one warm-up, then the median of several runs, with the number of SQL
statements each page runs (and, with --statements, each statement's median time in the order the
page runs them).

    .venv/bin/python benchmarks/impact_dashboard.py
    .venv/bin/python benchmarks/impact_dashboard.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Target: at most 300 ms a page, with a constant number of queries (tests check the constancy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

from config import TestingConfig  # noqa: E402
from volunteer_app import create_app  # noqa: E402
from volunteer_app.accounts.models import User  # noqa: E402
from volunteer_app.accounts.sessions import start_login_session  # noqa: E402
from volunteer_app.core.time import utcnow  # noqa: E402
from volunteer_app.extensions import db  # noqa: E402
from volunteer_app.seed import reference as ref  # noqa: E402

TARGET_MS = 300
TZ = "America/New_York"


# ---------------------------------------------------------------------------------------------
# The city


def build_city(scale: float, now: dt.datetime):
    """The city of `flask seed city` (volunteer_app/seed/city/) at this scale; returns the
    public initiative with the most approved hours, and the counts."""
    from volunteer_app.hours.models import HoursEntry, HoursStatus
    from volunteer_app.initiatives.models import Initiative, InitiativeStatus
    from volunteer_app.seed.city import build_city as build

    summary = build(now, scale=scale)
    db.session.commit()
    busiest = db.session.scalar(
        sa.select(Initiative.slug)
        .join(HoursEntry, HoursEntry.initiative_id == Initiative.id)
        .where(
            Initiative.status == InitiativeStatus.PUBLISHED,
            HoursEntry.status == HoursStatus.APPROVED,
        )
        .group_by(Initiative.id)
        .order_by(sa.func.count().desc())
        .limit(1)
    )
    db.session.commit()  # end the read (it holds SQLite's write lock: the CLI writes)
    return busiest, summary.counts


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
            slug, counts = build_city(args.scale, utcnow())
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
            admin = db.session.scalar(sa.select(User).where(User.email == ref.ADMIN_EMAIL))
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
