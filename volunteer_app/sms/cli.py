"""`flask sms ...`: the outbox worker, as one pass (`tick`) or for ever (`worker`)."""

from __future__ import annotations

import datetime as dt

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from volunteer_app.core.time import from_local
from volunteer_app.sms.worker import Worker, run_pass

sms_cli = AppGroup("sms", help="Send queued text messages.")


def init_app(app: Flask) -> None:
    app.cli.add_command(sms_cli)


def parse_now(raw: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is read in PROGRAM_TIMEZONE, as people mean."""
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise click.BadParameter(f"{raw!r} is not an ISO 8601 date and time") from exc
    if parsed.tzinfo is None:
        return from_local(parsed, current_app.config["PROGRAM_TIMEZONE"])
    return parsed.astimezone(dt.UTC)


@sms_cli.command("tick")
@click.option(
    "--now", "now_raw", help="Pretend it is this instant (ISO 8601), e.g. 2026-06-01T09:00Z."
)
def tick(now_raw: str | None) -> None:
    """One pass: schedule due reminders and after-shift texts, send what is due."""
    now = parse_now(now_raw) if now_raw else None
    report = run_pass(now)
    click.echo(f"sms tick{' at ' + now.isoformat() if now else ''}: {report}")


@sms_cli.command("worker")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
def worker(interval: float) -> None:
    """Pass after pass until stopped; SIGTERM or Ctrl-C finishes the current batch first."""
    try:
        running = Worker()
    except RuntimeError as exc:  # the twilio backend without its settings
        raise click.ClickException(str(exc)) from exc
    click.echo(f"sms worker: backend {current_app.config['SMS_BACKEND']}, every {interval} s")
    with running:
        running.run_forever(interval=interval)
    click.echo("sms worker: stopped")
