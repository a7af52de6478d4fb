"""The gateway against the fake Twilio API, with the real twilio Client doing the HTTP."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from twilio.request_validator import RequestValidator

from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, HANG, TIMEOUT
from volunteer_app.sms import gateway as gateway_module
from volunteer_app.sms.gateway import (
    ConsoleGateway,
    SendError,
    get_gateway,
    is_valid_signature,
    retry_after_seconds,
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


def test_a_hanging_api_times_out_as_unknown_and_is_posted_once(twilio_app, app_config, fake_twilio):
    """A timeout is no proof the text was not sent: the error says to look it up."""
    app_config(TWILIO_HTTP_TIMEOUT=TIMEOUT)
    fake_twilio.hang(HANG)
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.unknown is True and caught.value.transient is False
    assert caught.value.code is None
    fake_twilio.wait_idle()  # the fake creates the message once it stops hanging
    assert len(fake_twilio.posts) == 1
    assert len(fake_twilio.sent_to(TO)) == 1


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


def test_a_refused_connection_is_transient_not_unknown(twilio_app, app_config):
    """Nothing listens: the request never left, so sending again is safe."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    app_config(TWILIO_API_BASE=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.transient is True and caught.value.unknown is False


def test_throttling_carries_twilios_retry_after(twilio_app, fake_twilio):
    fake_twilio.fail(429, 20429, retry_after="7")
    with pytest.raises(SendError) as caught:
        get_gateway().send(to=TO, body="Hi", status_callback=None)
    assert caught.value.retry_after == 7 and caught.value.transient is True


def test_retry_after_is_read_as_seconds_or_as_a_date_against_the_answers_date():
    assert retry_after_seconds({"Retry-After": "120"}) == 120
    answered = {"Date": "Wed, 21 Oct 2026 07:26:00 GMT"}
    assert retry_after_seconds({**answered, "Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) == 120
    assert retry_after_seconds({**answered, "Retry-After": "Wed, 21 Oct 2026 07:00:00 GMT"}) == 0
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None


NOON = dt.datetime(2026, 6, 1, 16, 0, tzinfo=dt.UTC)


def _send_at(fake_twilio, at: dt.datetime, to: str, body: str) -> str:
    fake_twilio.clock = lambda: at
    return get_gateway().send(to=to, body=body, status_callback=None)


def test_find_sent_reads_the_messages_list_by_recipient_day_and_body(
    twilio_app, fake_twilio, monkeypatch
):
    monkeypatch.setattr(gateway_module, "LOOKUP_PAGE_SIZE", 1)  # so the client pages
    yesterday = _send_at(fake_twilio, NOON - dt.timedelta(days=1), TO, "Reminder")
    earlier = _send_at(fake_twilio, NOON - dt.timedelta(hours=1), TO, "Reminder")
    first = _send_at(fake_twilio, NOON, TO, "Reminder")
    _send_at(fake_twilio, NOON, TO, "Another text")
    _send_at(fake_twilio, NOON, "+15558675311", "Reminder")
    second = _send_at(fake_twilio, NOON + dt.timedelta(seconds=5), TO, "Reminder")

    found = get_gateway().find_sent(to=TO, body="Reminder", since=NOON - dt.timedelta(minutes=5))

    assert found == [first, second]
    assert yesterday not in found and earlier not in found
    # One page per text to TO on the day (the fake filters DateSent by whole GMT days).
    assert [lookup.query.get("Page", "0") for lookup in fake_twilio.lookups] == ["0", "1", "2", "3"]
    assert {
        (lookup.query["To"], lookup.query["From"], lookup.query["DateSent>"])
        for lookup in fake_twilio.lookups
    } == {(TO, FROM_NUMBER, "2026-06-01T00:00:00Z")}


def test_find_sent_through_a_messaging_service_matches_the_service(
    twilio_app, app_config, fake_twilio
):
    service = "MG" + "b" * 32
    app_config(TWILIO_MESSAGING_SERVICE_SID=service)
    sid = _send_at(fake_twilio, NOON, TO, "Reminder")

    assert get_gateway().find_sent(to=TO, body="Reminder", since=NOON) == [sid]
    [lookup] = fake_twilio.lookups
    assert "From" not in lookup.query


def test_a_lookup_twilio_cannot_answer_raises(twilio_app, fake_twilio):
    fake_twilio.fail(500, on="list")
    with pytest.raises(SendError, match="looking the text up failed"):
        get_gateway().find_sent(to=TO, body="Reminder", since=NOON)


def test_the_console_backend_cannot_look_texts_up(app):
    with pytest.raises(SendError):
        ConsoleGateway().find_sent(to=TO, body="Hi", since=NOON)
