"""`flask users ...`: make admins and coordinators from the command line."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from flask_babel import gettext as _

from volunteer_app.accounts import services
from volunteer_app.core.errors import DomainError
from volunteer_app.core.time import utcnow
from volunteer_app.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", default="Administrator")
@click.password_option(help="For a new account; an existing account keeps its password.")
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (or make an existing account an admin)."""
    try:
        user, created = services.create_admin(email, name, password, now=utcnow())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    if created:
        click.echo(_("Created admin %(email)s.", email=user.email))
    else:
        click.echo(_("%(email)s is now an admin; their password is unchanged.", email=user.email))


@users_cli.command("create-coordinator")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--organization", "organization_slug", required=True, help="Organization slug.")
@click.password_option(help="For a new account; an existing account keeps its password.")
def create_coordinator(email: str, name: str, organization_slug: str, password: str) -> None:
    """Create a coordinator of an organization (or add an existing account to it)."""
    try:
        user, created = services.create_coordinator(
            email, name, password, organization_slug, now=utcnow()
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    slug = organization_slug
    if created:
        click.echo(_("Created coordinator %(email)s for %(slug)s.", email=user.email, slug=slug))
    else:
        click.echo(_("%(email)s now coordinates for %(slug)s.", email=user.email, slug=slug))
