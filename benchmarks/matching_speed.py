"""How fast matching answers: one resident against 10,000 upcoming shifts, and one shift
against 50,000 volunteers.

    .venv/bin/python benchmarks/matching_speed.py [--database-url URL] [--runs 9]

Builds a throwaway database (an SQLite file in a temporary folder, or, given a PostgreSQL URL,
a database of its own that is dropped at the end), fills it with Core bulk inserts (a city of
20 neighborhoods, 300 initiatives, 10,000 upcoming and 5,000 past shifts, 50,000 volunteers
with causes, skills, languages, weekly availability, about 100,000 past and 20,000 upcoming
signups, and a week of invitations), then times `recommend_shifts` and `rank_candidates`,
each the median of several runs after a warm-up. Targets: 50 ms and 200 ms. Exits non-zero
when a median misses its target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

NOW = dt.datetime(2026, 6, 1, 14, 0, tzinfo=dt.UTC)
SEED = 20260601
UPCOMING_SHIFTS = 10_000
PAST_SHIFTS = 5_000
VOLUNTEERS = 50_000
INITIATIVES = 300
RECOMMEND_TARGET_MS = 50
CANDIDATES_TARGET_MS = 200
CHUNK = 5_000


def make_app(database_url: str):
    from config import TestingConfig
    from volunteer_app import create_app

    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)


def insert(table, rows: list[dict]) -> None:
    from volunteer_app.extensions import db

    for i in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(table), rows[i : i + CHUNK])


def build(rng: random.Random) -> dict:
    """Fill the database; returns the ids the timings use."""
    from volunteer_app.accounts.models import (
        Organization,
        User,
        user_causes,
        user_languages,
        user_skills,
    )
    from volunteer_app.extensions import db
    from volunteer_app.initiatives.models import (
        Initiative,
        initiative_languages,
        initiative_neighborhoods,
        initiative_skills,
    )
    from volunteer_app.matching.models import Invitation
    from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
    from volunteer_app.shifts.models import Shift, Signup

    hoods = []
    for n in range(20):
        hoods.append({
            "id": n + 1,
            "slug": f"hood-{n}",
            "name": f"Neighborhood {n}",
            "zip_codes": f"{20001 + n}",
            "centroid_lat": 38.85 + rng.uniform(0, 0.12),
            "centroid_lon": -77.08 + rng.uniform(0, 0.15),
            "is_priority": n < 4,
        })
    insert(Neighborhood.__table__, hoods)
    insert(
        Cause.__table__,
        [{"id": c, "slug": f"cause-{c}", "name": f"Cause {c}"} for c in range(1, 8)],
    )
    insert(
        Skill.__table__,
        [{"id": s, "slug": f"skill-{s}", "name": f"Skill {s}"} for s in range(1, 9)],
    )
    codes = ["en", "es", "zh", "vi", "ht"]
    insert(Language.__table__, [{"code": c, "name": c.upper()} for c in codes])
    insert(
        Organization.__table__,
        [{"id": o, "slug": f"org-{o}", "name": f"Organization {o}"} for o in range(1, 21)],
    )
    initiatives = [
        {
            "id": i,
            "organization_id": rng.randint(1, 20),
            "cause_id": rng.randint(1, 7),
            "slug": f"initiative-{i}",
            "title": f"Initiative {i}",
            "status": "published" if i % 25 else "draft",
            "timezone": "America/New_York" if i % 7 else "America/Chicago",
            "minimum_age": rng.choice((0, 0, 0, 0, 14, 16, 18)),
            "reminder_minutes": [1440],
        }
        for i in range(1, INITIATIVES + 1)
    ]
    insert(Initiative.__table__, initiatives)
    insert(
        initiative_skills,
        [
            {"initiative_id": i, "skill_id": s}
            for i in range(1, INITIATIVES + 1)
            for s in rng.sample(range(1, 9), rng.randint(0, 2))
        ],
    )
    insert(
        initiative_languages,
        [
            {"initiative_id": i, "language_code": c}
            for i in range(1, INITIATIVES + 1)
            for c in rng.sample(codes, rng.randint(0, 2))
        ],
    )
    insert(
        initiative_neighborhoods,
        [
            {"initiative_id": i, "neighborhood_id": h}
            for i in range(1, INITIATIVES + 1)
            for h in rng.sample(range(1, 21), 2)
        ],
    )

    shifts = []
    for n in range(UPCOMING_SHIFTS + PAST_SHIFTS):
        past = n >= UPCOMING_SHIFTS
        days = -rng.uniform(1, 180) if past else rng.uniform(0.05, 60)
        start = NOW + dt.timedelta(days=days)
        start = start.replace(minute=0, second=0, microsecond=0)
        if start <= NOW and not past:
            start += dt.timedelta(hours=1)
        hood = rng.randint(1, 20)
        located = rng.random() < 0.7
        shifts.append({
            "id": n + 1,
            "initiative_id": rng.randint(1, INITIATIVES),
            "starts_at": start,
            "ends_at": start + dt.timedelta(hours=rng.choice((2, 3, 4))),
            "neighborhood_id": hood,
            "latitude": hoods[hood - 1]["centroid_lat"] + rng.uniform(-0.01, 0.01)
            if located
            else None,
            "longitude": hoods[hood - 1]["centroid_lon"] + rng.uniform(-0.01, 0.01)
            if located
            else None,
            "capacity": rng.randint(5, 30),
            "spots_taken": 0,
            "effort": rng.choice((None, "light", "moderate", "heavy")),
            "code": str(100000 + n),
            "status": "scheduled" if rng.random() < 0.98 else "cancelled",
        })

    users = []
    for n in range(VOLUNTEERS):
        profiled = rng.random() < 0.85
        mask = 0
        if profiled:
            for _ in range(rng.randint(1, 6)):
                mask |= 1 << rng.randrange(21)
        has_phone = rng.random() < 0.6
        users.append({
            "id": n + 1,
            "email": f"volunteer{n}@bench.example",
            "name": f"Volunteer {n}",
            "role": "volunteer",
            "phone": f"+1202{n:07d}" if has_phone else None,
            "sms_consent_at": NOW - dt.timedelta(days=30) if has_phone else None,
            "sms_consent_version": "bench" if has_phone else None,
            "sms_opted_out_at": NOW if has_phone and rng.random() < 0.03 else None,
            "neighborhood_id": rng.randint(1, 20) if profiled else None,
            "zip_code": f"{20001 + rng.randrange(20)}" if rng.random() < 0.5 else None,
            "availability_mask": mask,
            "travel_miles": rng.choice((None, 1.0, 2.0, 3.0, 5.0, 10.0)),
            "effort_preference": rng.choice((None, "light", "moderate", "heavy")),
            "birth_date": dt.date(rng.randint(1950, 2012), rng.randint(1, 12), rng.randint(1, 28))
            if rng.random() < 0.7
            else None,
            "preferred_language": "en",
        })
    insert(User.__table__, users)
    insert(
        user_causes,
        [
            {"user_id": u, "cause_id": c}
            for u in range(1, VOLUNTEERS + 1)
            for c in rng.sample(range(1, 8), rng.choice((0, 1, 1, 2, 2, 3)))
        ],
    )
    insert(
        user_skills,
        [
            {"user_id": u, "skill_id": s}
            for u in range(1, VOLUNTEERS + 1)
            for s in rng.sample(range(1, 9), rng.choice((0, 1, 1, 2)))
        ],
    )
    insert(
        user_languages,
        [
            {"user_id": u, "language_code": c}
            for u in range(1, VOLUNTEERS + 1)
            for c in rng.sample(codes, rng.choice((1, 1, 1, 2)))
        ],
    )

    signups = []
    seen: set[tuple[int, int]] = set()
    taken = [0] * len(shifts)

    def sign(shift_index: int, user_id: int, status: str) -> None:
        key = (shift_index, user_id)
        if key in seen:
            return
        seen.add(key)
        taken[shift_index] += 1
        signups.append({
            "shift_id": shift_index + 1,
            "user_id": user_id,
            "status": status,
            "source": "web",
            "confirmed_at": NOW - dt.timedelta(days=200),
        })

    for _ in range(100_000):
        index = UPCOMING_SHIFTS + rng.randrange(PAST_SHIFTS)
        sign(index, rng.randint(1, VOLUNTEERS), "attended" if rng.random() < 0.85 else "no_show")
    for _ in range(20_000):
        sign(rng.randrange(UPCOMING_SHIFTS), rng.randint(1, VOLUNTEERS), "confirmed")
    for index, count in enumerate(taken):
        shifts[index]["spots_taken"] = count
        shifts[index]["capacity"] = max(shifts[index]["capacity"], count)
    insert(Shift.__table__, shifts)
    insert(Signup.__table__, signups)

    invitations = []
    invited: set[tuple[int, int]] = set()
    for _ in range(10_000):
        key = (rng.randrange(UPCOMING_SHIFTS) + 1, rng.randint(1, VOLUNTEERS))
        if key in invited:
            continue
        invited.add(key)
        invitations.append({
            "shift_id": key[0],
            "user_id": key[1],
            "channel": "sms",
            "status": "sent",
            "sent_at": NOW - dt.timedelta(days=rng.uniform(0, 10)),
        })
    insert(Invitation.__table__, invitations)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()

    # A resident with a full profile; a published shift a week out.
    resident = next(
        u["id"]
        for u in users
        if u["availability_mask"] and u["neighborhood_id"] and u["birth_date"]
    )
    shift = next(
        s["id"]
        for s in shifts[:UPCOMING_SHIFTS]
        if s["status"] == "scheduled"
        and initiatives[s["initiative_id"] - 1]["status"] == "published"
        and 5 < (s["starts_at"] - NOW).days < 9
    )
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


def run(database_url: str, runs: int) -> bool:
    from volunteer_app.extensions import db
    from volunteer_app.matching import queries
    from volunteer_app.shifts.models import Shift

    app = make_app(database_url)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        ids = build(random.Random(SEED))
        built = time.perf_counter() - started
        backend = db.engine.dialect.name
        upcoming = db.session.scalar(
            sa.select(sa.func.count()).select_from(Shift).where(Shift.starts_at > NOW)
        )
        print(
            f"{backend}: built {upcoming:,} upcoming shifts and {VOLUNTEERS:,} volunteers "
            f"in {built:.1f} s"
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
    args = parser.parse_args()
    logging.disable(logging.INFO)

    with throwaway_database(args.database_url, "bench_matching") as database_url:
        ok = run(database_url, args.runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
