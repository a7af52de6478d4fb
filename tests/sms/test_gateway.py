"""The gateway against the fake Twilio API, with the real twilio Client doing the HTTP."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER
from volunteer_app.sms.gateway import (
    ConsoleGateway,
    SendError,
    get_gateway,
    is_valid_signature,
    twiml_message,
)

TO = "+15558675310"


def test_twilio_send_posts_to_the_messages_api(twilio_app, fake_twilio):
    sid = get_gateway().send(
        to=TO,
        body="Hello from the city",
        status_callback="https://volunteer.example.org/sms/status",
    )

    [post] = fake_twilio.posts
    assert post.sid == sid and sid.startswith("SM")
    assert post.account_sid == ACCOUNT_SID and post.auth_user == ACCOUNT_SID
    assert post.form["To"] == TO
    assert post.form["From"] == FROM_NUMBER
    assert post.form["Body"] == "Hello from the city"
    assert post.form["StatusCallback"] == "https://volunteer.example.org/sms/status"
    assert "MessagingServiceSid" not in post.form


def test_messaging_service_replaces_the_from_number(twilio_app, app_config, fake_twilio):
    app_config(TWILIO_MESSAGING_SERVICE_SID="MG" + "a" * 32)
    get_gateway().send(to=TO, body="Hi", status_callback=None)

    [post] = fake_twilio.posts
    assert post.form["MessagingServiceSid"] == "MG" + "a" * 32
    assert "From" not in post.form and "StatusCallback" not in post.form


@pytest.mark.parametrize(
    ("status", "code", "transient", "expected_code"),
    [
        (400, 21610, False, "21610"),
        (400, 21211, False, "21211"),
        (400, 21614, False, "21614"),
        (429, 20429, True, "20429"),
        (500, None, True, None),
        (503, None, True, None),
    ],
)
def test_errors_say_whether_to_retry(
    twilio_app, fake_twilio, status, code, transient, expected_code
):
    fake_twilio.fail(status, code)
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.transient is transient
    assert caught.value.code == expected_code
    assert caught.value.http_status == status
    assert len(fake_twilio.posts) == 1  # the client never retried a POST by itself


def test_wrong_credentials_are_not_retried(twilio_app, app_config, fake_twilio):
    app_config(TWILIO_AUTH_TOKEN="wrong")
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.transient is False and caught.value.code == "20003"


def test_a_hanging_api_times_out_as_transient_and_is_posted_once(
    twilio_app, app_config, fake_twilio
):
    app_config(TWILIO_HTTP_TIMEOUT=0.2)
    fake_twilio.hang(0.6)
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.transient is True and caught.value.code is None
    fake_twilio.wait_idle()  # the fake records the POST once it stops hanging
    assert len(fake_twilio.posts) == 1


def test_region_and_edge_in_the_environment_do_not_move_the_host(
    twilio_app, fake_twilio, monkeypatch
):
    monkeypatch.setenv("TWILIO_REGION", "au1")
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    sid = get_gateway().send(to=TO, body="Still local", status_callback=None)
    assert [post.sid for post in fake_twilio.posts] == [sid]


def test_console_backend_returns_a_fake_sid_and_posts_nothing(app, fake_twilio):
    gateway = get_gateway()
    assert isinstance(gateway, ConsoleGateway)
    first = gateway.send(to=TO, body="Hi", status_callback=None)
    second = gateway.send(to=TO, body="Hi", status_callback=None)
    assert first.startswith("SMconsole") and first != second
    assert fake_twilio.posts == []


def test_twilio_backend_without_credentials_refuses_to_start(app, app_config):
    app_config(SMS_BACKEND="twilio", TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
        get_gateway()


def test_signature_is_checked_against_the_auth_token(app, app_config):
    app_config(TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    url = "https://volunteer.example.org/sms/inbound"
    params = {"From": TO, "Body": "OK", "MessageSid": "SM123"}
    good = RequestValidator(AUTH_TOKEN).compute_signature(url, params)

    assert is_valid_signature(url, params, good)
    assert not is_valid_signature(url, {**params, "Body": "DROP"}, good)
    assert not is_valid_signature("https://elsewhere.example/sms/inbound", params, good)
    assert not is_valid_signature(url, params, None)


def test_without_an_auth_token_no_signature_is_valid(app, app_config):
    app_config(TWILIO_AUTH_TOKEN="")
    url = "https://volunteer.example.org/sms/inbound"
    assert not is_valid_signature(url, {}, RequestValidator("").compute_signature(url, {}))


def test_twiml_escapes_the_reply():
    assert twiml_message("Tom & Jerry <3") == (
        "<Response><Message>Tom &amp; Jerry &lt;3</Message></Response>"
    )
    assert twiml_message(None) == "<Response/>"
