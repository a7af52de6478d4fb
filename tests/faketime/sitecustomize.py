"""Loaded by every Python process that `make test-clock` starts under libfaketime (see
tests/clock.py): time.sleep waits on select(), whose relative timeout libfaketime 0.9.10 does
not break, instead of clock_nanosleep(TIMER_ABSTIME), which it does (wolfcw/libfaketime#426)."""

import select
import time


def _sleep(seconds: float) -> None:
    select.select([], [], [], seconds)


time.sleep = _sleep
