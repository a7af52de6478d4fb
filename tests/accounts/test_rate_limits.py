"""The brakes on password guessing and reset-mail flooding: per client address and per email
address typed, on POSTs only, answered with a translated 429 page and Retry-After; through
real HTTP with real CSRF tokens, on every backend.

The numbers are the defaults in config.py: 10 logins a minute (50 an hour) per address and per
email, 5 reset requests an hour per address and 3 per email.
"""

from __future__ import annotations

import html
import uuid

import pytest
import redis

from config import TestingConfig
from tests.conftest import csrf_token, separate_app
from tests.factories import PASSWORD, make_user
from volunteer_app import web
from volunteer_app.extensions import db as _db

LIMITED = "There were too many attempts from this connection or for this email address."
REDIS_URL = "redis://127.0.0.1:6379"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def post_login(client, email: str, password: str = "not the password", address: str = "127.0.0.1"):
    """One login attempt from `address`, with a real CSRF token (reading the form is free)."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def post_forgot(client, email: str, address: str = "127.0.0.1"):
    token = csrf_token(client, "/password/forgot")
    return client.post(
        "/password/forgot",
        data={"email": email, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_limited(response, *, at_most_seconds: int) -> None:
    assert response.status_code == 429
    assert "Too many attempts" in text(response)
    assert LIMITED in text(response)
    assert 'class="site-header"' in text(response)  # in the site's layout
    assert 0 < int(response.headers["Retry-After"]) <= at_most_seconds


@pytest.fixture
def ana(db):
    user = make_user("ana@example.org", name="Ana")
    db.session.commit()
    return user


def logged_in(client) -> bool:
    return client.get("/profile").status_code == 200


# --- Logging in ----------------------------------------------------------------------------


def test_the_eleventh_wrong_password_in_a_minute_is_refused_and_so_is_the_right_one(client, ana):
    for _ in range(10):
        response = post_login(client, "ana@example.org")
        assert response.status_code == 200
        assert "do not match an account" in text(response)

    assert_limited(post_login(client, "ana@example.org"), at_most_seconds=60)
    assert_limited(post_login(client, "ana@example.org", PASSWORD), at_most_seconds=60)
    assert not logged_in(client)


def test_showing_the_login_form_is_never_limited(client, ana):
    for _ in range(11):
        post_login(client, "ana@example.org")
    for _ in range(30):
        response = client.get("/login")
        assert response.status_code == 200
        assert 'name="password"' in text(response)


def test_another_email_from_the_same_address_is_still_limited(client, ana):
    for _ in range(10):
        assert post_login(client, "ana@example.org").status_code == 200
    assert_limited(post_login(client, "someone.else@example.org"), at_most_seconds=60)
    # Another address is not braked by this one's attempts.
    assert post_login(client, "someone.else@example.org", address="203.0.113.9").status_code == 200


def test_many_addresses_guessing_one_email_hit_the_per_email_limit(client, ana):
    # The email is counted as a login reads it: case and spaces make no new account to guess.
    spellings = ["ana@example.org", " ANA@example.org", "Ana@Example.Org "]
    for attempt in range(10):
        response = post_login(client, spellings[attempt % 3], address=f"198.51.100.{attempt}")
        assert response.status_code == 200

    assert_limited(
        post_login(client, "ana@example.org", address="198.51.100.77"), at_most_seconds=60
    )
    assert_limited(
        post_login(client, "ana@example.org", PASSWORD, address="198.51.100.78"), at_most_seconds=60
    )
    # The addresses themselves are not braked: another account logs in from the last one.
    make_user("ben@example.org", name="Ben")
    _db.session.commit()
    response = post_login(client, "ben@example.org", PASSWORD, address="198.51.100.78")
    assert response.status_code == 302
    assert logged_in(client)


def test_the_limits_are_read_from_the_configuration(app, client, ana, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "2 per minute")
    for _ in range(2):
        assert post_login(client, "ana@example.org").status_code == 200
    assert post_login(client, "ana@example.org").status_code == 429


def test_a_limited_page_is_in_the_visitors_language(client, ana):
    for _ in range(10):
        post_login(client, "ana@example.org")
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": "x", "csrf_token": token},
        headers={"Accept-Language": "es"},
    )
    assert response.status_code == 429
    assert "Demasiados intentos" in text(response)
    assert "Hubo demasiados intentos desde esta conexión" in text(response)
    assert LIMITED not in text(response)


@pytest.mark.parametrize("run", ["first", "second"])
def test_the_limiter_resets_between_tests(client, ana, run):
    """Run twice: the second run would be refused at once if the first run's counts stayed."""
    for _ in range(10):
        assert post_login(client, "ana@example.org").status_code == 200
    assert post_login(client, "ana@example.org").status_code == 429


