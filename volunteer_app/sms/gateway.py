"""The one door to Twilio: sending a text, checking a webhook's signature, writing TwiML.

No other application module imports `twilio`. `SMS_BACKEND` chooses the backend:
`console` logs the text and invents a SID (the Message row is the record); `twilio` posts to
Twilio's REST API with the official client. Either way `send` returns the provider's SID or
raises `SendError`, which says whether trying again later could help.
"""

from __future__ import annotations

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

logger = logging.getLogger(__name__)

TWILIO_API_HOST = "https://api.twilio.com"
# Enough for the worker's sending threads to each keep a connection open.
HTTP_POOL_SIZE = 32


class SendError(Exception):
    """A text was not accepted. `code` is Twilio's error code as text ("21610"), or None for
    a network error or timeout; `transient` says whether the same text may be tried again."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        transient: bool = False,
        http_status: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.transient = transient
        self.http_status = http_status


class Gateway(Protocol):
    def send(self, *, to: str, body: str, status_callback: str | None) -> str: ...


class ConsoleGateway:
    """For development and the simulator: the text goes to the log, nowhere else."""

    def send(self, *, to: str, body: str, status_callback: str | None) -> str:
        sid = "SMconsole" + uuid.uuid4().hex
        logger.info("SMS to %s (%s): %s", to, sid, body)
        return sid


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

    def request(self, method, url, *args, **kwargs):
        if self.api_base:
            if not url.startswith(TWILIO_API_HOST + "/"):
                # Never let a test (or a stray TWILIO_REGION) reach the real Twilio.
                raise SendError(f"refusing to call {url} while TWILIO_API_BASE is set")
            url = self.api_base + url[len(TWILIO_API_HOST) :]
        return super().request(method, url, *args, **kwargs)


class TwilioGateway:
    """Sends through Twilio's Messages API. Safe to share between threads."""

    def __init__(
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
        try:
            message = self._client().messages.create(to=to, body=body, **sender, **extra)
        except (TwilioRestException, TwilioServiceException) as exc:
            status = int(exc.status)
            code = str(exc.code) if exc.code not in (None, status) else None
            raise SendError(
                f"Twilio answered {status}" + (f" (error {code})" if code else ""),
                code=code,
                transient=status == 429 or status >= 500,
                http_status=status,
            ) from exc
        except requests.RequestException as exc:
            # Timeouts land here too; Twilio may or may not have the text. Retrying is the
            # documented choice: a late duplicate beats a reminder that never comes.
            raise SendError(f"network error: {type(exc).__name__}", transient=True) from exc
        except TwilioException as exc:
            raise SendError(f"Twilio client error: {exc}", transient=True) from exc
        return message.sid


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
