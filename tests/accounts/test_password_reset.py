"""Password-reset links: signed, expiring, working once; the mail that carries them, on
every backend."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import PASSWORD, make_user
from volunteer_app.accounts import password_reset, services
from volunteer_app.accounts.passwords import verify_password


def test_a_reset_link_works_until_it_expires(app, db, now):
    user = make_user()
    token = password_reset.make_password_reset_token(user, now=now)
    max_age = app.config["PASSWORD_RESET_MAX_AGE"]

    assert password_reset.user_for_reset_token(token, now=now) is user
    assert (
        password_reset.user_for_reset_token(token, now=now + dt.timedelta(seconds=max_age)) is user
    )
    with pytest.raises(password_reset.InvalidResetLink):
        password_reset.user_for_reset_token(token, now=now + dt.timedelta(seconds=max_age + 1))


def test_a_reset_link_works_once(db, now):
    user = make_user()
    token = password_reset.make_password_reset_token(user, now=now)

    password_reset.reset_password(token, "a brand new password", now=now)

    assert verify_password(user.password_hash, "a brand new password")
    with pytest.raises(password_reset.InvalidResetLink):
        password_reset.reset_password(token, "another new password", now=now)


def test_a_reset_link_dies_when_the_password_changes_another_way(db, now):
    user = make_user()
    token = password_reset.make_password_reset_token(user, now=now)
    user.password_hash = "$argon2id$changed-elsewhere"
    with pytest.raises(password_reset.InvalidResetLink):
        password_reset.user_for_reset_token(token, now=now)


@pytest.mark.parametrize("mangle", ["tamper", "other-salt", "garbage", "huge", "inactive"])
def test_forged_or_foreign_reset_links_are_refused(app, db, now, mangle):
    from itsdangerous import URLSafeTimedSerializer

    user = make_user()
    token = password_reset.make_password_reset_token(user, now=now)
    if mangle == "tamper":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif mangle == "other-salt":
        token = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="invite").dumps(
            {
                "user": user.id,
                "pw": password_reset._password_fingerprint(user),
            }
        )
    elif mangle == "garbage":
        token = "not-a-token"
    elif mangle == "huge":
        token = "x" * 10_000
    else:
        user.active = False
    with pytest.raises(password_reset.InvalidResetLink):
        password_reset.user_for_reset_token(token, now=now)


def test_a_new_password_follows_the_password_rules(db, now):
    user = make_user()
    token = password_reset.make_password_reset_token(user, now=now)
    with pytest.raises(services.FieldError) as refused:
        password_reset.reset_password(token, "short", now=now)
    assert refused.value.field == "password"
    assert verify_password(user.password_hash, PASSWORD)


def test_reset_mail_goes_to_the_account_with_a_public_link(app, db, now, outbox):
    user = make_user("ana@example.org", name="Ana")

    password_reset.request_password_reset("ANA@example.org ", now=now)

    assert len(outbox) == 1
    mail = outbox[0]
    assert mail.to == "ana@example.org"
    assert mail.sender == app.config["MAIL_FROM"]
    assert "password" in mail.subject.lower()
    assert "Hello Ana," in mail.body
    link = next(line for line in mail.body.splitlines() if "/password/reset/" in line)
    assert link.startswith(app.config["PUBLIC_BASE_URL"] + "/password/reset/")
    token = link.rsplit("/", 1)[1]
    assert password_reset.user_for_reset_token(token, now=now) is user


@pytest.mark.parametrize("who", ["unknown", "inactive", "texter"])
def test_no_reset_mail_for_unknown_or_inactive_accounts(db, now, outbox, who):
    make_user("gone@example.org", active=False)
    make_user(email="", password=None, phone="+12025550100")
    email = {"unknown": "nobody@example.org", "inactive": "gone@example.org", "texter": ""}[who]
    password_reset.request_password_reset(email, now=now)
    assert outbox == []


def test_a_failing_mail_server_is_logged_not_raised(app, db, now, monkeypatch, caplog):
    from volunteer_app.core import mail

    def broken(to, subject, body):
        raise mail.MailError("connection refused")

    monkeypatch.setattr(password_reset, "send_mail", broken)
    make_user("ana@example.org")
    password_reset.request_password_reset("ana@example.org", now=now)
    assert "could not send the password reset mail" in caplog.text
