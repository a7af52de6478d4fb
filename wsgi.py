"""The WSGI entry point: `gunicorn wsgi:app` in production, `FLASK_APP=wsgi:app` for the CLI."""

import gc

from volunteer_app import create_app

app = create_app()

# Everything built at start-up lives as long as the process: move it out of the collector's
# way, so full collections (60-85 ms at city scale) do not land on requests.
gc.freeze()
