"""`python -m volunteer_app.devserver`: serves the app, runs the SMS worker beside it, and stops
the worker when it stops."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from config import TestingConfig
from tests.factories import make_shift
from volunteer_app import create_app, devserver
from volunteer_app.extensions import db

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_stopping_the_server_stops_a_running_worker():
    worker = subprocess.Popen(SLEEPER)
    started = time.monotonic()
    devserver.stop_worker(worker)
    assert worker.returncode is not None
    assert time.monotonic() - started < devserver.STOP_TIMEOUT_SECONDS


def test_a_worker_that_exits_on_its_own_is_reported_and_the_server_goes_on(caplog):
    worker = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with caplog.at_level(logging.WARNING, logger="volunteer_app.devserver"):
        devserver.watch_worker(worker, threading.Event())
    assert "exit code 3" in caplog.text
    devserver.stop_worker(worker)  # already gone: nothing to do


def test_a_worker_stopped_on_purpose_is_not_reported(caplog):
    stopping = threading.Event()
    worker = subprocess.Popen(SLEEPER)
    stopping.set()
    devserver.stop_worker(worker)
    with caplog.at_level(logging.WARNING, logger="volunteer_app.devserver"):
        devserver.watch_worker(worker, stopping)
    assert caplog.text == ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fetch(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


@contextmanager
def _devserver(tmp_path, database_url: str | None = None, **environ: str):
    """`python -m volunteer_app.devserver` on a free port, as `make run` starts it; yields
    (port, its output so far as a list the caller reads after the block)."""
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "FLASK_APP": "wsgi:app",
        "APP_ENV": "development",
        **environ,
    }
    env.pop("PUBLIC_BASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "volunteer_app.devserver"],
        cwd=Path(devserver.__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        status = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/app.css") as r:
                    status = r.status
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
        yield port, output
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=devserver.STOP_TIMEOUT_SECONDS + 5)
        output.append(out)
        assert server.returncode == 0, out


def test_the_server_answers_on_port_and_stops_cleanly_on_sigterm(tmp_path):
    with _devserver(tmp_path) as (port, output):
        pass
    assert f"http://127.0.0.1:{port}" in output[0]
    assert "Stopped." in output[0]


def test_links_name_the_port_the_server_answers_on(tmp_path):
    """`PORT=5101 make run` once wrote calendar files linking to http://127.0.0.1:5000."""
    database_url = f"sqlite:///{tmp_path / 'dev.sqlite3'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.create_all()
        shift_id = make_shift(starts_at=dt.datetime(2031, 7, 5, 14, tzinfo=dt.UTC)).id
        db.session.commit()
        db.engine.dispose()

    with _devserver(tmp_path, database_url) as (port, output):
        calendar = _fetch(f"http://127.0.0.1:{port}/shifts/{shift_id}.ics")
    assert f"URL:http://127.0.0.1:{port}/shifts/{shift_id}" in calendar.replace("\r\n ", "")
    assert f"links name http://127.0.0.1:{port}" in output[0]


def test_production_still_requires_its_public_address(tmp_path):
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PORT": str(_free_port()),
    }
    env.pop("PUBLIC_BASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "volunteer_app.devserver"],
        cwd=Path(devserver.__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL must be the public https address" in result.stderr


def test_the_served_address_is_one_a_browser_can_open():
    assert devserver.served_url("127.0.0.1", 5101) == "http://127.0.0.1:5101"
    assert devserver.served_url("0.0.0.0", 8080)  # noqa: S104 == "http://127.0.0.1:8080"
    assert devserver.served_url("::1", 5000) == "http://[::1]:5000"
