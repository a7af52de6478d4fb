"""SMS fixtures: a fake Twilio API on 127.0.0.1 and an app configured to send through it."""

from __future__ import annotations

import pytest

from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

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
