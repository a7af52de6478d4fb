"""POST /sms/status: Twilio's delivery reports, late, repeated and out of order."""

from __future__ import annotations

import collections
import itertools

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from tests.sms.fake_twilio import AUTH_TOKEN
from volunteer_app.core.db import utcnow
from volunteer_app.sms import claiming, worker
from volunteer_app.sms.models import Direction, Message, MessageStatus

PUBLIC = "https://volunteer.example.org"
_sids = itertools.count(1)


@pytest.fixture
def signed_app(app, app_config):
    app_config(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC)
    return app


@pytest.fixture
def report(client):
    """Post a signed status callback: `report(sid, "delivered", error_code="30003")`."""

    def post(
        sid: str,
        status: str,
        error_code: str | None = None,
        *,
        sign: bool = True,
        message_id: int | None = None,
    ):
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": "AC" + "0" * 32,
        }
        if error_code:
            params["ErrorCode"] = error_code
        path = "/sms/status" if message_id is None else f"/sms/status?message={message_id}"
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC + path, params
            )
        return client.post(path, data=params, headers=headers)

    return post


@pytest.fixture
def sent_text(db, texter):
    """An outbound text the worker handed to Twilio."""

    def make(status: MessageStatus = MessageStatus.SENT, user=None) -> Message:
        user = user or texter()
        now = utcnow()
        message = Message(
            direction=Direction.OUTBOUND,
            status=status,
            idempotency_key=f"test:{next(_sids)}",
            twilio_sid=f"SMstatus{next(_sids):024d}",
            user_id=user.id,
            to_phone=user.phone,
            body="Reminder: tree planting tomorrow at 9.",
            kind="reminder",
            sent_at=now if status == MessageStatus.SENT else None,
            status_history=[{"status": str(status), "at": now.isoformat()}],
        )
        db.session.add(message)
        db.session.commit()
        return message

    return make


def current(db, message: Message) -> Message:
    db.session.expire_all()
    return db.session.get(Message, message.id)


def test_status_moves_forward(signed_app, db, report, sent_text):
    message = sent_text(MessageStatus.SENDING)
    for status in ("queued", "sending", "sent", "delivered"):
        assert report(message.twilio_sid, status).status_code == 200
    message = current(db, message)
    assert message.status == MessageStatus.DELIVERED
    assert message.sent_at is not None
    assert [entry["status"] for entry in message.status_history[1:]] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    # The reports that changed nothing are kept, marked ignored.
    assert [entry.get("ignored", False) for entry in message.status_history[1:]] == [
        True,
        True,
        False,
        False,
    ]


def test_a_late_earlier_report_never_overwrites_a_final_state(signed_app, db, report, sent_text):
    message = sent_text()
    report(message.twilio_sid, "delivered")
    report(message.twilio_sid, "sent")
    report(message.twilio_sid, "sending")
    assert current(db, message).status == MessageStatus.DELIVERED


def test_the_first_final_state_stands(signed_app, db, report, sent_text):
    message = sent_text()
    report(message.twilio_sid, "undelivered", "30003")
    report(message.twilio_sid, "delivered")
    message = current(db, message)
    assert message.status == MessageStatus.UNDELIVERED
    assert message.error_code == "30003"


def test_failure_records_the_error_code(signed_app, db, report, sent_text):
    message = sent_text()
    report(message.twilio_sid, "failed", "30008")
    message = current(db, message)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "30008")
    assert message.status_history[-1]["error_code"] == "30008"


def test_21610_marks_the_person_opted_out(signed_app, db, report, sent_text, texter):
    person = texter()
    message = sent_text(user=person)
    report(message.twilio_sid, "undelivered", "21610")
    db.session.expire_all()
    assert person.sms_opted_out_at is not None
    assert not person.can_text


def test_a_report_on_a_text_left_for_review_resolves_it(signed_app, db, report, sent_text):
    message = sent_text(MessageStatus.REVIEW)
    report(message.twilio_sid, "delivered")
    assert current(db, message).status == MessageStatus.DELIVERED


def test_an_unknown_sid_is_acknowledged_and_ignored(signed_app, db, report, sent_text):
    message = sent_text()
    response = report("SMnever" + "0" * 27, "delivered")
    assert response.status_code == 200
    assert current(db, message).status == MessageStatus.SENT


@pytest.mark.parametrize("forgery", ["unsigned", "wrong_sid_signed"])
def test_forged_reports_are_refused(signed_app, client, db, report, sent_text, forgery):
    message = sent_text()
    if forgery == "unsigned":
        response = report(message.twilio_sid, "failed", "30008", sign=False)
    else:
        params = {"MessageSid": message.twilio_sid, "MessageStatus": "failed"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(
            PUBLIC + "/sms/status", {**params, "MessageSid": "SMother"}
        )
        response = client.post(
            "/sms/status", data=params, headers={"X-Twilio-Signature": signature}
        )
    assert response.status_code == 403
    message = current(db, message)
    assert message.status == MessageStatus.SENT and len(message.status_history) == 1


def test_inbound_rows_are_not_touched_by_reports(signed_app, db, report):
    row = Message(
        direction=Direction.INBOUND,
        status=MessageStatus.RECEIVED,
        idempotency_key="inbound:SMin1",
        twilio_sid="SMin1",
        to_phone="+15005550006",
        from_phone="+12025550100",
        body="OK",
    )
    db.session.add(row)
    db.session.commit()
    report("SMin1", "delivered")
    db.session.expire_all()
    assert db.session.scalar(sa.select(Message.status).where(Message.id == row.id)) == (
        MessageStatus.RECEIVED
    )


def test_a_report_that_beats_the_worker_finds_its_text_by_the_callback_url(
    signed_app, db, report, sent_text
):
    """Twilio can report before the worker has stored the SID it was given: the callback URL
    names the text, which takes the SID from the report; the worker's own record, arriving
    after, changes nothing."""
    message = sent_text(MessageStatus.SENDING)
    message.twilio_sid = None
    db.session.commit()
    sid = "SMearly" + "0" * 27

    assert report(sid, "delivered", message_id=message.id).status_code == 200

    message = current(db, message)
    assert (message.status, message.twilio_sid) == (MessageStatus.DELIVERED, sid)
    assert message.sent_at is not None
    claimed = claiming.Claimed(message.id, message.to_phone, message.body, 1, None, [])
    worker.record_outcomes([(claimed, sid)], now=utcnow(), counts=collections.Counter())
    message = current(db, message)
    assert (message.status, message.twilio_sid) == (MessageStatus.DELIVERED, sid)


def test_a_report_naming_a_text_that_has_another_sid_is_ignored(signed_app, db, report, sent_text):
    message = sent_text()
    response = report("SMother" + "0" * 27, "failed", "30008", message_id=message.id)
    assert response.status_code == 200
    message = current(db, message)
    assert message.status == MessageStatus.SENT and message.error_code is None
    assert len(message.status_history) == 1


def test_the_message_named_in_the_url_is_covered_by_the_signature(
    signed_app, client, db, sent_text
):
    """Pointing a signed report at another text by editing the URL is a forgery."""
    message = sent_text(MessageStatus.SENDING)
    message.twilio_sid = None
    db.session.commit()
    params = {"MessageSid": "SMx" + "0" * 31, "MessageStatus": "failed"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC + "/sms/status?message=999999", params
    )
    response = client.post(
        f"/sms/status?message={message.id}",
        data=params,
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    assert current(db, message).status == MessageStatus.SENDING
