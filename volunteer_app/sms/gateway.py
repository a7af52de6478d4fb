"""The one door to Twilio: sending a text, checking a webhook's signature, writing TwiML.

No other application module imports `twilio`. `SMS_BACKEND` chooses the backend:
`console` logs the text and invents a SID (the Message row is the record); `twilio` posts to
Twilio's REST API with the official client. Either way `send` returns the provider's SID or
raises `SendError`, which says whether trying again later could help, or whether nobody can
tell if the text went (a timeout after the request left): then `find_sent` asks Twilio's
Messages list for it, as Twilio offers no idempotency key for sending.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Protocol
from xml.sax.saxutils import escape

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

logger = logging.getLogger(__name__)

TWILIO_API_HOST = "https://api.twilio.com"
# Enough for the worker's sending threads to each keep a connection open.
HTTP_POOL_SIZE = 32
# Texts per page when looking one up; a person rarely gets more than a few a day.
LOOKUP_PAGE_SIZE = 50


class SendError(Exception):
    """A text was not accepted, or its fate is unknown. `code` is Twilio's error code as text
    ("21610"), or None for a network error or timeout; `transient` says whether the same text
    may be tried again; `unknown` that the request may have reached Twilio, so it must be
    looked up (`find_sent`) rather than sent again; `retry_after` is Twilio's Retry-After, in
    seconds."""

    def __init__(  # noqa: PLR0913 -- keyword-only: what Twilio said about the failure
        self,
        message: str,
        *,
        code: str | None = None,
        transient: bool = False,
        unknown: bool = False,
        http_status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.unknown = unknown
        self.http_status = http_status
        self.retry_after = retry_after


class Gateway(Protocol):
    def send(self, *, to: str, body: str, status_callback: str | None) -> str: ...

    def find_sent(self, *, to: str, body: str, since: dt.datetime) -> list[str]: ...


class ConsoleGateway:
    """For development and the simulator: the text goes to the log, nowhere else."""

    def send(self, *, to: str, body: str, status_callback: str | None) -> str:
        sid = "SMconsole" + uuid.uuid4().hex
        logger.info("SMS to %s (%s): %s", to, sid, body)
        return sid

    def find_sent(self, *, to: str, body: str, since: dt.datetime) -> list[str]:
        raise SendError("the console backend keeps no record to look texts up in")


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """An answer's Retry-After in seconds: given as seconds, or as a date read against the
    answer's own Date header (so no clock of ours comes into it). None when absent or unclear."""
    value = ((headers or {}).get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        until = email.utils.parsedate_to_datetime(value)
        answered = email.utils.parsedate_to_datetime((headers or {}).get("Date") or "")
    except (TypeError, ValueError):
        return None
    return max((until - answered).total_seconds(), 0.0)


def _never_reached_twilio(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection was made, so Twilio cannot have it."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class _PinnedHttpClient(TwilioHttpClient):
    """Twilio's HTTP client with no automatic retry of any request (a retried POST could send
    a text twice) and, for tests only, the REST API moved to a fake server on 127.0.0.1."""

    def __init__(self, *, timeout: float, api_base: str = ""):
        super().__init__(pool_connections=True, timeout=timeout)
        # max_retries=0: urllib3 never re-sends a request, whatever went wrong.
        for prefix in ("https://", "http://"):
            self.session.mount(
                prefix,
                HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=HTTP_POOL_SIZE),
            )
        self.api_base = api_base.rstrip("/")
        # The Retry-After of this thread's last 429: the client's exceptions do not carry it.
        self.retry_after: float | None = None

    def request(self, method, url, *args, **kwargs):
        if self.api_base:
            if not url.startswith(TWILIO_API_HOST + "/"):
                # Never let a test (or a stray TWILIO_REGION) reach the real Twilio.
                raise SendError(f"refusing to call {url} while TWILIO_API_BASE is set")
            url = self.api_base + url[len(TWILIO_API_HOST) :]
        self.retry_after = None
        response = super().request(method, url, *args, **kwargs)
        if response.status_code == 429:
            self.retry_after = retry_after_seconds(response.headers)
        return response


class TwilioGateway:
    """Sends through Twilio's Messages API. Safe to share between threads."""

    def __init__(  # noqa: PLR0913 -- keyword-only: the account's settings
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str = "",
        messaging_service_sid: str = "",
        timeout: float = 10,
        api_base: str = "",
    ):
        if not account_sid or not auth_token:
            raise RuntimeError("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        if not from_number and not messaging_service_sid:
            raise RuntimeError(
                "SMS_BACKEND=twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.timeout = timeout
        self.api_base = api_base
        self._local = threading.local()

    def _client(self) -> Client:
        # One client (and connection pool) per thread: requests' Session is not promised to be
        # thread-safe.
        client = getattr(self._local, "client", None)
        if client is None:
            client = Client(
                self.account_sid,
                self.auth_token,
                http_client=_PinnedHttpClient(timeout=self.timeout, api_base=self.api_base),
                # A non-empty mapping without TWILIO_REGION/TWILIO_EDGE: the client falls back
                # to os.environ when given an empty one, and those variables rewrite the host.
                environment={"TWILIO_ENVIRONMENT": "isolated"},
            )
            self._local.client = client
        return client

    def send(self, *, to: str, body: str, status_callback: str | None) -> str:
        sender = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number}
        )
        extra = {"status_callback": status_callback} if status_callback else {}
        client = self._client()
        try:
            message = client.messages.create(to=to, body=body, **sender, **extra)
        except (TwilioRestException, TwilioServiceException) as exc:
            status = int(exc.status)
            code = str(exc.code) if exc.code not in (None, status) else None
            raise SendError(
                f"Twilio answered {status}" + (f" (error {code})" if code else ""),
                code=code,
                transient=status == 429 or status >= 500,
                http_status=status,
                retry_after=client.http_client.retry_after,
            ) from exc
        except requests.RequestException as exc:
            if _never_reached_twilio(exc):
                raise SendError(f"network error: {type(exc).__name__}", transient=True) from exc
            # A timeout (or a connection lost) after the request left: Twilio may have the
            # text. Sending it again could text the person twice; the worker looks it up.
            raise SendError(f"no answer from Twilio: {type(exc).__name__}", unknown=True) from exc
        except TwilioException as exc:
            # An answer the client could not read: the text may have been created all the same.
            raise SendError(f"Twilio client error: {exc}", unknown=True) from exc
        return message.sid

    def find_sent(self, *, to: str, body: str, since: dt.datetime) -> list[str]:
        """The SIDs of texts Twilio holds from us to `to` with exactly `body`, created at or
        after `since`, oldest first. Raises SendError when Twilio cannot be asked.

        Reads the Messages list filtered by To, From (or our Messaging Service) and DateSent,
        which Twilio filters by whole days (GMT): hence the day of `since`, then the exact
        instant on each text's date_created.
        """
        filters = {"to": to, "date_sent_after": since.astimezone(dt.UTC).date()}
        if not self.messaging_service_sid:
            filters["from_"] = self.from_number
        try:
            found = [
                message
                for message in self._client().messages.stream(page_size=LOOKUP_PAGE_SIZE, **filters)
                if message.body == body
                and message.direction == "outbound-api"
                and message.date_created is not None
                and message.date_created >= since
                and (
                    not self.messaging_service_sid
                    or message.messaging_service_sid == self.messaging_service_sid
                )
            ]
        except (TwilioException, requests.RequestException) as exc:
            raise SendError(f"looking the text up failed: {type(exc).__name__}") from exc
        return [message.sid for message in sorted(found, key=lambda m: m.date_created)]


def _twilio_gateway_from_config(config: Mapping) -> TwilioGateway:
    return TwilioGateway(
        account_sid=config["TWILIO_ACCOUNT_SID"],
        auth_token=config["TWILIO_AUTH_TOKEN"],
        from_number=config.get("TWILIO_FROM_NUMBER", ""),
        messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID", ""),
        timeout=config.get("TWILIO_HTTP_TIMEOUT", 10),
        api_base=config.get("TWILIO_API_BASE", ""),
    )


_TWILIO_KEYS = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_MESSAGING_SERVICE_SID",
    "TWILIO_HTTP_TIMEOUT",
    "TWILIO_API_BASE",
)
_cache_lock = threading.Lock()


