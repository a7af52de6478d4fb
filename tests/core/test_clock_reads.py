"""Only the edges read the wall clock: views, CLI commands and the SMS worker's loop. Services
and the seed take `now=`, so the suite can pin time for them and they pass at any hour."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "volunteer_app"
CLOCK_READ = re.compile(r"\butcnow\(\)|datetime\.now\(|date\.today\(|\btime\.time\(\)|\.utcnow\(")
# Where reading the clock is the point: requests, commands, the worker's clock, and utcnow.
EDGES = {"views.py", "cli.py", "web.py", "worker.py", "devserver.py"}
# core/bounds.py holds the form fields' date window, checked as a request is read.
EDGE_PATHS = {"seed/__init__.py", "core/db.py", "core/bounds.py"}


def test_services_and_the_seed_never_read_the_clock():
    readers = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name not in EDGES and str(path.relative_to(PACKAGE)) not in EDGE_PATHS
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CLOCK_READ.search(line)
    ]
    assert readers == []


def test_the_check_finds_a_clock_read():
    assert CLOCK_READ.search("    recorded_at = utcnow()")
    assert CLOCK_READ.search("today = dt.date.today()")
    assert CLOCK_READ.search("at = dt.datetime.now(dt.UTC)")
    assert not CLOCK_READ.search("created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)")
