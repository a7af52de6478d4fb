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
    "05:30 in New York: a shift that began five hours ago began yesterday": _utc(
        "2026-07-15 09:30"
    ),
    "00:30 on the first of the month in New York": _utc("2026-07-01 04:30"),
    "00:30 on the first of the month in Chicago": _utc("2026-07-01 05:30"),
    "00:30 on the first of the month in Los Angeles": _utc("2026-07-01 07:30"),
}

# The tests that read the wall clock or decide by it, chosen so the whole run stays within a
# few minutes; `make test` runs all of them (and the rest) at whatever hour it is.
_REMINDERS = "tests/sms/test_reminders.py::test_"
CLOCK_TESTS = [
    # The demo seed, run by its command at the faked hour: nothing written after its now.
    "tests/test_seed.py::test_every_instant_is_aware_utc_and_nothing_happened_in_the_future",
    # Reminders, quiet hours and the texts after a shift.
    _REMINDERS + "day_reminders_keep_the_local_time_across_daylight_saving",
    _REMINDERS + "a_daylight_saving_weekend_does_not_shift_the_reminder_by_an_hour",
    _REMINDERS + "default_reminders_are_a_day_and_two_hours_before",
    _REMINDERS + "no_reminder_once_the_shift_has_started",
    _REMINDERS + "a_reminder_due_in_quiet_hours_goes_when_they_end",
    _REMINDERS + "a_two_hour_reminder_for_an_early_shift_goes_at_eight",
    _REMINDERS + "a_reminder_that_would_arrive_after_the_start_goes_the_evening_before",
    _REMINDERS + "a_reminder_too_late_for_the_evening_before_is_dropped_with_the_reason",
    _REMINDERS + "quiet_hours_rules",
    _REMINDERS + "after_a_shift_attendees_get_thanks_with_their_hours",
    _REMINDERS + "a_forgotten_check_out_is_closed_and_thanked_for_the_whole_shift",
    "tests/sms/test_simulator.py::test_the_conversation_shows_queued_and_deferred_texts_with_their_status",
    # Check-in and attendance windows, around the real now.
    "tests/hours/test_checkin.py::test_check_in_by_phone",
    "tests/hours/test_checkin.py::test_check_in_with_one_button_when_logged_in",
    "tests/hours/test_checkin.py::test_check_out_credits_rounded_hours",
    "tests/hours/test_checkin.py::test_check_in_too_early_says_when",
    "tests/hours/test_attendance.py::test_bulk_present_and_absent",
    "tests/hours/test_attendance.py::test_present_after_self_check_in_uses_the_check_in_time",
    "tests/hours/test_attendance.py::test_attendance_before_check_in_opens_is_refused",
    "tests/hours/test_attendance.py::test_opening_an_ended_shift_closes_forgotten_check_outs",
    "tests/sms/test_simulator.py::test_the_simulator_can_act_during_a_shift_to_try_in_and_out",
    "tests/impact/test_outcome_views.py::test_values_per_shift_are_recorded_and_corrections_void_the_old_one",
    # Scheduling in local time, across clock changes, and what the past forbids.
    "tests/shifts/test_scheduling.py::test_one_shift_is_converted_from_local_time_and_gets_a_code",
    "tests/shifts/test_scheduling.py::test_weekly_saturday_series_keeps_nine_local_across_the_dst_change",
    "tests/shifts/test_scheduling.py::test_a_time_in_the_repeated_hour_is_the_one_still_to_come",
    "tests/shifts/test_scheduling.py::test_a_started_shift_cannot_change_time",
    "tests/shifts/test_scheduling.py::test_moving_a_shift_into_the_past_is_refused",
    "tests/shifts/test_scheduling.py::test_a_finished_shift_cannot_be_cancelled",
    "tests/shifts/test_scheduling.py::test_duplicating_into_the_past_is_refused",
    "tests/coordinators/test_views.py::test_scheduling_a_weekly_series_through_the_form",
    "tests/coordinators/test_views.py::test_cancel_and_duplicate_through_the_page",
    # Calendars.
    "tests/shifts/test_calendar.py::test_shift_ics_is_one_event_in_utc",
    "tests/shifts/test_calendar.py::test_feed_has_my_confirmed_upcoming_and_recent_shifts_only",
    # Pages that read the wall clock in their views.
    "tests/test_journey_coordinator.py",
    "tests/coordinators/test_views.py::test_goals_show_progress_pace_and_before_after",
    "tests/coordinators/test_views.py::test_home_shows_what_needs_attention",
    "tests/coordinators/test_exports.py::test_a_date_range_in_local_dates_narrows_the_export",
    "tests/public/test_views.py::test_a_shift_under_way_is_shown_as_happening_now_without_a_signup_button",
    "tests/shifts/test_views.py::test_my_shifts_lists_upcoming_past_and_hours",
    "tests/api/test_api.py::test_shifts_are_upcoming_with_spots_left_and_filters",
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
