"""`python -m volunteer_app.devserver`: serves the app, runs the SMS worker beside it, and stops
the worker when it stops."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from volunteer_app import devserver

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


def test_the_server_answers_on_port_and_stops_cleanly_on_sigterm(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        "FLASK_APP": "wsgi:app",
        "APP_ENV": "development",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "volunteer_app.devserver"],
        cwd=Path(devserver.__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=devserver.STOP_TIMEOUT_SECONDS + 5)
    assert server.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "Stopped." in output
