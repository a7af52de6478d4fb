"""POST /sms/inbound as Twilio calls it: signed, retried, sometimes twice at once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from tests.factories import make_initiative, make_shift
from tests.sms.conftest import new_phone
from tests.sms.fake_twilio import AUTH_TOKEN, FROM_NUMBER
from volunteer_app.accounts.models import User
from volunteer_app.core.db import utcnow
from volunteer_app.shifts.models import Shift, Signup, SignupStatus
from volunteer_app.sms import views as sms_views
from volunteer_app.sms.inbound import lost_race
from volunteer_app.sms.models import Direction, Message

PUBLIC = "https://volunteer.example.org"
_sids = itertools.count(1)


@pytest.fixture
def signed_app(app, app_config):
    """Twilio signs with our auth token over our public address (we sit behind a proxy)."""
    app_config(TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC)
    return app


def twilio_params(from_phone: str, body: str, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": from_phone,
        "To": FROM_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def post_inbound(client, params, *, path="/sms/inbound", token=AUTH_TOKEN, url=None, sig=None):
    signature = (
        sig
        if sig is not None
        else RequestValidator(token).compute_signature(url or PUBLIC + path, params)
    )
    headers = {"X-Twilio-Signature": signature} if signature != "" else {}
    return client.post(path, data=params, headers=headers)


def inbound_count(db) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Message.id)).where(Message.direction == Direction.INBOUND)
    )


@pytest.fixture
def shift(db):
    shift = make_shift(
        make_initiative(title="Tree planting"), starts_at=utcnow() + dt.timedelta(days=3)
    )
    db.session.commit()
    return shift


def test_a_signed_text_is_answered_with_twiml_and_recorded(signed_app, client, db, shift):
    phone = new_phone()
    response = post_inbound(client, twilio_params(phone, f"JOIN {shift.code}"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    body = response.get_data(as_text=True)
    assert body.startswith("<Response><Message>") and shift.code in body
    row = db.session.scalar(sa.select(Message).where(Message.direction == Direction.INBOUND))
    assert row.from_phone == phone and row.to_phone == FROM_NUMBER
    assert row.body == f"JOIN {shift.code}" and row.kind == "in:join"
    assert db.session.scalar(sa.select(User).where(User.phone == phone)) is not None


@pytest.mark.parametrize(
    "forgery",
    ["missing", "wrong_token", "wrong_url", "tampered_body", "garbage"],
)
def test_a_forged_or_missing_signature_is_refused_and_nothing_recorded(
    signed_app, client, db, shift, forgery
):
    params = twilio_params(new_phone(), f"JOIN {shift.code}")
    kwargs = {}
    if forgery == "missing":
        kwargs["sig"] = ""
    elif forgery == "wrong_token":
        kwargs["token"] = "not-our-token"
    elif forgery == "wrong_url":
        kwargs["url"] = "http://localhost/sms/inbound"  # what the proxy-less app would see
    elif forgery == "garbage":
        kwargs["sig"] = "bm90IGEgc2lnbmF0dXJl"
    signature = RequestValidator(kwargs.get("token", AUTH_TOKEN)).compute_signature(
        kwargs.get("url", PUBLIC + "/sms/inbound"), params
    )
    if forgery == "tampered_body":
        params = {**params, "Body": "DROP"}
    response = post_inbound(client, params, sig=kwargs.get("sig", signature))
    assert response.status_code == 403
    assert inbound_count(db) == 0
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_without_an_auth_token_nothing_is_accepted(app, app_config, client, db):
    app_config(TWILIO_AUTH_TOKEN="", PUBLIC_BASE_URL=PUBLIC)
    params = twilio_params(new_phone(), "HELP")
    response = post_inbound(client, params, token="")
    assert response.status_code == 403
    assert inbound_count(db) == 0


def test_the_query_string_is_part_of_what_is_signed(signed_app, client, db):
    params = twilio_params(new_phone(), "HELP")
    ok = post_inbound(client, params, path="/sms/inbound?source=primary")
    assert ok.status_code == 200
    unsigned_query = client.post(
        "/sms/inbound?source=other",
        data=params,
        headers={
            "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC + "/sms/inbound?source=primary", params
            )
        },
    )
    assert unsigned_query.status_code == 403
    assert inbound_count(db) == 1


def test_a_retried_webhook_acts_once_and_gets_the_same_reply(signed_app, client, db, shift):
    params = twilio_params(new_phone(), f"join {shift.code}")
    first = post_inbound(client, params)
    second = post_inbound(client, params)
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data()
    assert inbound_count(db) == 1
    assert db.session.scalar(sa.select(sa.func.count(Signup.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_the_same_message_sid_posted_at_once_acts_once(signed_app, db, shift):
    """Twilio retrying while the first delivery is still being handled: one action."""
    rounds, threads_per_round = 4, 4
    for _ in range(rounds):
        phone = new_phone()
        params = twilio_params(phone, f"JOIN {shift.code}")
        # Reading shift.code began a transaction; on SQLite that holds the write lock.
        db.session.rollback()
        barrier = threading.Barrier(threads_per_round)
        results: list[tuple[int, bytes]] = []
        errors: list[BaseException] = []

        def post(params=params, barrier=barrier, results=results, errors=errors):
            try:
                client = signed_app.test_client()
                barrier.wait(timeout=10)
                response = post_inbound(client, params)
                results.append((response.status_code, response.get_data()))
            except BaseException as exc:  # surfaced below, in the test's thread
                errors.append(exc)

        workers = [threading.Thread(target=post) for _ in range(threads_per_round)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert not errors, errors
        assert len(results) == threads_per_round
        assert {status for status, _ in results} == {200}
        assert len({body for _, body in results}) == 1, results
        assert b"re in: Tree planting" in results[0][1]

        db.session.expire_all()
        people = db.session.scalars(sa.select(User).where(User.phone == phone)).all()
        assert len(people) == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Signup.id)).where(Signup.user_id == people[0].id)
            )
            == 1
        )
        db.session.rollback()  # let go of SQLite's write lock before the next round
    assert inbound_count(db) == rounds


def test_stop_answers_with_an_empty_response_and_opts_out(signed_app, client, db):
    phone = new_phone()
    person = User(phone=phone, name="Sam")
    db.session.add(person)
    db.session.commit()
    response = post_inbound(client, twilio_params(phone, "STOP"))
    assert response.get_data(as_text=True) == "<Response/>"
    db.session.refresh(person)
    assert person.sms_opted_out_at is not None


def test_reply_text_is_escaped_in_twiml(signed_app, client, db):
    response = post_inbound(client, twilio_params(new_phone(), "HELP <b>&"))
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<b>" not in body.replace("<Response>", "")


def test_answers_well_within_a_second(signed_app, client, db, shift):
    phone = new_phone()
    post_inbound(client, twilio_params(phone, f"JOIN {shift.code}"))
    timings = []
    for body in ("SHIFTS", "OK", "HELP", "what?"):
        started = time.perf_counter()
        response = post_inbound(client, twilio_params(phone, body))
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert max(timings) < 0.5, timings


def test_never_a_500_even_when_handling_fails(signed_app, client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(sms_views, "handle_inbound", broken)
    response = post_inbound(client, twilio_params(new_phone(), "HELP"))
    assert response.status_code == 200
    assert "Sorry, something went wrong" in response.get_data(as_text=True)


def test_a_signed_request_without_sender_is_a_bad_request(signed_app, client, db):
    params = twilio_params("", "HELP")
    params.pop("From")
    response = post_inbound(client, params)
    assert response.status_code == 400
    assert inbound_count(db) == 0


# Many texts from one phone at once ----------------------------------------------------------


def _post_all_at_once(base_url: str, params_list: list[dict[str, str]]) -> list[tuple[int, str]]:
    """POST every signed webhook over real HTTP, all released at the same instant."""
    barrier = threading.Barrier(len(params_list))
    results: list[tuple[int, str] | BaseException] = [None] * len(params_list)

    def post(index: int, params: dict[str, str]) -> None:
        try:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC + "/sms/inbound", params
            )
            barrier.wait(timeout=30)
            response = requests.post(
                base_url + "/sms/inbound",
                data=params,
                headers={"X-Twilio-Signature": signature},
                timeout=120,
            )
            results[index] = (response.status_code, response.text)
        except BaseException as exc:  # surfaced below, in the test's thread
            results[index] = exc

    threads = [
        threading.Thread(target=post, args=(i, params)) for i, params in enumerate(params_list)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return results


def _shifts_a_day_apart(count: int) -> list:
    initiative = make_initiative(title="Tree planting")
    first = utcnow() + dt.timedelta(days=3)
    return [
        make_shift(initiative, starts_at=first + dt.timedelta(days=n), code=f"{7100 + n}")
        for n in range(count)
    ]


@pytest.mark.parametrize("sender", ["known", "new"])
def test_twenty_joins_from_one_phone_at_once_are_all_acted_on(
    signed_app, live_server, db, texter, sender
):
    """Each JOIN names another shift; none may be lost to a deadlock, a busy database or
    twenty requests making the same new person at once."""
    phone = new_phone()
    if sender == "known":
        texter(phone=phone)
    codes = [shift.code for shift in _shifts_a_day_apart(20)]
    # Committed, and nothing read after: on SQLite an open transaction holds the write lock.
    db.session.commit()

    results = _post_all_at_once(
        live_server, [twilio_params(phone, f"JOIN {code}") for code in codes]
    )

    assert [status for status, _ in results] == [200] * 20
    apologies = [body for _, body in results if "Sorry, something went wrong" in body]
    assert apologies == []
    assert all("re in: Tree planting" in body for _, body in results), results
    db.session.expire_all()
    [person] = db.session.scalars(sa.select(User).where(User.phone == phone)).all()
    joined = db.session.scalars(
        sa.select(Shift.code)
        .join(Signup.shift)
        .where(Signup.user_id == person.id, Signup.status == SignupStatus.CONFIRMED)
    ).all()
    assert sorted(joined) == sorted(codes)
    assert inbound_count(db) == 20


def test_a_text_that_loses_a_deadlock_is_run_again_not_apologised_for(
    signed_app, live_server, db, texter, backend, caplog
):
    """Another transaction takes the shift, then the person's row FOR UPDATE, while the JOIN
    holds the KEY SHARE its inbound row took on the person: a real deadlock, which PostgreSQL
    breaks by aborting the JOIN's transaction. The webhook runs it again."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers: no deadlock to lose")
    phone = new_phone()
    person_id = texter(phone=phone).id
    [shift] = _shifts_a_day_apart(1)
    shift_id, code = shift.id, shift.code
    db.session.commit()

    other = db.engine.connect()
    watcher = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        other.exec_driver_sql("BEGIN")
        # The webhook's wait is the one PostgreSQL checks first, so it is the victim.
        other.exec_driver_sql("SET LOCAL deadlock_timeout = '30s'")
        other.execute(sa.select(Shift.id).where(Shift.id == shift_id).with_for_update())
        answer: list[requests.Response] = []
        request = threading.Thread(
            target=lambda: answer.append(
                requests.post(
                    live_server + "/sms/inbound",
                    data=(params := twilio_params(phone, f"JOIN {code}")),
                    headers={
                        "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                            PUBLIC + "/sms/inbound", params
                        )
                    },
                    timeout=60,
                )
            )
        )
        request.start()
        waiting = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        deadline = time.monotonic() + 20
        while watcher.scalar(waiting) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watcher.scalar(waiting) > 0, "the JOIN never waited for the shift"
        other.execute(sa.select(User.id).where(User.id == person_id).with_for_update())
        other.rollback()
        request.join(timeout=60)
    finally:
        other.close()
        watcher.close()

    assert "deadlock detected" in caplog.text
    [response] = answer
    assert response.status_code == 200 and "re in: Tree planting" in response.text
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(Signup.status).where(Signup.user_id == person_id, Signup.shift_id == shift_id)
        )
        == SignupStatus.CONFIRMED
    )
    assert inbound_count(db) == 1


