"""Production settings: what the start-up check refuses, and the security headers and cookies
a production-configured app sends (its required environment set to local values)."""

from __future__ import annotations

import uuid

import pytest
import redis

from config import ProductionConfig
from tests.conftest import csrf_token, separate_app
from tests.factories import PASSWORD, make_user
from volunteer_app import create_app

REDIS_URL = "redis://127.0.0.1:6379"
HTTPS = "https://volunteer.example"


@pytest.fixture
def production_env(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "a-long-random-value-for-this-test-only")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PUBLIC_BASE_URL", HTTPS)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", REDIS_URL)
    return monkeypatch


@pytest.mark.parametrize("store", ["memory://", "MEMORY://", " memory:// ", "async+memory://", ""])
def test_production_refuses_a_limit_store_of_one_process(production_env, store):
    production_env.setenv("RATELIMIT_STORAGE_URI", store)
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app(ProductionConfig)


def test_production_accepts_a_shared_limit_store(production_env):
    ProductionConfig.check()  # redis:// from the fixture: no complaint


@pytest.fixture
def production_app(app, production_env, database_url):
    server = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        server.ping()
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"volunteer-test-{uuid.uuid4().hex}"
    try:
        with separate_app(
            ProductionConfig,
            database_url,
            SECRET_KEY="a-long-random-value-for-this-test-only",
            PUBLIC_BASE_URL=HTTPS,
            RATELIMIT_STORAGE_URI=REDIS_URL,
            RATELIMIT_KEY_PREFIX=prefix,
        ) as production:
            yield production
    finally:
        keys = list(server.scan_iter(match=f"*{prefix}*"))
        if keys:
            server.delete(*keys)
        server.close()


def test_production_sends_hsts_csp_and_secure_samesite_cookies(production_app, db):
    make_user("ana@example.org")
    db.session.commit()
    client = production_app.test_client()

    page = client.get(HTTPS + "/login")
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "SAMEORIGIN"

    logged_in = client.post(
        HTTPS + "/login",
        data={
            "email": "ana@example.org",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token(client, HTTPS + "/login"),
        },
        # Over https, Flask-WTF also checks that the form came from this site.
        headers={"Referer": HTTPS + "/login"},
    )
    assert logged_in.status_code == 302
    cookies = {
        header.split("=", 1)[0]: header for header in logged_in.headers.getlist("Set-Cookie")
    }
    for name in ("session", "remember_token"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")]
        assert "secure" in attributes, name
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name


def test_development_and_tests_send_no_hsts(client):
    # Plain http on 127.0.0.1: a browser told HSTS for localhost would refuse it for a year.
    assert "Strict-Transport-Security" not in client.get("/").headers
