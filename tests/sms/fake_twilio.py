"""A fake of Twilio's Messages API, served over real HTTP on 127.0.0.1.

The real `twilio` Client posts to it (see TWILIO_API_BASE), so tests exercise the client's own
encoding, authentication and error parsing. It records every POST and can be told to answer
an error, throttle, fail or hang, for every number or for one.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

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
class Rule:
    status: int
    code: int | None = None
    to: str | None = None  # None: every number
    times: int | None = None  # None: for ever
    hang_seconds: float = 0.0
    used: int = field(default=0)

    def matches(self, to: str) -> bool:
        return (self.to is None or self.to == to) and (self.times is None or self.used < self.times)


class FakeTwilio:
    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._posts: list[Post] = []
        self._rules: list[Rule] = []
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
        """Forget every POST and rule, once any hanging request has finished."""
        self._release.set()
        self.wait_idle()
        with self._lock:
            self._posts.clear()
            self._rules.clear()
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
    ) -> None:
        """Answer `status` (with Twilio error `code`) to POSTs for `to` (or any number)."""
        with self._lock:
            self._rules.append(Rule(status=status, code=code, to=to, times=times))

    def hang(self, seconds: float, *, to: str | None = None, times: int | None = None) -> None:
        """Wait `seconds` before answering (201), longer than the client's timeout."""
        with self._lock:
            self._rules.append(Rule(status=201, to=to, times=times, hang_seconds=seconds))

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

    # Handling a request ----------------------------------------------------------------------

    def _answer(self, path: str, auth_header: str, raw_body: bytes) -> tuple[int, dict]:
        match = MESSAGES_PATH.match(path)
        if match is None:
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        account_sid = match["sid"]
        user, password = _basic_auth(auth_header)
        if user != self.account_sid or password != self.auth_token or account_sid != user:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        form = {key: values[-1] for key, values in parse_qs(raw_body.decode()).items()}
        with self._lock:
            self._in_flight += 1
        try:
            return self._answer_form(account_sid, user, form)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _answer_form(self, account_sid: str, user: str, form: dict[str, str]) -> tuple[int, dict]:
        to = form.get("To", "")
        with self._lock:
            rule = next((rule for rule in self._rules if rule.matches(to)), None)
            if rule is not None:
                rule.used += 1
            release = self._release
        if rule is not None and rule.hang_seconds:
            release.wait(rule.hang_seconds)
        if rule is not None and rule.status != 201:
            self._record(Post(account_sid, user, form, None, rule.status))
            code = rule.code or rule.status
            return rule.status, {
                "code": code,
                "message": ERROR_TEXT.get(code, "Error"),
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": rule.status,
            }
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not to or not form.get("Body") or not sender:
            self._record(Post(account_sid, user, form, None, 400))
            return 400, {"code": 21604, "message": "A 'To', 'Body' and sender are required"}
        sid = f"SM{next(self._sequence):08d}{uuid.uuid4().hex[:24]}"
        self._record(Post(account_sid, user, form, sid, 201))
        return 201, {
            "sid": sid,
            "account_sid": account_sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "status": "queued",
            "num_segments": str(_segments(form.get("Body", ""))),
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        }

    def _record(self, post: Post) -> None:
        with self._lock:
            self._posts.append(post)


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
            raw = self.rfile.read(length)
            status, payload = fake._answer(self.path, self.headers.get("Authorization", ""), raw)
            self._reply(status, payload)

        def do_GET(self):  # noqa: N802
            self._reply(404, {"code": 20404, "message": "Not found"})

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format, *args):  # noqa: A002 - quiet in tests
            pass

    return Handler
