r"""How many requests a second the app's pages serve at city scale, next to a Flask hello world.

    .venv/bin/python benchmarks/http_load.py [--scale 1.0] [--postgres URL] [--load]
    .venv/bin/python benchmarks/http_load.py --database-url sqlite:////tmp/city.sqlite3 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/city
    make bench-http BENCH_ARGS="--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test"

Builds a city-scale database with the seeder (`flask seed city`'s build_city; a throwaway SQLite
file, and with --postgres a throwaway database on that server, dropped afterwards), or serves ones
already built (--database-url, e.g. by `flask seed city`). Serves it under gunicorn in production
configuration (APP_ENV=production: debug off, a random SECRET_KEY, the rate-limit counts in a
redis-server of its own) on 127.0.0.1 at a free port, and a Flask hello world
(benchmarks/hello_app.py) under the same gunicorn settings; logs in as demo users for the logged-in
pages (their session cookie is sent with wrk's -H); then runs `wrk -t2 -c16 -d8s --latency` against
each page and prints a markdown table of requests/s, p50, p99 and each page's share of hello
world's requests/s. --load keeps one core busy with a spinning process for the whole run.
Everything started is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import sqlalchemy as sa  # noqa: E402
from throwaway import throwaway_database  # noqa: E402 - benchmarks/throwaway.py

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Page:
    name: str
    path: str
    login: str | None = None  # whose session cookie to send


@dataclass
class Result:
    page: Page
    status: int
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: str = ""


# ---------------------------------------------------------------------------------------------
# The data


def build(database_url: str, scale: float) -> None:
    """Create the schema and load the city (in this process; the servers start afterwards)."""
    from config import DevelopmentConfig
    from volunteer_app import create_app
    from volunteer_app.core.time import utcnow
    from volunteer_app.extensions import db
    from volunteer_app.seed.city import analyze, build_city

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        summary = build_city(utcnow(), scale=scale)
        db.session.commit()
        analyze()
        elapsed = time.perf_counter() - started
        counts = ", ".join(f"{n:,} {what}" for what, n in summary.counts.items())
        print(f"Built the city (scale {scale:g}) in {elapsed:.1f} s: {counts}", flush=True)
        db.session.remove()
        db.engine.dispose()


def pages_of(database_url: str) -> list[Page]:
    """The pages to load, with ids read from the database: the busiest published initiative
    with shifts ahead, its fullest shift ahead, a coordinator of its organization."""
    from config import DevelopmentConfig
    from volunteer_app import create_app
    from volunteer_app.accounts.models import Membership, User
    from volunteer_app.core.time import utcnow
    from volunteer_app.extensions import db
    from volunteer_app.initiatives.models import Initiative, InitiativeStatus
    from volunteer_app.reference.models import Cause, Neighborhood
    from volunteer_app.seed import reference as ref
    from volunteer_app.shifts.models import Shift, ShiftStatus

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=database_url)
    with app.app_context():
        now = utcnow()
        shift = db.session.execute(
            sa.select(Shift.id, Initiative.slug, Initiative.organization_id)
            .join(Initiative)
            .where(
                Initiative.status == InitiativeStatus.PUBLISHED,
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.starts_at > now,
            )
            .order_by(Shift.spots_taken.desc(), Shift.starts_at)
            .limit(1)
        ).one()
        coordinator = db.session.scalar(
            sa.select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == shift.organization_id)
            .order_by(User.id)
            .limit(1)
        )
        cause = db.session.scalar(sa.select(Cause.slug).order_by(Cause.id).limit(1))
        hood = db.session.scalar(sa.select(Neighborhood.slug).order_by(Neighborhood.id).limit(1))
        db.session.remove()
        db.engine.dispose()
    volunteer = ref.VOLUNTEER_EMAIL
    slug = shift.slug
    return [
        Page("home", "/"),
        Page("initiatives", "/initiatives"),
        Page("initiatives, filtered", f"/initiatives?cause={cause}&neighborhood={hood}"),
        Page("initiative", f"/initiatives/{slug}"),
        Page("shift", f"/shifts/{shift.id}"),
        Page("impact", "/impact/"),
        Page("impact initiative", f"/impact/initiatives/{slug}"),
        Page("API shifts", "/api/v1/shifts"),
        Page("open data CSV", f"/impact/initiatives/{slug}/months.csv"),
        Page("my shifts (logged in)", "/me/shifts", volunteer),
        Page("recommendations (logged in)", "/me/recommendations", volunteer),
        Page(
            "coordinator roster (logged in)", f"/coordinate/shifts/{shift.id}/roster", coordinator
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def process(command: list[str], *, env: dict | None = None, cwd: Path = ROOT) -> Iterator:
    """A child in a process group of its own, stopped (the group: workers too) at the end."""
    child = subprocess.Popen(  # noqa: S603
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        stop(child)


def stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=5)


def wait_for_http(port: int, child: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {child.returncode}")
        try:
            status, _headers, _body = request(port, "GET", "/")
            if status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on {HOST}:{port} within {timeout:.0f} s")


def gunicorn(app: str, port: int, args, env: dict | None = None, pythonpath: Path = ROOT):
    command = [
        str(BIN / "gunicorn"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--pythonpath",
        str(pythonpath),
        "--log-level",
        "warning",
        "--timeout",
        "120",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    return process([*command, app], env=env)


# ---------------------------------------------------------------------------------------------
# HTTP


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: str = "",
    headers: dict | None = None,
    timeout: float = 60,
):
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        sent = {"Host": f"{HOST}:{port}", **(headers or {})}
        if body:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def cookies_of(headers, jar: dict[str, str]) -> dict[str, str]:
    for name, value in headers:
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, content = pair.partition("=")
            if content:
                jar[key.strip()] = content.strip()
            else:
                jar.pop(key.strip(), None)
    return jar


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def log_in(port: int, email: str, password: str) -> str:
    """Log in through the login page as a browser would; returns the Cookie header."""
    from urllib.parse import urlencode

    status, headers, page = request(port, "GET", "/login")
    jar = cookies_of(headers, {})
    token = CSRF_RE.search(page)
    if status != 200 or not token:
        raise RuntimeError(f"the login page answered {status} without a form")
    form = urlencode({"email": email, "password": password, "csrf_token": token[1]})
    status, headers, _ = request(
        port, "POST", "/login", body=form, headers={"Cookie": cookie_header(jar)}
    )
    if status not in (302, 303):
        raise RuntimeError(f"logging in as {email} answered {status}")
    return cookie_header(cookies_of(headers, jar))


# ---------------------------------------------------------------------------------------------
# wrk


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(port: int, path: str, args, cookie: str | None) -> tuple[float, float, float, str]:
    command = [
        "wrk",
        f"-t{args.threads_wrk}",
        f"-c{args.connections}",
        f"-d{args.duration}",
        "--timeout",
        "10s",  # wrk's 2 s would cut the slowest pages' tail off the percentiles
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(  # noqa: S603
        [*command, f"http://{HOST}:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])

    def percentile(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        return float(match[1]) * UNITS[match[2]] if match else float("nan")

    problems = []
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        problems.append(f"{match[1]} non-2xx/3xx")
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        kinds = ("connect", "read", "write", "timeout")
        problems += [
            f"{n} {kind} errors" for kind, n in zip(kinds, match.groups(), strict=True) if n != "0"
        ]
    return rate, percentile("50"), percentile("99"), "; ".join(problems)


def measure(port: int, page: Page, args, cookie: str | None) -> Result:
    headers = {"Cookie": cookie} if cookie else None
    # A warm-up and a check. It waits behind whatever the last run left queued (wrk stops
    # waiting for answers, the workers do not stop answering), so each page starts idle.
    status, _, _ = request(port, "GET", page.path, headers=headers, timeout=600)
    result = Result(page, status)
    if status != 200:
        result.errors = f"answered {status}"
        return result
    rate, p50, p99, problems = wrk(port, page.path, args, cookie)
    result.requests_per_second, result.p50_ms, result.p99_ms = rate, p50, p99
    result.errors = problems
    return result


def table(backend: str, hello: Result, results: list[Result], args) -> str:
    lines = [
        f"### {backend}: gunicorn {args.workers} workers ({args.worker_class}), "
        f"wrk -t{args.threads_wrk} -c{args.connections} -d{args.duration}"
        + (", one core kept busy" if args.load else ""),
        "",
        "| page | path | requests/s | p50 | p99 | share of hello world |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for result in [hello, *results]:
        page = result.page
        if result.status != 200:
            lines.append(f"| {page.name} | `{page.path}` | {result.errors} | | | |")
            continue
        share = result.requests_per_second / hello.requests_per_second * 100
        note = f" ({result.errors})" if result.errors else ""
        if not result.requests_per_second:
            note += f" (no request finished within {args.duration})"
        lines.append(
            f"| {page.name} | `{page.path}` | {_rate(result.requests_per_second)}{note} | "
            f"{result.p50_ms:.1f} ms | {result.p99_ms:.1f} ms | {share:.1f}% |"
        )
    return "\n".join(lines)


def _rate(requests_per_second: float) -> str:
    """Whole requests a second, with a decimal below ten (0.2 is not 0)."""
    return (
        f"{requests_per_second:,.1f}" if requests_per_second < 10 else f"{requests_per_second:,.0f}"
    )


# ---------------------------------------------------------------------------------------------


def run_backend(database_url: str, args, redis_url: str) -> str:
    from volunteer_app.seed import reference as ref

    backend = sa.engine.make_url(database_url).get_backend_name()
    pages = pages_of(database_url)
    hello_port, app_port = free_port(), free_port()
    env = {
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "PUBLIC_BASE_URL": f"http://{HOST}:{app_port}",
        "RATELIMIT_STORAGE_URI": redis_url,
        "FLASK_DEBUG": "0",
    }
    with (
        gunicorn("hello_app:app", hello_port, args, pythonpath=HERE) as hello_server,
        gunicorn("wsgi:app", app_port, args, env=env) as app_server,
    ):
        wait_for_http(hello_port, hello_server)
        wait_for_http(app_port, app_server)
        hello = measure(hello_port, Page("Flask hello world", "/"), args, None)
        cookies = {
            email: log_in(app_port, email, ref.DEMO_PASSWORD)
            for email in {page.login for page in pages if page.login}
        }
        results = []
        for page in pages:
            print(f"  {page.name} ({page.path})...", flush=True)
            result = measure(app_port, page, args, cookies.get(page.login))
            print(
                f"  {page.name}: {result.requests_per_second:,.0f} req/s, "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms {result.errors}",
                flush=True,
            )
            results.append(result)
    return table(backend, hello, results, args)


@contextlib.contextmanager
def databases(args) -> Iterator[list[str]]:
    """The databases to serve: the one given, or throwaway ones built here."""
    with contextlib.ExitStack() as stack:
        urls = list(args.database_url or [])
        if not urls:
            url = stack.enter_context(throwaway_database(None, "http_load"))
            build(url, args.scale)
            urls.append(url)
        if args.postgres:
            url = stack.enter_context(throwaway_database(args.postgres, "http_load"))
            build(url, args.scale)
            urls.append(url)
        yield urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the full city")
    parser.add_argument(
        "--database-url",
        action="append",
        help="serve this already seeded database instead of building one (may be repeated)",
    )
    parser.add_argument("--postgres", help="also on a throwaway database on this PostgreSQL server")
    parser.add_argument("--duration", default="8s", help="wrk -d")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--threads-wrk", type=int, default=2, help="wrk -t")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads (gthread)")
    parser.add_argument("--load", action="store_true", help="keep one core busy meanwhile")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is not installed (make bench-http installs wrk)")

    tables = []
    with contextlib.ExitStack() as stack:
        redis_port = free_port()
        redis = stack.enter_context(
            process(
                [
                    "redis-server",
                    "--bind",
                    HOST,
                    "--port",
                    str(redis_port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]
            )
        )
        urls = stack.enter_context(databases(args))
        if args.load:
            stack.enter_context(process([sys.executable, "-c", "while True: pass"]))
        if redis.poll() is not None:
            raise RuntimeError("redis-server did not start")
        for url in urls:
            print(f"Serving {sa.engine.make_url(url).get_backend_name()}...", flush=True)
            tables.append(run_backend(url, args, f"redis://{HOST}:{redis_port}/0"))
    print()
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
