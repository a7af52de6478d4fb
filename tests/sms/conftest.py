"""SMS fixtures: a fake Twilio API on 127.0.0.1 and an app configured to send through it."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.factories import make_user
from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from volunteer_app.accounts.models import User
from volunteer_app.extensions import db as _db
from volunteer_app.sms.models import Direction, Message

_MISSING = object()


@pytest.fixture(scope="session")
def _fake_twilio_server():
    fake = FakeTwilio().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_twilio(_fake_twilio_server):
    """The fake Twilio, with no POSTs recorded and no failures planned."""
    _fake_twilio_server.reset()
    yield _fake_twilio_server
    _fake_twilio_server.reset()


@pytest.fixture
def app_config(app):
    """Set app.config keys for one test: `app_config(SMS_MAX_ATTEMPTS=2)`; restored after."""
    saved: dict[str, object] = {}

    def set_config(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key, _MISSING))
            app.config[key] = value

    yield set_config
    for key, value in saved.items():
        if value is _MISSING:
            app.config.pop(key, None)
        else:
            app.config[key] = value


@pytest.fixture
def twilio_app(app, app_config, fake_twilio):
    """The app sending through the real twilio Client to the fake Twilio."""
    app_config(
        SMS_BACKEND="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_MESSAGING_SERVICE_SID="",
        TWILIO_API_BASE=fake_twilio.base_url,
        TWILIO_HTTP_TIMEOUT=5,
        PUBLIC_BASE_URL="https://volunteer.example.org",
    )
    return app


CONSENT_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_phones = itertools.count(1)


def new_phone() -> str:
    return f"+1202555{next(_phones) % 10000:04d}"


@pytest.fixture
def texter(db):
    """Make a person who agreed to texts: `texter()`, `texter(preferred_language="es")`."""

    def make(**kw) -> User:
        kw.setdefault("phone", new_phone())
        kw.setdefault("consent_at", CONSENT_AT)
        return make_user(**kw)

    return make


@pytest.fixture
def tick(runner, db):
    """Run `flask sms tick --now <instant>` after committing the test's rows; returns output."""

    def run(now: dt.datetime) -> str:
        db.session.commit()
        result = runner.invoke(args=["sms", "tick", "--now", now.isoformat()])
        assert result.exit_code == 0, result.output + repr(result.exception)
        db.session.expire_all()
        return result.output

    return run


def messages(**filters) -> list[Message]:
    """Outbound messages, oldest first, e.g. `messages(kind="reminder")`."""
    query = sa.select(Message).where(Message.direction == Direction.OUTBOUND)
    for name, value in filters.items():
        query = query.where(getattr(Message, name) == value)
    return list(_db.session.scalars(query.order_by(Message.id)))


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 by a threaded server: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=10)
