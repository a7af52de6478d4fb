"""Logins kept on the server (accounts/sessions.py): logging out ends the login for good, so a
copy of the session cookie or the remember-me cookie saved before opens nothing afterwards;
other browsers stay logged in; "log out everywhere" ends them all. Through real HTTP with
real CSRF tokens, on every backend."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user
from volunteer_app.accounts.models import LoginSession
from volunteer_app.accounts.sessions import SEEN_EVERY
from volunteer_app.core.db import utcnow

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def ana(db):
    user = make_user("ana@example.org", name="Ana Lopez")
    db.session.commit()
    return user


def browser(app, *, remember: bool = False, user_agent: str = FIREFOX):
    """A new browser (its own cookie jar) logged in as Ana."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    data = {"email": "ana@example.org", "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data={**data, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302
    return client


def logged_in(client) -> bool:
    return client.get("/profile").status_code == 200


def log_out(client, path: str = "/logout"):
    page = "/profile" if path != "/logout" else "/"
    return client.post(path, data={"csrf_token": csrf_token(client, page)})


def cookie(client, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, name
    return found.value


def logins(db) -> list[LoginSession]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(LoginSession).order_by(LoginSession.id)))


def test_a_session_cookie_saved_before_logout_is_refused_after(app, db, ana):
    laptop = browser(app)
    saved = cookie(laptop, "session")
    assert log_out(laptop).status_code == 302
    assert not logged_in(laptop)

    laptop.set_cookie("session", saved)  # the copy an attacker kept
    assert not logged_in(laptop)
    (login,) = logins(db)
    assert login.revoked_at is not None


def test_a_remember_token_saved_before_logout_is_refused_after(app, db, ana):
    laptop = browser(app, remember=True)
    saved = cookie(laptop, "remember_token")
    log_out(laptop)
    assert laptop.get_cookie("remember_token") is None  # the browser is told to drop it

    replay = app.test_client()  # no session cookie: only the replayed remember-me cookie
    replay.set_cookie("remember_token", saved)
    assert not logged_in(replay)


def test_a_remember_token_alone_logs_in_while_the_login_lasts(app, ana):
    laptop = browser(app, remember=True)
    later = app.test_client()  # the browser was closed: only the remember-me cookie is left
    later.set_cookie("remember_token", cookie(laptop, "remember_token"))
    assert logged_in(later)


def test_another_browser_stays_logged_in_when_one_logs_out(app, db, ana):
    laptop, phone = browser(app), browser(app, remember=True, user_agent=IPHONE)
    log_out(laptop)
    assert not logged_in(laptop)
    assert logged_in(phone)
    assert [login.revoked_at is None for login in logins(db)] == [False, True]


def test_log_out_everywhere_ends_every_browser(app, db, ana):
    laptop, phone = browser(app), browser(app, remember=True, user_agent=IPHONE)
    saved = cookie(phone, "remember_token")
    other = make_user("ben@example.org")
    db.session.commit()
    bens = app.test_client()
    bens.post(
        "/login",
        data={"email": other.email, "password": PASSWORD, "csrf_token": csrf_token(bens, "/login")},
    )

    response = log_out(laptop, "/logout/everywhere")
    assert response.status_code == 302
    assert not logged_in(laptop)
    assert not logged_in(phone)
    replay = app.test_client()
    replay.set_cookie("remember_token", saved)
    assert not logged_in(replay)
    assert logged_in(bens), "someone else's login is not touched"


def test_log_out_everywhere_needs_a_login_and_the_csrf_token(app, client, ana):
    assert client.post("/logout/everywhere").status_code == 400  # CSRF first
    token = csrf_token(client, "/login")
    response = client.post("/logout/everywhere", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    laptop = browser(app)
    assert laptop.post("/logout/everywhere").status_code == 400
    assert logged_in(laptop)


def test_the_profile_lists_the_logins_and_marks_this_browser(app, ana):
    browser(app, user_agent=IPHONE)
    laptop = browser(app)
    page = html.unescape(laptop.get("/profile").get_data(as_text=True))
    assert "Where you are logged in" in page
    assert "Firefox on Linux" in page and "(this browser)" in page
    assert "Mobile Safari on iOS" in page
    assert page.count("(this browser)") == 1
    assert "Log out everywhere" in page


def test_the_user_loader_reads_the_login_and_its_person_in_one_query(app, ana, count_queries):
    laptop = browser(app)
    laptop.get("/profile")
    with count_queries() as statements:
        assert laptop.get("/me/hours").status_code == 200
    loading = [s for s in statements if "login_sessions" in s]
    assert len(loading) == 1
    assert "JOIN users" in loading[0]


def test_a_visit_after_a_while_records_last_seen_and_extends_a_short_login(app, db, ana):
    laptop = browser(app)
    (login,) = logins(db)
    long_ago = utcnow() - SEEN_EVERY - dt.timedelta(minutes=1)
    login.last_seen_at = long_ago
    login.expires_at = long_ago + dt.timedelta(hours=1)
    db.session.commit()

    assert logged_in(laptop)
    (login,) = logins(db)
    assert login.last_seen_at > long_ago + SEEN_EVERY
    assert login.expires_at > utcnow() + dt.timedelta(hours=11)

    seen = login.last_seen_at
    assert logged_in(laptop)
    (login,) = logins(db)
    assert login.last_seen_at == seen, "no write on every page"


def test_a_login_left_idle_past_its_end_is_refused(app, db, ana):
    laptop = browser(app)
    (login,) = logins(db)
    login.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert not logged_in(laptop)


def test_a_switched_off_account_is_logged_out(app, db, ana):
    laptop = browser(app)
    ana.active = False
    db.session.commit()
    assert not logged_in(laptop)


def test_the_database_keeps_no_token_that_opens_a_login(app, db, ana):
    laptop = browser(app, remember=True)
    (login,) = logins(db)
    with laptop.session_transaction() as session:
        token = session["_user_id"]
    assert len(token) >= 40
    assert token not in (login.token_hash, str(login.id))
    stolen = app.test_client()
    with stolen.session_transaction() as session:
        session["_user_id"] = login.token_hash
    assert not logged_in(stolen)


def test_two_people_are_never_equal_because_neither_is_logged_in(db, ana):
    ben = make_user("ben@example.org")
    assert ana != ben and ana not in [ben] and len({ana, ben}) == 2
    assert ana == db.session.get(type(ana), ana.id)
