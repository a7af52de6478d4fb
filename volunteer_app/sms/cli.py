"""`flask sms ...`: the outbox worker."""

from flask import Flask
from flask.cli import AppGroup

sms_cli = AppGroup("sms", help="Send queued text messages.")


def init_app(app: Flask) -> None:
    app.cli.add_command(sms_cli)
