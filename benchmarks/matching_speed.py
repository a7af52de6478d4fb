"""How fast matching answers: one resident against the upcoming shifts, and one shift against
every volunteer, at city scale.

    .venv/bin/python benchmarks/matching_speed.py [--database-url URL] [--runs 9] [--scale 1.0]

Builds a throwaway database (an SQLite file in a temporary folder, or, given a PostgreSQL URL,
a database of its own that is dropped at the end) holding the city of `flask seed city`
(volunteer_app/seed/city/: at scale 1.0 the demo city plus 50,000 volunteers with causes,
skills, languages and weekly availability, 200 initiatives, 20,000 shifts of which about 5,000
ahead, about 200,000 signups and a week of invitations), then times `recommend_shifts` and
`rank_candidates`, each the median of several runs after a warm-up. Targets: 50 ms and 200 ms.
Exits non-zero when a median misses its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
RECOMMEND_TARGET_MS = 50
CANDIDATES_TARGET_MS = 200


def make_app(database_url: str):
    from config import TestingConfig
    from volunteer_app import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)


def build(scale: float) -> dict:
    """The city of `flask seed city` at this scale, at NOW; returns the ids the timings use."""
    from volunteer_app.accounts.models import User
    from volunteer_app.extensions import db
    from volunteer_app.initiatives.models import Initiative, InitiativeStatus
    from volunteer_app.seed.city import analyze, build_city
    from volunteer_app.shifts.models import Shift, ShiftStatus

    build_city(NOW, scale=scale)
    db.session.commit()
    analyze()
    # A resident of the bulk city with a full profile; a published shift a week out.
    resident = db.session.scalar(
        sa.select(User.id)
        .where(
            User.email.like("%@residents.example"),
            User.availability_mask != 0,
            User.neighborhood_id.is_not(None),
            User.birth_date.is_not(None),
        )
        .order_by(User.id)
        .limit(1)
    )
    shift = db.session.scalar(
        sa.select(Shift.id)
        .join(Initiative)
        .where(
            Shift.status == ShiftStatus.SCHEDULED,
            Initiative.status == InitiativeStatus.PUBLISHED,
            Shift.starts_at > NOW + dt.timedelta(days=5),
            Shift.starts_at < NOW + dt.timedelta(days=9),
        )
        .order_by(Shift.id)
        .limit(1)
    )
    db.session.commit()
    return {"resident": resident, "shift": shift}


def timed(function, runs: int) -> tuple[float, list[float], object]:
    """Median milliseconds of `runs` calls after one warm-up call; each run starts from an
    empty session, as a request does."""
    from volunteer_app.extensions import db

    result = function()
    db.session.rollback()
    times = []
    for _ in range(runs):
        db.session.expunge_all()
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times), times, result


def run(database_url: str, runs: int, scale: float) -> bool:
    from volunteer_app.accounts.models import User
    from volunteer_app.extensions import db
    from volunteer_app.matching import queries
    from volunteer_app.shifts.models import Shift

    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        ids = build(scale)
        built = time.perf_counter() - started
        backend = db.engine.dialect.name
        upcoming = db.session.scalar(
            sa.select(sa.func.count()).select_from(Shift).where(Shift.starts_at > NOW)
        )
        people = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        db.session.commit()
        print(
            f"{backend}: built {upcoming:,} upcoming shifts and {people:,} people in {built:.1f} s"
        )

        def recommend():
            return queries.recommend_shifts(ids["resident"], now=NOW, limit=3, per_initiative=1)

        def candidates():
            shift = db.session.get(Shift, ids["shift"])
            return queries.rank_candidates(shift, now=NOW, limit=50)

        ok = True
        for label, function, target in (
            (
                "recommendations for one resident over the upcoming shifts",
                recommend,
                RECOMMEND_TARGET_MS,
            ),
            ("candidates for one shift over all volunteers", candidates, CANDIDATES_TARGET_MS),
        ):
            median, times, result = timed(function, runs)
            verdict = "ok" if median <= target else "TOO SLOW"
            ok = ok and median <= target
            spread = f"min {min(times):.1f}, max {max(times):.1f}"
            print(
                f"  {label}: median {median:.1f} ms ({spread}; target {target} ms; "
                f"{len(result)} results) {verdict}"
            )
        db.session.remove()
        db.engine.dispose()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the full city")
    args = parser.parse_args()
    logging.disable(logging.INFO)

    with throwaway_database(args.database_url, "bench_matching") as database_url:
        ok = run(database_url, args.runs, args.scale)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
