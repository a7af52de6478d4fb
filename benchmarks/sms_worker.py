"""How fast the SMS worker sends: messages per second to a fake Twilio on 127.0.0.1.

    .venv/bin/python benchmarks/sms_worker.py [--database-url URL] [--messages 2000]

Starts the fake Twilio API of the test suite in this process, makes a throwaway database
(an SQLite file in a temporary folder, or, given a PostgreSQL URL, a database of its own that
is dropped at the end), queues N texts, and lets one worker, then four workers (separate
processes, as in production) send them through the real twilio Client. Checks that every text
reached the fake exactly once and prints a small table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

NOON = dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)  # 12:00 in New York: no quiet hours


def make_app(database_url: str, twilio_base: str):
    from config import TestingConfig
    from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
    from volunteer_app import create_app

    return create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE=twilio_base,
        PUBLIC_BASE_URL="https://volunteer.example.org",
    )


def queue_messages(count: int) -> None:
    from volunteer_app.extensions import db
    from volunteer_app.sms.models import Direction, Message, MessageStatus

    db.session.execute(sa.delete(Message))
    db.session.execute(
        sa.insert(Message),
        [
            {
                "direction": Direction.OUTBOUND,
                "status": MessageStatus.QUEUED,
                "idempotency_key": f"bench:{n}",
                "to_phone": f"+1303{n:07d}",
                "body": f"Reminder: Tree Planting, 6/6/26, 9:30 AM at Elm Park. Code {n}.",
                "kind": "reminder",
                "send_after": NOON - dt.timedelta(minutes=1),
                "created_at": NOON - dt.timedelta(minutes=1),
                "status_history": [{"status": "queued", "at": NOON.isoformat()}],
            }
            for n in range(count)
        ],
    )
    db.session.commit()


def worker_process(database_url, twilio_base, threads, batch, barrier, results):
    """One worker process: build the app, wait for the others, send until nothing is due."""
    import logging

    logging.disable(logging.INFO)
    app = make_app(database_url, twilio_base)
    with app.app_context():
        from volunteer_app.sms.worker import Worker

        with Worker(clock=lambda: NOON, threads=threads, batch_size=batch) as worker:
            barrier.wait()
            started = time.perf_counter()
            report = worker.send_due()
            results.put((started, time.perf_counter(), report.counts["sent"]))


def run(database_url: str, count: int, workers: int, threads: int, batch: int, fake) -> dict:
    app = make_app(database_url, fake.base_url)
    with app.app_context():
        queue_messages(count)
    fake.reset()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(
            target=worker_process,
            args=(database_url, fake.base_url, threads, batch, barrier, results),
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    started = min(r[0] for r in reports)
    finished = max(r[1] for r in reports)
    sent = sum(r[2] for r in reports)
    accepted = fake.accepted
    if len(accepted) != count or len({post.to for post in accepted}) != count or sent != count:
        with app.app_context():
            from volunteer_app.extensions import db
            from volunteer_app.sms.models import Message

            states = dict(
                db.session.execute(
                    sa.select(Message.status, sa.func.count()).group_by(Message.status)
                ).all()
            )
            errors = db.session.scalars(
                sa.select(Message.error).where(Message.error.is_not(None)).limit(3)
            ).all()
        raise SystemExit(
            f"expected {count} sends, the fake accepted {len(accepted)}; rows {states} {errors}"
        )
    seconds = finished - started
    return {"workers": workers, "messages": count, "seconds": seconds, "rate": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8, help="sending threads per worker")
    parser.add_argument("--batch", type=int, default=100, help="rows claimed per batch")
    args = parser.parse_args()

    from tests.sms.fake_twilio import FakeTwilio

    fake = FakeTwilio().start()
    backend = "postgresql" if args.database_url else "sqlite"
    try:
        with throwaway_database(args.database_url, "bench_sms") as database_url:
            app = make_app(database_url, fake.base_url)
            with app.app_context():
                from volunteer_app.extensions import db

                db.create_all()
                db.engine.dispose()
            rows = [
                run(database_url, args.messages, workers, args.threads, args.batch, fake)
                for workers in (1, 4)
            ]
    finally:
        fake.stop()

    print(f"SMS worker to a local fake Twilio, {backend}, {args.threads} threads per worker")
    print(f"{'workers':>7}  {'messages':>8}  {'seconds':>7}  {'msg/s':>7}")
    for row in rows:
        workers, messages, seconds, rate = row.values()
        print(f"{workers:>7}  {messages:>8}  {seconds:>7.2f}  {rate:>7.0f}")


if __name__ == "__main__":
    main()
