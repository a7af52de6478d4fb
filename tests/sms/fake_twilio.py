"""A fake of Twilio's Messages API, served over real HTTP on 127.0.0.1.

The real `twilio` Client talks to it (see TWILIO_API_BASE), so tests exercise the client's own
encoding, authentication, paging and error parsing. It answers what the application calls:

- POST .../Messages.json creates a message (201, status `queued`, as Twilio answers);
- GET .../Messages.json lists them, newest first, filtered by To, From and DateSent (also
  `DateSent<` and `DateSent>`, which the client sends for "on or before" and "on or after";
  Twilio compares whole GMT days), PageSize pages with next_page_uri.

A created message is listed at once as `sent` (the fake's own queue never backs up), stamped
by the fake's clock (`clock`, the wall clock unless a test sets it). It records every request
and can be told to answer an error (with a Retry-After), throttle, fail or hang, for every
number or one, for a share of the requests, creating or listing. A hanging create still
creates the message when it finally answers, whether or not the client waited: as Twilio
would, which is why a timeout is not proof that nothing was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import itertools
import json
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-auth-token-for-tests"  # noqa: S105
FROM_NUMBER = "+15005550006"

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-zA-Z]+)/Messages\.json$")

ERROR_TEXT = {
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
}

# For tests of timeouts: the worker's HTTP timeout, and a hang well past it. Generous, so a
# loaded machine (two cores, other work) never pushes a normal answer past the timeout.
TIMEOUT = 1.5
HANG = 3.0


@dataclass
class Post:
    """One POST the fake received."""

    account_sid: str
    auth_user: str
    form: dict[str, str]
    sid: str | None  # the SID answered, None when the answer was an error
    status: int

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


@dataclass
class Lookup:
    """One GET of the Messages list the fake received."""

    query: dict[str, str]
    status: int
    sids: list[str]  # the SIDs listed on that page


@dataclass
class Rule:
    status: int
    code: int | None = None
    to: str | None = None  # None: every number
    times: int | None = None  # None: for ever
    hang_seconds: float = 0.0
    on: str = "create"  # or "list"
    share: float = 1.0  # of the matching requests, drawn by the fake's seeded random
    retry_after: str | None = None
    used: int = field(default=0)

    def matches(self, on: str, to: str, draw: Callable[[], float]) -> bool:
        return (
            self.on == on
            and (self.to is None or self.to == to)
            and (self.times is None or self.used < self.times)
            and (self.share >= 1 or draw() < self.share)
        )


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FakeTwilio:
    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._posts: list[Post] = []
        self._lookups: list[Lookup] = []
        self._messages: list[dict] = []  # the message resources, oldest first
        self._rules: list[Rule] = []
        self._random = random.Random(0)
        self.clock: Callable[[], dt.datetime] = _wall_clock
        self._sequence = itertools.count(1)
        self._release = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # Lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget every request, message and rule, and go back to the wall clock, once any
        hanging request has finished."""
        self._release.set()
        self.wait_idle()
        with self._lock:
            self._posts.clear()
            self._lookups.clear()
            self._messages.clear()
            self._rules.clear()
            self._random = random.Random(0)
            self.clock = _wall_clock
            self._release = threading.Event()

    def wait_idle(self, timeout: float = 10) -> None:
        """Wait until no request is being handled (a hanging one records its POST at the end)."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    # Telling it what to answer ---------------------------------------------------------------

    def fail(
        self,
        status: int,
        code: int | None = None,
        *,
        to: str | None = None,
        times: int | None = None,
        on: str = "create",
        share: float = 1.0,
        retry_after: str | None = None,
        hang: float = 0.0,
    ) -> None:
        """Answer `status` (with Twilio error `code`, and a Retry-After header if given) to
        creates (`on="list"`: lookups) for `to` (or any number), `times` times (or for ever),
        to a `share` of them, after `hang` seconds (past the client's timeout: a request that
        timed out and created nothing)."""
        with self._lock:
            self._rules.append(
                Rule(status, code, to, times, hang, on, share, retry_after=retry_after)
            )

    def hang(
        self,
        seconds: float,
        *,
        to: str | None = None,
        times: int | None = None,
        on: str = "create",
        share: float = 1.0,
    ) -> None:
        """Wait `seconds` before answering as usual: past the client's timeout, a hang; under
        it, a slow Twilio. A hanging create still creates its message at the end."""
        with self._lock:
            self._rules.append(
                Rule(200, to=to, times=times, hang_seconds=seconds, on=on, share=share)
            )

    # What it saw -----------------------------------------------------------------------------

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._posts)

    @property
    def accepted(self) -> list[Post]:
        return [post for post in self.posts if post.status == 201]

    def posts_to(self, number: str) -> list[Post]:
        return [post for post in self.posts if post.to == number]

    @property
    def lookups(self) -> list[Lookup]:
        with self._lock:
            return list(self._lookups)

    def sent_to(self, number: str) -> list[dict]:
        """The messages created for `number`, oldest first (whoever the client gave up on)."""
        with self._lock:
            return [message for message in self._messages if message["to"] == number]

    # Handling a request ----------------------------------------------------------------------

    def _answer(
        self, method: str, target: str, auth_header: str, raw_body: bytes
    ) -> tuple[int, dict, dict[str, str]]:
        url = urlsplit(target)
        match = MESSAGES_PATH.match(url.path)
        if match is None:
            return 404, {"code": 20404, "message": "The requested resource was not found"}, {}
        account_sid = match["sid"]
        user, password = _basic_auth(auth_header)
        if user != self.account_sid or password != self.auth_token or account_sid != user:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}, {}
        raw = raw_body.decode() if method == "POST" else url.query
        params = {key: values[-1] for key, values in parse_qs(raw).items()}
        with self._lock:
            self._in_flight += 1
        try:
            if method == "POST":
                return self._answer_create(account_sid, user, params)
            return self._answer_list(account_sid, url.path, params)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _apply_rules(self, on: str, to: str) -> Rule | None:
        """The first rule for this request, once any hang it asks for is over."""
        with self._lock:
            rule = next(
                (rule for rule in self._rules if rule.matches(on, to, self._random.random)),
                None,
            )
            if rule is not None:
                rule.used += 1
            release = self._release
        if rule is not None and rule.hang_seconds:
            release.wait(rule.hang_seconds)
        return rule

    def _answer_create(
        self, account_sid: str, user: str, form: dict[str, str]
    ) -> tuple[int, dict, dict[str, str]]:
        to = form.get("To", "")
        rule = self._apply_rules("create", to)
        if rule is not None and rule.status >= 400:
            self._record(Post(account_sid, user, form, None, rule.status))
            return _error(rule)
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not to or not form.get("Body") or not sender:
            self._record(Post(account_sid, user, form, None, 400))
            return 400, {"code": 21604, "message": "A 'To', 'Body' and sender are required"}, {}
        sid = f"SM{next(self._sequence):08d}{uuid.uuid4().hex[:24]}"
        stamp = email.utils.format_datetime(self.clock().astimezone(dt.UTC), usegmt=True)
        message = {
            "sid": sid,
            "account_sid": account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": str(_segments(form.get("Body", ""))),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": stamp,
            "date_updated": stamp,
            "date_sent": None,
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self._posts.append(Post(account_sid, user, form, sid, 201))
            # Listed as Twilio shows it once sent; the create answers as Twilio does at once.
            self._messages.append({**message, "status": "sent", "date_sent": stamp})
        return 201, message, {}

    def _answer_list(
        self, account_sid: str, path: str, query: dict[str, str]
    ) -> tuple[int, dict, dict[str, str]]:
        rule = self._apply_rules("list", query.get("To", ""))
        if rule is not None and rule.status >= 400:
            self._record_lookup(query, rule.status, [])
            return _error(rule)
        try:
            size = min(int(query.get("PageSize", 50)), 1000)
            page = int(query.get("Page", 0))
            on = _gmt_day(query.get("DateSent"))
            on_or_before = _gmt_day(query.get("DateSent<"))
            on_or_after = _gmt_day(query.get("DateSent>"))
        except ValueError:
            self._record_lookup(query, 400, [])
            return 400, {"code": 20001, "message": "Invalid parameter", "status": 400}, {}
        with self._lock:
            matching = [
                message
                for message in reversed(self._messages)
                if message["account_sid"] == account_sid
                and query.get("To") in (None, message["to"])
                and query.get("From") in (None, message["from"])
                and _within(_day_of(message["date_sent"]), on, on_or_before, on_or_after)
            ]
        shown = matching[page * size : (page + 1) * size]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            extra = {"PageToken": f"PA{shown[-1]['sid']}"} if number > page and shown else {}
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number, **extra})}"

        more = (page + 1) * size < len(matching)
        self._record_lookup(query, 200, [message["sid"] for message in shown])
        return (
            200,
            {
                "messages": shown,
                "start": page * size,
                "end": page * size + max(len(shown) - 1, 0),
                "page": page,
                "page_size": size,
                "uri": page_uri(page),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "previous_page_uri": page_uri(page - 1) if page else None,
            },
            {},
        )

    def _record(self, post: Post) -> None:
        with self._lock:
            self._posts.append(post)

    def _record_lookup(self, query: dict[str, str], status: int, sids: list[str]) -> None:
        with self._lock:
            self._lookups.append(Lookup(query, status, sids))


def _error(rule: Rule) -> tuple[int, dict, dict[str, str]]:
    code = rule.code or rule.status
    headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
    return (
        rule.status,
        {
            "code": code,
            "message": ERROR_TEXT.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": rule.status,
        },
        headers,
    )


def _gmt_day(value: str | None) -> dt.date | None:
    """A DateSent value: Twilio reads the GMT day (the client sends YYYY-MM-DDThh:mm:ssZ)."""
    return dt.date.fromisoformat(value[:10]) if value else None


def _day_of(rfc2822: str | None) -> dt.date | None:
    return email.utils.parsedate_to_datetime(rfc2822).date() if rfc2822 else None


def _within(day, on, on_or_before, on_or_after) -> bool:
    if on is None and on_or_before is None and on_or_after is None:
        return True
    if day is None:  # never sent: no DateSent to match
        return False
    return (
        (on is None or day == on)
        and (on_or_before is None or day <= on_or_before)
        and (on_or_after is None or day >= on_or_after)
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hung up mid-request is part of the timeout tests, not a failure


def _basic_auth(header: str) -> tuple[str, str]:
    if not header.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


def _segments(body: str) -> int:
    from volunteer_app.sms.segments import count_segments

    return count_segments(body)


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API does
        # Headers and body go out in two writes; with Nagle on, the client's delayed ACK
        # would hold every answer back 40 ms.
        disable_nagle_algorithm = True

        def do_POST(self):  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length") or 0)
            self._handle("POST", self.rfile.read(length))

        def do_GET(self):  # noqa: N802
            self._handle("GET", b"")

        def _handle(self, method: str, raw: bytes) -> None:
            status, payload, headers = fake._answer(
                method, self.path, self.headers.get("Authorization", ""), raw
            )
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format, *args):  # noqa: A002 - quiet in tests
            pass

    return Handler
