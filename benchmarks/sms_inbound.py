"""How fast the inbound SMS webhook answers: latency of signed POST /sms/inbound requests.

    .venv/bin/python benchmarks/sms_inbound.py [--database-url URL] [--requests 500]

Makes a throwaway database (an SQLite file in a temporary folder, or, given a PostgreSQL URL,
a database of its own that is dropped at the end), seeds an initiative with shifts, volunteers
and a team lead, then sends N webhook requests signed as Twilio signs them, through the whole
app (signature check, MessageSid guard, command, TwiML), with a realistic mix: SHIFTS, OK,
HELP, JOIN from new phones, IN and OUT, DROP and re-JOIN, outcome numbers from the lead,
unknown texts and Twilio retries of a SID already answered. Prints p50, p95 and max.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import logging
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py
from twilio.request_validator import RequestValidator  # noqa: E402

PUBLIC = "https://volunteer.example.org"
TOKEN = "bench-auth-token"
FROM_NUMBER = "+15005550006"
WARM_UP = 20


def make_app(database_url: str):
    from config import TestingConfig
    from volunteer_app import create_app

    return create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        PUBLIC_BASE_URL=PUBLIC,
    )


def seed(volunteers: int) -> dict:
    """An initiative with upcoming shifts, one happening now and one just led and ended."""
    from volunteer_app.accounts.models import Organization, User
    from volunteer_app.core.db import utcnow
    from volunteer_app.extensions import db
    from volunteer_app.initiatives.models import Initiative, InitiativeStatus, OutcomeMetric
    from volunteer_app.reference.models import Cause
    from volunteer_app.shifts.models import Shift, Signup, SignupStatus

    now = utcnow()
    org = Organization(slug="parks", name="Parks Department")
    cause = Cause(slug="environment", name="Environment")
    initiative = Initiative(
        organization=org,
        cause=cause,
        slug="trees",
        title="Riverside Tree Planting",
        status=InitiativeStatus.PUBLISHED,
    )
    db.session.add_all([org, cause, initiative])
    db.session.add(
        OutcomeMetric(initiative=initiative, name="Trees planted", unit="trees", target=5000)
    )
    people = [
        User(
            phone=f"+1303555{n:04d}",
            name=f"Volunteer {n}",
            sms_consent_at=now,
            sms_consent_version="bench",
            sms_consent_source="web",
        )
        for n in range(volunteers)
    ]
    lead = people[0]
    db.session.add_all(people)
    db.session.flush()
    upcoming = [
        Shift(
            initiative=initiative,
            starts_at=now + dt.timedelta(days=1 + day, hours=hour),
            ends_at=now + dt.timedelta(days=1 + day, hours=hour + 3),
            capacity=volunteers,
            code=f"{4000 + day * 10 + hour}",
            location_name="Elm Park",
        )
        for day in range(10)
        for hour in (0, 4)
    ]
    current = Shift(
        initiative=initiative,
        starts_at=now - dt.timedelta(minutes=10),
        ends_at=now + dt.timedelta(hours=3),
        capacity=volunteers,
        code="5000",
    )
    ended = Shift(
        initiative=initiative,
        starts_at=now - dt.timedelta(hours=4),
        ends_at=now - dt.timedelta(hours=1),
        capacity=volunteers,
        code="5001",
        team_lead_id=lead.id,
    )
    db.session.add_all([*upcoming, current, ended])
    db.session.flush()
    for index, person in enumerate(people):
        for shift in (upcoming[index % len(upcoming)], current):
            db.session.add(
                Signup(
                    shift_id=shift.id,
                    user_id=person.id,
                    status=SignupStatus.CONFIRMED,
                    confirmed_at=now,
                )
            )
            shift.spots_taken += 1
    db.session.commit()
    return {
        "phones": [p.phone for p in people],
        "lead": lead.phone,
        "codes": [s.code for s in upcoming],
        "own_code": {p.phone: upcoming[i % len(upcoming)].code for i, p in enumerate(people)},
    }


def workload(world: dict, count: int, rng: random.Random):
    """(phone, body, sid) requests in a realistic mix, retries included."""
    phones = world["phones"][1:]
    new_phones = (f"+1720555{n:04d}" for n in itertools.count())
    checked_in: list[str] = []
    dropped: list[str] = []
    sids = (f"SM{uuid.uuid4().hex}" for _ in itertools.count())
    previous = None
    kinds = ["shifts", "ok", "help", "join_new", "in", "out", "drop", "rejoin", "lead", "unknown"]
    weights = [15, 15, 8, 10, 10, 8, 5, 4, 5, 10]
    for _ in range(count):
        if previous is not None and rng.random() < 0.1:
            yield ("retry", *previous)  # Twilio retrying a SID we already answered
            continue
        kind = rng.choices(kinds, weights)[0]
        phone = rng.choice(phones)
        if kind == "shifts":
            body = rng.choice(["SHIFTS", "shifts?", "Mis turnos"])
        elif kind == "ok":
            body = rng.choice(["OK", "ok!", "Listo"])
        elif kind == "help":
            body = rng.choice(["HELP", "ayuda"])
        elif kind == "join_new":
            phone, body = next(new_phones), f"JOIN {rng.choice(world['codes'])}"
        elif kind == "in":
            checked_in.append(phone)
            body = "IN 5000"
        elif kind == "out":
            phone = checked_in.pop() if checked_in else phone
            body = "OUT"
        elif kind == "drop":
            dropped.append(phone)
            body = f"DROP {world['own_code'][phone]}"
        elif kind == "rejoin":
            phone = dropped.pop() if dropped else phone
            body = f"JOIN {world['own_code'][phone]}"
        elif kind == "lead":
            phone, body = world["lead"], rng.choice(["12", "TREES 4", "7 trees"])
        else:
            body = rng.choice(["hello?", "what time is it", "thanks"])
        previous = (phone, body, next(sids))
        yield (kind, *previous)


def measure(app, world: dict, count: int, seed_value: int) -> dict:
    validator = RequestValidator(TOKEN)
    client = app.test_client()
    rng = random.Random(seed_value)
    timings: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for n, (kind, phone, body, sid) in enumerate(workload(world, count + WARM_UP, rng)):
        params = {
            "MessageSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": phone,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        signature = validator.compute_signature(PUBLIC + "/sms/inbound", params)
        started = time.perf_counter()
        response = client.post(
            "/sms/inbound", data=params, headers={"X-Twilio-Signature": signature}
        )
        elapsed = time.perf_counter() - started
        if response.status_code != 200 or response.mimetype != "text/xml":
            raise SystemExit(f"{kind} {body!r}: {response.status_code} {response.get_data()!r}")
        if b"went wrong" in response.get_data():
            raise SystemExit(f"{kind} {body!r} failed: {response.get_data()!r}")
        if n >= WARM_UP:
            timings.append(elapsed)
            by_kind.setdefault(kind, []).append(elapsed)
    return {"all": timings, "by_kind": by_kind}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(round(share * (len(ordered) - 1))), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--volunteers", type=int, default=200)
    parser.add_argument("--seed", type=int, default=4821)
    args = parser.parse_args()
    logging.disable(logging.INFO)

    backend = "postgresql" if args.database_url else "sqlite"
    with throwaway_database(args.database_url, "bench_inbound") as database_url:
        app = make_app(database_url)
        with app.app_context():
            from volunteer_app.extensions import db

            db.create_all()
            world = seed(args.volunteers)
            result = measure(app, world, args.requests, args.seed)
            db.session.remove()
            db.engine.dispose()

    ms = [t * 1000 for t in result["all"]]
    print(f"Inbound SMS webhook, {backend}, {len(ms)} signed requests (after {WARM_UP} warm-up)")
    print(
        f"  p50 {percentile(ms, 0.5):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
        f"max {max(ms):6.1f} ms   mean {statistics.fmean(ms):6.1f} ms"
    )
    print(f"  {'command':<9} {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kind, values in sorted(result["by_kind"].items()):
        values = [t * 1000 for t in values]
        print(
            f"  {kind:<9} {len(values):>4} {percentile(values, 0.5):>7.1f} "
            f"{percentile(values, 0.95):>7.1f} {max(values):>7.1f}"
        )


if __name__ == "__main__":
    main()
