"""`flask seed demo`: a whole demo city, so every page is alive on the first run;
`flask seed city`: the demo city grown to a city's size (seed/city/);
`flask seed logins`: who to log in as.

The city itself is built in seed/demo.py from the data in seed/reference.py and seed/plans.py.
"""

from __future__ import annotations

import os
import time

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from volunteer_app.accounts.models import Organization, User
from volunteer_app.core.db import utcnow
from volunteer_app.extensions import db
from volunteer_app.seed import reference as ref

seed_cli = AppGroup("seed", help="Load demo data.")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_cli)


def database_has_data() -> bool:
    """Whether anyone has put organizations or people in this database (demo or real)."""
    return any(
        db.session.scalar(sa.select(sa.exists().where(column.is_not(None))))
        for column in (Organization.id, User.id)
    )


def delete_all_rows() -> None:
    """Empty every table of the schema (not Alembic's version table), children first."""
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has data.")
@click.option("--reset", is_flag=True, help="Delete every row first, then load the demo city.")
def demo(if_empty: bool, reset: bool) -> None:
    """Load the demo city: departments, partners, people, initiatives, months of shifts."""
    from volunteer_app.seed.demo import build_demo_city

    if if_empty and reset:
        raise click.UsageError("Choose either --if-empty or --reset, not both.")
    if reset and os.environ.get("APP_ENV") == "production":
        raise click.ClickException("Refusing to delete every row of a production database.")
    if database_has_data():
        if if_empty:
            click.echo("The database already has data; the demo city was not loaded.")
            return
        if not reset:
            raise click.ClickException(
                "The database already has data, so the demo city was not loaded. "
                "Use --reset to delete every row and load it anyway, "
                "or --if-empty to skip quietly."
            )
        delete_all_rows()

    started = time.perf_counter()
    summary = build_demo_city(utcnow())
    db.session.commit()
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{count} {what}" for what, count in summary.counts.items())
    click.echo(f"Loaded the demo city in {elapsed:.1f} s: {counts}.")


def _make_room(reset: bool, what: str) -> None:
    """Refuse a database that has data, unless --reset (never in production) empties it."""
    if reset and os.environ.get("APP_ENV") == "production":
        raise click.ClickException("Refusing to delete every row of a production database.")
    if database_has_data():
        if not reset:
            raise click.ClickException(
                f"The database already has data, so {what} was not loaded. "
                "Use --reset to delete every row and load it anyway."
            )
        delete_all_rows()


@seed_cli.command("city")
@click.option(
    "--scale",
    type=click.FloatRange(0, 4, min_open=True),
    default=1.0,
    show_default=True,
    help="1.0: about 50,000 volunteers, 20,000 shifts, 200,000 signups.",
)
@click.option("--reset", is_flag=True, help="Delete every row first, then load the city.")
def city(scale: float, reset: bool) -> None:
    """Load a city-scale data set: the demo city and its logins, grown to a city's size."""
    from volunteer_app.seed.city import analyze, build_city

    _make_room(reset, "the city")
    started = time.perf_counter()
    summary = build_city(utcnow(), scale=scale)
    db.session.commit()
    built = time.perf_counter() - started
    command = analyze()
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{count:,} {what}" for what, count in summary.counts.items())
    click.echo(
        f"Loaded the city (scale {scale:g}) in {elapsed:.1f} s "
        f"({built:.1f} s to write, then {command}): {counts}."
    )


@seed_cli.command("logins")
def logins() -> None:
    """Print the demo logins and where to open the app."""
    people = [("admin", ref.ADMIN_EMAIL, "program office")]
    people += [("coordinator", org.coordinator_email, org.name) for org in ref.ORGANIZATIONS]
    people += [
        ("volunteer", ref.VOLUNTEER_EMAIL, "Jordan Lee, reads the site in English"),
        ("volunteer", ref.SPANISH_VOLUNTEER_EMAIL, "María González, lee el sitio en español"),
    ]
    existing = set(
        db.session.scalars(sa.select(User.email).where(User.email.in_([p[1] for p in people])))
    )
    port = os.environ.get("PORT", "5000")
    click.echo("")
    click.echo(f"Demo logins (every password: {ref.DEMO_PASSWORD})")
    for role, email, about in people:
        missing = "" if email in existing else "  (not in this database: run flask seed demo)"
        click.echo(f"  {role:<12} {email:<28} {about}{missing}")
    click.echo(f"Open http://127.0.0.1:{port}")
    click.echo("")
