"""`python -m volunteer_app.devserver`: the app on http://127.0.0.1:5000 with the SMS worker
running beside it, the way `make run` starts them.

One command gives a working city on one machine: the web server in this process and
`flask sms worker` in a child process (texts go to the console unless SMS_BACKEND=twilio).
If the worker stops, the site keeps serving and says so in the log; when the server stops
(Ctrl-C or SIGTERM), the worker is stopped too. PORT and HOST change where it listens, and
the absolute links it writes (texts, emails, calendar files) name that address unless
PUBLIC_BASE_URL says otherwise.
Production runs gunicorn and the worker as separate processes instead (see the README).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import run_simple

from volunteer_app import create_app

log = logging.getLogger("volunteer_app.devserver")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WORKER_COMMAND = [sys.executable, "-m", "flask", "sms", "worker"]
STOP_TIMEOUT_SECONDS = 10


def served_url(host: str, port: int) -> str:
    """The address a browser on this machine reaches the server at."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - listening everywhere, not a link target
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def start_worker() -> subprocess.Popen:
    env = {**os.environ, "FLASK_APP": os.environ.get("FLASK_APP", "wsgi:app")}
    return subprocess.Popen(WORKER_COMMAND, cwd=PROJECT_ROOT, env=env)


def watch_worker(worker: subprocess.Popen, stopping: threading.Event) -> None:
    """Warn when the worker exits on its own; the site goes on without texts."""
    code = worker.wait()
    if not stopping.is_set():
        log.warning(
            "The SMS worker stopped (exit code %s); the site keeps serving but queued texts "
            "wait until `flask sms worker` runs again.",
            code,
        )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("The SMS worker did not stop in %s s; killing it.", STOP_TIMEOUT_SECONDS)
        worker.kill()
        worker.wait()


def _raise_keyboard_interrupt(signum, frame):
    # SIGTERM (from `timeout`, a process manager or `kill`) stops the server like Ctrl-C does,
    # so the worker is always stopped on the way out.
    raise KeyboardInterrupt


def main() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    # config.py read the environment on import; the app takes the derived address as an
    # override, and the worker (a child process) from the environment. Production never gets
    # here without its own: create_app refuses to start without PUBLIC_BASE_URL there.
    explicit = os.environ.get("PUBLIC_BASE_URL")
    app = create_app(None, **({} if explicit else {"PUBLIC_BASE_URL": served_url(host, port)}))
    os.environ["PUBLIC_BASE_URL"] = app.config["PUBLIC_BASE_URL"]
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    stopping = threading.Event()
    worker = start_worker()
    threading.Thread(target=watch_worker, args=(worker, stopping), daemon=True).start()
    log.info(
        "Serving on http://%s:%s (SMS worker pid %s), links name %s. Ctrl-C stops both.",
        host,
        port,
        worker.pid,
        app.config["PUBLIC_BASE_URL"],
    )
    try:
        run_simple(
            host,
            port,
            app,
            threaded=True,
            use_reloader=False,
            use_debugger=os.environ.get("FLASK_DEBUG") == "1",
        )
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        stop_worker(worker)
        log.info("Stopped.")


if __name__ == "__main__":
    main()
