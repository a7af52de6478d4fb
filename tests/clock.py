"""`make test-clock`: the clock-sensitive tests, run under libfaketime at the instants that trip
time-of-day bugs, so the suite is known to pass at any hour and not only at the hour CI ran.

`python -m tests.clock [pytest args]` runs CLOCK_TESTS once per instant in INSTANTS, each in
a fresh pytest whose wall clock starts at that instant and runs on (libfaketime's `faketime`,
Debian package `faketime`); a run's output is shown when it fails. PostgreSQL's server clock
is not faked: SQL `now()` used as a clock shows up there as a failure, as it should.
tests/test_seed.py also seeds the demo city at every one of these instants (by passing `now=`,
no faked clock needed).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# The demo city runs on New York and Chicago time, the tests mostly on New York and Los Angeles
# time (Chicago changes its clocks by the same rules, an hour after New York).
INSTANTS = {
    "evening in UTC, afternoon in the US (make test failed at 19:06)": _utc("2026-06-15 19:30"),
    "New Year's Eve, ten minutes before the UTC year turns": _utc("2026-12-31 23:50"),
    "23:50 on New Year's Eve in New York, the UTC year already turned": _utc("2027-01-01 04:50"),
    "just before New York springs forward (02:00 EST)": _utc("2027-03-14 06:59"),
    "just after New York springs forward": _utc("2027-03-14 07:01"),
    "just before Los Angeles springs forward": _utc("2027-03-14 09:59"),
    "just after Los Angeles springs forward": _utc("2027-03-14 10:01"),
    "just before New York falls back (02:00 EDT)": _utc("2026-11-01 05:59"),
    "just after New York falls back": _utc("2026-11-01 06:01"),
    "just before Los Angeles falls back": _utc("2026-11-01 08:59"),
    "just after Los Angeles falls back": _utc("2026-11-01 09:01"),
    "00:30 on the first of the month in New York": _utc("2026-07-01 04:30"),
    "00:30 on the first of the month in Chicago": _utc("2026-07-01 05:30"),
    "00:30 on the first of the month in Los Angeles": _utc("2026-07-01 07:30"),
}

# Every test that reads the clock or decides by it: the seed, reminders and the outbox worker,
# quiet hours, check-in windows and attendance, scheduling, calendars, the pages that read the
# wall clock in their views (home, initiatives, shifts, coordinator and impact pages), the
# SMS conversation and the JSON API.
CLOCK_TESTS = [
    "tests/test_seed.py",
    "tests/sms/test_reminders.py",
    "tests/sms/test_outbox.py",
    "tests/sms/test_worker.py",
    "tests/sms/test_inbound.py",
    "tests/sms/test_simulator.py",
    "tests/roster/test_checkin.py",
    "tests/roster/test_attendance.py",
    "tests/shifts/test_scheduling.py",
    "tests/shifts/test_calendar.py",
    "tests/shifts/test_views.py",
    "tests/initiatives/test_views.py",
    "tests/coordinators/test_views.py",
    "tests/impact/test_views.py",
    "tests/api/test_api.py",
]

# Python 3.11 sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which libfaketime
# 0.9.10 (Debian 12) breaks when the monotonic clock is left real (EINVAL,
# wolfcw/libfaketime#426); faking the monotonic clock instead hangs every lock timeout
# (sem_clockwait is not intercepted). So the monotonic clock stays real, and this folder's
# sitecustomize.py gives every Python process under the faked clock a time.sleep that waits on
# select() instead.
SLEEP_FIX = ROOT / "tests" / "faketime"


def faked(instant: dt.datetime, command: list[str]) -> list[str]:
    """`command` with its wall clock starting at `instant` and running on."""
    stamp = instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return ["faketime", "-m", "--exclude-monotonic", stamp, *command]


def run_at(instant: dt.datetime, argv: list[str]) -> subprocess.CompletedProcess:
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *CLOCK_TESTS, *argv]
    path = os.pathsep.join(filter(None, [str(SLEEP_FIX), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        faked(instant, pytest),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def main(argv: list[str]) -> int:
    if shutil.which("faketime") is None:
        print("faketime is not installed: apt-get install faketime (make test-clock does)")
        return 2
    started = time.monotonic()
    failed = []
    # Each instant is a pytest of its own, with its own databases: a few run side by side.
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        runs = {
            pool.submit(run_at, instant, argv): (about, instant)
            for about, instant in INSTANTS.items()
        }
        for done in as_completed(runs):
            about, instant = runs[done]
            result = done.result()
            summary = result.stdout.strip().splitlines()[-1:] or ["no output"]
            print(f"{instant:%Y-%m-%d %H:%M} UTC, {about}: {summary[0]}", flush=True)
            if result.returncode != 0:
                print(result.stdout, flush=True)
                failed.append(f"{instant:%Y-%m-%d %H:%M} UTC ({about})")
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    print(f"make test-clock: {len(INSTANTS)} instants in {minutes} min {seconds} s")
    for line in failed:
        print(f"FAILED at {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