def get_gateway() -> Gateway:
    """The backend chosen by SMS_BACKEND, built once per app and configuration."""
    config = current_app.config
    backend = config.get("SMS_BACKEND", "console")
    if backend == "console":
        return ConsoleGateway()
    if backend != "twilio":
        raise RuntimeError(f"unknown SMS_BACKEND {backend!r}: use 'console' or 'twilio'")
    key = tuple(config.get(name) for name in _TWILIO_KEYS)
    cache = current_app.extensions.setdefault("sms_gateways", {})
    with _cache_lock:
        gateway = cache.get(key)
        if gateway is None:
            cache.clear()  # the configuration changed: the old client is of no further use
            gateway = cache[key] = _twilio_gateway_from_config(config)
    return gateway


def status_callback_url() -> str | None:
    """Where Twilio reports delivery; only the twilio backend has a public address to give."""
    if current_app.config.get("SMS_BACKEND") != "twilio":
        return None
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/sms/status"


def message_status_callback(base: str | None, message_id: int) -> str | None:
    """The status callback for one text: `base` naming the message, so a report that arrives
    before the worker has stored the text's SID still finds it (Twilio signs the whole URL,
    so the id cannot be forged)."""
    return f"{base}?message={message_id}" if base else None


def is_valid_signature(url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Whether X-Twilio-Signature matches `url` and the POSTed `params`.

    Without an auth token nothing can be verified, so nothing is accepted.
    """
    token = current_app.config.get("TWILIO_AUTH_TOKEN") or ""
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def twiml_message(text: str | None) -> str:
    """A TwiML answer carrying one reply text, or none at all."""
    if text is None:
        return "<Response/>"
    return f"<Response><Message>{escape(text)}</Message></Response>"
