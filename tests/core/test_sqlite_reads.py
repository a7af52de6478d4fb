"""On SQLite, page views never queue behind writers: two gunicorn workers serve pages while
another connection holds the write lock, and a request that writes waits for it.

The first wave began every transaction IMMEDIATE, so every GET waited (up to the 30 s busy
timeout) for whoever held the write lock; this test fails there.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from config import TestingConfig
from tests.conftest import CSRF_RE
from tests.factories import PASSWORD, make_shift, make_user
from volunteer_app import create_app
from volunteer_app.core.db import utcnow
from volunteer_app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 5  # seconds; far below the 30 s busy timeout a queued read would wait


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A cookie-keeping client that does not follow redirects (a redirect is the answer)."""

    class _Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._Stay()
        )

    def request(self, path: str, data: dict | None = None, timeout: float = 30):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:  # 3xx and 4xx come back as errors here
            with error:
                return error.code, error.read().decode()

    def csrf(self, path: str) -> str:
        status, page = self.request(path, timeout=READ_TIMEOUT)
        assert status == 200, (path, status)
        return CSRF_RE.search(page).group(1)


@pytest.fixture
def city(tmp_path):
    """A SQLite file with one person and one shift ahead, and gunicorn serving it on two
    workers; yields (database path, base URL, volunteer email, shift id, initiative slug)."""
    path = tmp_path / "city.sqlite3"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        db.create_all()
        starts_at = utcnow().replace(microsecond=0) + dt.timedelta(days=7)
        shift = make_shift(starts_at=starts_at, capacity=5)
        person = make_user(onboarded_at=starts_at - dt.timedelta(days=30))
        facts = (person.email, shift.id, shift.initiative.slug)
        db.session.commit()
        db.engine.dispose()

    port = _free_port()
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": f"sqlite:///{path}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--timeout", "60", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/static/css/app.css", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield (path, base, *facts)
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output


def test_pages_are_read_while_the_write_lock_is_held_and_a_signup_waits_for_it(city):
    path, base, email, shift_id, slug = city
    browser = Browser(base)
    status, _ = browser.request(
        "/login", {"email": email, "password": PASSWORD, "csrf_token": browser.csrf("/login")}
    )
    assert status in (302, 303)

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE initiatives SET title = title || ' (renamed)'")
    try:
        pages = ["/", "/initiatives", f"/initiatives/{slug}", f"/shifts/{shift_id}"]
        for page in pages:
            started = time.monotonic()
            status, body = browser.request(page, timeout=READ_TIMEOUT)
            assert status == 200, page
            assert time.monotonic() - started < READ_TIMEOUT
        # The lock holder's change is not committed: readers see the last committed state.
        assert "(renamed)" not in body
        token = CSRF_RE.search(body).group(1)

        answer: list = []
        signing_up = threading.Thread(
            target=lambda: answer.append(
                browser.request(f"/shifts/{shift_id}/signup", {"csrf_token": token})
            )
        )
        signing_up.start()
        signing_up.join(timeout=2)
        assert signing_up.is_alive(), f"the signup did not wait for the write lock: {answer}"
        # With one worker busy waiting to write, the other still serves a page at once.
        for page in pages:
            status, _ = browser.request(page, timeout=READ_TIMEOUT)
            assert status == 200, page
    finally:
        holder.execute("COMMIT")
        holder.close()

    signing_up.join(timeout=20)
    assert not signing_up.is_alive()
    assert answer[0][0] == 303
    with sqlite3.connect(path) as check:
        rows = check.execute("SELECT status FROM signups WHERE shift_id = ?", (shift_id,))
        assert [status for (status,) in rows] == ["confirmed"]
    status, body = browser.request(f"/shifts/{shift_id}", timeout=READ_TIMEOUT)
    assert status == 200 and "(renamed)" in body