# --- Behind a reverse proxy ----------------------------------------------------------------


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXY_COUNT", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # put back after the test
    web.trust_reverse_proxies(app)

    # Eleven people behind the one proxy (10.0.0.1) are not one client.
    for person in range(11):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            data={"email": f"person{person}@example.org", "password": "x", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
            headers={"X-Forwarded-For": f"198.51.100.{person}"},
        )
        assert response.status_code == 200

    # A guesser cannot pose as many clients: only the address the proxy added counts.
    statuses = []
    for attempt in range(11):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            data={"email": f"guess{attempt}@example.org", "password": "x", "csrf_token": token},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
            headers={"X-Forwarded-For": f"192.0.2.{attempt}, 203.0.113.50"},
        )
        statuses.append(response.status_code)
    assert statuses == [200] * 10 + [429]


# --- Forgotten passwords -------------------------------------------------------------------


def test_reset_mails_for_one_email_stop_after_three_an_hour(client, ana, outbox):
    for attempt in range(3):
        response = post_forgot(client, "ana@example.org", address=f"198.51.100.{attempt}")
        assert response.status_code == 302
    assert len(outbox) == 3

    limited = post_forgot(client, "ANA@example.org", address="198.51.100.99")
    assert_limited(limited, at_most_seconds=3600)
    assert int(limited.headers["Retry-After"]) > 3500
    assert len(outbox) == 3


def test_reset_requests_from_one_address_stop_after_five_an_hour(client, ana, outbox):
    for attempt in range(4):
        assert post_forgot(client, f"nobody{attempt}@example.org").status_code == 302
    assert post_forgot(client, "ana@example.org").status_code == 302
    assert len(outbox) == 1

    assert_limited(post_forgot(client, "ana@example.org"), at_most_seconds=3600)
    assert len(outbox) == 1
    assert client.get("/password/forgot").status_code == 200


# --- A shared store ------------------------------------------------------------------------


@pytest.fixture
def redis_app(app, database_url):
    """The app counting in the Redis on this machine, under a key prefix of this test's own,
    removed afterwards; skipped when Redis is not running."""
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        server.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"volunteer-test-{uuid.uuid4().hex}"
    try:
        with separate_app(
            TestingConfig,
            database_url,
            RATELIMIT_STORAGE_URI=REDIS_URL,
            RATELIMIT_KEY_PREFIX=prefix,
        ) as redis_backed:
            yield redis_backed, server, prefix
    finally:
        keys = list(server.scan_iter(match=f"*{prefix}*"))
        if keys:
            server.delete(*keys)
        server.close()


def test_the_limits_hold_in_a_shared_redis_store(redis_app):
    redis_backed, server, prefix = redis_app
    client = redis_backed.test_client()
    for _ in range(10):
        assert post_login(client, "ana@example.org").status_code == 200
    assert_limited(post_login(client, "ana@example.org"), at_most_seconds=60)

    keys = list(server.scan_iter(match=f"*{prefix}*"))
    assert keys, "the counts are in Redis"
    assert all(0 < server.ttl(key) <= 3600 for key in keys)
    assert not any(b"ana@example.org" in key for key in keys), "emails are stored hashed"
