"""Configuration from environment variables: Development, Testing, Production.

Every setting a deployment may change is read from the environment here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused by ProductionConfig


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _normalise_database_url(url: str) -> str:
    """Let operators paste the URL their host gives them (postgres://...)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'volunteer.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    PROGRAM_NAME = os.environ.get("PROGRAM_NAME", "Serve Our City")
    PROGRAM_CONTACT = os.environ.get("PROGRAM_CONTACT", "311")

    # Babel
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = {"en": "English", "es": "Español"}

    # Sessions and forms
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Keep me logged in" lasts this long (the cookie and the login behind it).
    REMEMBER_COOKIE_DURATION = dt.timedelta(days=365)
    # A login without it ends after this long without a visit, even if the browser is left open.
    LOGIN_SESSION_IDLE_SECONDS = 12 * 60 * 60
    WTF_CSRF_TIME_LIMIT = None  # a form left open on a phone in a park still submits
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds
    COORDINATOR_INVITE_MAX_AGE = 7 * 24 * 60 * 60

    # Mail: "console" writes to the log; "smtp" sends.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_FROM = os.environ.get("MAIL_FROM", "volunteer@city.example")
    SMTP_HOST = os.environ.get("SMTP_HOST", "127.0.0.1")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0") == "1"

    # SMS: "console" stores and prints; "twilio" sends through Twilio.
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "console")
    TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
    TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
    TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
    TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
    TWILIO_HTTP_TIMEOUT = _env_int("TWILIO_HTTP_TIMEOUT", 10)
    # Where Twilio's REST API lives; only tests point it at their fake on 127.0.0.1.
    TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "")
    SMS_DEFAULT_REGION = os.environ.get("SMS_DEFAULT_REGION", "US")
    # Quiet hours are judged in this timezone when a text concerns no initiative.
    PROGRAM_TIMEZONE = os.environ.get("PROGRAM_TIMEZONE", "America/New_York")
    # The worker: rows claimed per batch, sending threads, tries before a text fails for good,
    # and how long a claimed text may stay `claimed` or `sending` before its worker is taken
    # for dead (the text is then queued again, or looked up at Twilio if it was handed over).
    SMS_WORKER_BATCH = _env_int("SMS_WORKER_BATCH", 100)
    SMS_WORKER_THREADS = _env_int("SMS_WORKER_THREADS", 8)
    SMS_MAX_ATTEMPTS = _env_int("SMS_MAX_ATTEMPTS", 5)
    SMS_RETRY_BASE_SECONDS = _env_int("SMS_RETRY_BASE_SECONDS", 30)
    SMS_RETRY_MAX_SECONDS = _env_int("SMS_RETRY_MAX_SECONDS", 3600)
    SMS_SENDING_TIMEOUT_SECONDS = _env_int("SMS_SENDING_TIMEOUT_SECONDS", 300)
    # A text Twilio never answered for is looked up in its Messages list this long after it
    # was handed over (time for Twilio to finish a request we gave up on), and again as often
    # while Twilio cannot be asked; after SMS_REVIEW_AFTER_SECONDS of that, a person decides.
    SMS_LOOKUP_DELAY_SECONDS = _env_int("SMS_LOOKUP_DELAY_SECONDS", 120)
    SMS_REVIEW_AFTER_SECONDS = _env_int("SMS_REVIEW_AFTER_SECONDS", 3600)

    # The version of the SMS consent text shown at registration; bump it when the text changes.
    SMS_CONSENT_VERSION = "2026-11-01"

    # Brakes on password guessing and reset-mail flooding (Flask-Limiter). A limit reads like
    # "10 per minute;50 per hour"; each is counted per client address and, separately, per
    # email address typed, so one account cannot be guessed at from many addresses at once.
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "10 per minute;50 per hour")
    LOGIN_LIMIT_PER_EMAIL = os.environ.get("LOGIN_LIMIT_PER_EMAIL", "10 per minute;50 per hour")
    PASSWORD_RESET_LIMIT_PER_ADDRESS = os.environ.get(
        "PASSWORD_RESET_LIMIT_PER_ADDRESS", "5 per hour"
    )
    PASSWORD_RESET_LIMIT_PER_EMAIL = os.environ.get("PASSWORD_RESET_LIMIT_PER_EMAIL", "3 per hour")
    # Wrong sign-in sheet codes and phone numbers at /checkin/<code>, per shift and address.
    CHECK_IN_MISSES_PER_ADDRESS = os.environ.get("CHECK_IN_MISSES_PER_ADDRESS", "5 per 10 minutes")
    # Where the counts live. memory:// is one process's own; with many web processes
    # (production) every process must share one store, such as redis://127.0.0.1:6379.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # If that store goes down, each process counts in its own memory until it is back, rather
    # than failing every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # How many reverse proxies in front of the app add the client's address to
    # X-Forwarded-For. 0 trusts no such header; behind one nginx, 1. Without it every request
    # seems to come from the proxy, and the per-address limits would brake everyone at once.
    TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

    # Sent as Strict-Transport-Security when set: production only, where every address is https.
    STRICT_TRANSPORT_SECURITY: str | None = None

    PAGE_SIZE = 12
    # Which dated rate values volunteer time: "US" (Independent Sector's national figure) or a
    # state code whose figure an admin has entered.
    IMPACT_RATE_REGION = os.environ.get("IMPACT_RATE_REGION", "US")
    # The coordinator home flags shifts in the next 7 days filled below this share.
    COORDINATOR_UNDERFILLED_PERCENT = _env_int("COORDINATOR_UNDERFILLED_PERCENT", 50)


class DevelopmentConfig(Config):
    DEBUG = False  # the werkzeug debugger is never on by default; set FLASK_DEBUG=1 locally


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True  # tests send the real token; see tests/conftest.py
    SECRET_KEY = "testing-secret"  # noqa: S105
    SMS_BACKEND = "console"
    MAIL_BACKEND = "memory"
    PUBLIC_BASE_URL = "http://localhost"
    # Never a shared store: tests/conftest.py clears the counts before every test.
    RATELIMIT_STORAGE_URI = "memory://"


# Rate-limit stores that live in one process's memory: with several web processes each would
# count on its own, so a limit of 10 a minute would let 10 a minute through every process.
PER_PROCESS_LIMIT_STORES = ("memory://", "async+memory://")


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    # A year, the subdomains too; browsers then never try plain http for this site again.
    STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

    @classmethod
    def check(cls) -> None:
        """Refuse to start with the development secret or the embedded database."""
        problems = []
        if not os.environ.get("SECRET_KEY") or os.environ["SECRET_KEY"] == DEV_SECRET_KEY:
            problems.append("SECRET_KEY must be set to a long random value")
        if not os.environ.get("DATABASE_URL"):
            problems.append("DATABASE_URL must point at PostgreSQL")
        if not os.environ.get("PUBLIC_BASE_URL"):
            problems.append("PUBLIC_BASE_URL must be the public https address (Twilio signs it)")
        limit_store = os.environ.get("RATELIMIT_STORAGE_URI", "").strip().lower()
        if not limit_store or limit_store.startswith(PER_PROCESS_LIMIT_STORES):
            problems.append(
                "RATELIMIT_STORAGE_URI must name a store every web process shares "
                "(redis://127.0.0.1:6379), not one process's memory"
            )
        if problems:
            raise RuntimeError("Production configuration is incomplete: " + "; ".join(problems))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("APP_ENV", "development")]
