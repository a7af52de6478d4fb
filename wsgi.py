"""The WSGI entry point: `gunicorn wsgi:app` in production, `FLASK_APP=wsgi:app` for the CLI."""

from volunteer_app import create_app

app = create_app()