def test_a_busy_sqlite_database_is_a_lost_race_and_a_missing_table_is_not(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    try:
        with engine.connect() as holder, engine.connect() as loser:
            holder.exec_driver_sql("CREATE TABLE t (x INTEGER)")  # BEGIN IMMEDIATE: the lock
            loser.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            with pytest.raises(sa.exc.OperationalError) as busy:
                loser.exec_driver_sql("SELECT 1")
            holder.rollback()
            with pytest.raises(sa.exc.OperationalError) as missing:
                loser.exec_driver_sql("SELECT * FROM nowhere")
    finally:
        engine.dispose()
    assert lost_race(busy.value)
    assert not lost_race(missing.value)


def test_a_nul_in_a_text_is_dropped_and_the_text_still_acted_on(signed_app, client, db, shift):
    """PostgreSQL refuses NUL in text: the webhook drops control characters (not tab or line
    breaks) after checking the signature over what was sent, and reads the rest."""
    phone = new_phone()
    params = twilio_params(phone, f"JO\x00IN\x07 {shift.code}\n")
    params["MessageSid"] += "\x00"
    response = post_inbound(client, params)
    assert response.status_code == 200
    row = db.session.scalar(sa.select(Message).where(Message.direction == Direction.INBOUND))
    assert row.body == f"JOIN {shift.code}\n" and row.kind == "in:join"
    assert "\x00" not in row.twilio_sid
    person = db.session.scalar(sa.select(User).where(User.phone == phone))
    assert db.session.scalar(sa.select(Signup).where(Signup.user_id == person.id)) is not None
