"""`flask users ...` commands."""

import click
from flask import Flask
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage user accounts.")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", default="Administrator")
@click.password_option()
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (or make an existing account an admin)."""
    raise click.ClickException("not yet")
