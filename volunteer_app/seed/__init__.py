"""`flask seed demo`: a whole demo city, so every page is alive on the first run."""

import click
from flask import Flask
from flask.cli import AppGroup

seed_cli = AppGroup("seed", help="Load demo data.")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_cli)


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has data.")
def demo(if_empty: bool) -> None:
    """Load the demo city."""


@seed_cli.command("logins")
def logins() -> None:
    """Print the demo logins."""
