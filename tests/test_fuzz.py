"""Every POST form of the URL map and every id in an address, fuzzed with Hypothesis.

The routes come from `app.url_map`, so a route added later is fuzzed without editing this
file, or fails here naming what the fuzzer must be taught (who may post to it, what its URL
arguments are, where its form is shown). Each form is read from the page that shows it, the
way a browser would, and posted with a real CSRF token by the person who can reach it,
mixing good values with bad ones: empty, 100 KB, NUL and other control characters, emoji
and right-to-left text, HTML and SQL, negative and huge numbers, far dates, unknown time
zones, and fields sent twice or not at all.

What must hold: no 500; a refused post leaves every row as it was; what is stored is sane
(no control characters, no date outside the window, spots and capacity agree); and markup
that people typed is shown escaped on every page that shows it.

Repeatable: derandomized, no example database, no deadline. The counts of cases run are
printed (pytest -s) and asserted, so a fuzzer that quietly stopped posting fails.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from config import TestingConfig
from tests.conftest import AuthActions, csrf_token
from tests.factories import (
    PASSWORD,
    make_cause,
    make_coordinator,
    make_hours_entry,
    make_initiative,
    make_metric,
    make_neighborhood,
    make_organization,
    make_outcome_record,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app import create_app
from volunteer_app.accounts import password_reset
from volunteer_app.accounts.models import Role
from volunteer_app.core import bounds
from volunteer_app.core.db import utcnow
from volunteer_app.core.submissions import new_token
from volunteer_app.core.time import is_valid_timezone
from volunteer_app.extensions import db as _db
from volunteer_app.hours.models import HoursStatus
from volunteer_app.impact.models import VolunteerHourRate
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.matching.invitations import invitation_token
from volunteer_app.matching.models import Invitation
from volunteer_app.reference.models import Language, Skill

EXAMPLES_PER_FORM = 10
ID_EXAMPLES = 120
PUBLIC = "https://volunteer.example.org"
TWILIO_TOKEN = "fuzz-auth-token"

ADMIN, COORDINATOR, VOLUNTEER, ANONYMOUS, TWILIO, API = (
    "admin",
    "coordinator",
    "volunteer",
    "anonymous",
    "twilio",
    "api",
)
# Who may post where; the first matching prefix wins.
ROLES = (
    ("/api/", API),  # read-only: every POST is refused, in JSON
    ("/sms/inbound", TWILIO),
    ("/sms/status", TWILIO),
    ("/coordinate/admin", ADMIN),
    ("/impact/admin", ADMIN),
    ("/sms/simulator", ADMIN),
    ("/coordinate/invitations", VOLUNTEER),  # the invited person, logged in
    ("/coordinate", COORDINATOR),
    ("/sms/broadcast", COORDINATOR),
    ("/login", ANONYMOUS),
    ("/register", ANONYMOUS),
    ("/password", ANONYMOUS),
    ("/checkin", ANONYMOUS),
    ("/logout", VOLUNTEER),
    ("/me", VOLUNTEER),
    ("/profile", VOLUNTEER),
    ("/shifts", VOLUNTEER),
    ("/signups", VOLUNTEER),
    ("/welcome", VOLUNTEER),
    ("/i/", VOLUNTEER),
)
# Forms posted from a page that is neither their own address nor one above it.
FORM_PAGES = {
    "coordinators.delete_goal": "coordinators.edit_goal",
    "shifts.revoke_calendar": "initiatives.my_shifts",
    "shifts.rotate_calendar": "initiatives.my_shifts",
    "accounts.logout": "initiatives.home",
    "accounts.logout_everywhere": "accounts.profile",
    "roster.void_outcome_record": "roster.initiative_outcomes",
    "roster.shift_outcomes": "roster.roster",
    "matching.invite": "matching.candidates",
    "matching.accept": "matching.invitation",
    "impact.rates_load_defaults": "impact.rates_index",
}
# Twilio's webhooks have no page: these are the fields Twilio sends.
TWILIO_FIELDS = (
    ("MessageSid", "SM" + "0" * 32),
    ("AccountSid", "AC" + "0" * 32),
    ("From", "+12025550104"),
    ("To", "+12025550100"),
    ("Body", "JOIN 1234"),
    ("MessageStatus", "delivered"),
    ("ErrorCode", ""),
)

XSS = (
    "<script>fuzzxss()</script>",
    '"><img src=x onerror=fuzzxss()>',
    "<svg onload=fuzzxss()>",
)
RAW_MARKUP = re.compile(r"<script>fuzzxss|<img src=x onerror=fuzzxss|<svg onload=fuzzxss", re.I)
BAD_TEXT = (
    "",
    " ",
    "x" * 100_000,
    "a\x00b",
    "\x1b[2J",
    "line\r\nbreak",
    "😀🎉" * 40,
    "\u202egnp.exe",
    "مرحبا بالعالم",
    "שלום",
    *XSS,
    "'; DROP TABLE users; --",
    "1' OR '1'='1",
    "%s%s%n",
    "{{7*7}}",
    "-1",
    "0",
    "-99999999999999999999",
    str(2**31),
    str(2**63),
    str(2**64),
    "1e400",
    "NaN",
    "Infinity",
    "9999-12-31",
    "0001-01-01",
    "1899-12-31",
    "10000-01-01",
    "2026-02-30",
    "9999-12-31T23:59",
    "24:00",
    "23:59:60",
    "Mars/Olympus",
    "localtime",
    "Factory",
    "../../etc/passwd",
    "\u00ad\u200b",
)
# Half the listed values, half made up.
BAD_VALUES = st.one_of(
    st.sampled_from(BAD_TEXT),
    st.one_of(
        st.text(max_size=40),
        st.integers().map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.dates().map(str),
    ),
)


# ---------------------------------------------------------------------------------------------
# The routes


def _post_rules() -> list[tuple[str, str]]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    return sorted(
        (rule.endpoint, rule.rule) for rule in app.url_map.iter_rules() if "POST" in rule.methods
    )


POST_RULES = _post_rules()


def role_of(rule: str) -> str:
    for prefix, role in ROLES:
        if rule.startswith(prefix):
            return role
    raise AssertionError(f"{rule}: teach tests/test_fuzz.py who may post to it (ROLES)")


# ---------------------------------------------------------------------------------------------
# The world every form is posted into


@dataclass
class World:
    emails: dict[str, str]
    args: dict[str, object]
    per_endpoint: dict[str, dict[str, object]] = field(default_factory=dict)
    good: dict[str, dict[str, str]] = field(default_factory=dict)  # endpoint: {field: value}

    def url_args(self, app, endpoint: str) -> dict[str, object]:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        chosen = {**self.args, **self.per_endpoint.get(endpoint, {})}
        unknown = set(rule.arguments) - set(chosen)
        assert not unknown, f"{rule.rule}: teach tests/test_fuzz.py the argument(s) {unknown}"
        return {name: chosen[name] for name in rule.arguments}


@pytest.fixture
def world(app, db):
    now = utcnow()
    db.session.add_all([Skill(slug="first-aid", name="First aid"), Language(code="es", name="Es")])
    hood = make_neighborhood("north", name="North")
    make_cause("education", "Education")
    org = make_organization("Parks")
    coordinator = make_coordinator(org)
    colleague = make_coordinator(org)
    admin = make_user(role=Role.ADMIN)
    volunteer = make_user(
        phone="+12025550101", consent_at=now - dt.timedelta(days=30), calendar_token="fuzz-feed"
    )
    waiting = make_user(phone="+12025550102")
    spare = make_user("spare@example.org", phone="+12025550103")
    initiative = make_initiative(org, slug="clean-parks", title="Clean parks")
    initiative.neighborhoods.append(hood)
    draft = make_initiative(org, status=InitiativeStatus.DRAFT)
    make_metric(draft)
    metric = make_metric(initiative)
    unmeasured = make_metric(initiative, "Benches painted", unit="benches")
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=3), capacity=1)
    confirmed = make_signup(volunteer, shift)
    waitlisted = make_signup(waiting, shift, "waitlisted")
    running = make_shift(initiative, starts_at=now - dt.timedelta(hours=1), hours=3)
    make_signup(volunteer, running)
    past = make_shift(initiative, starts_at=now - dt.timedelta(days=2))
    make_signup(waiting, past, "attended")
    later = make_shift(initiative, starts_at=now + dt.timedelta(days=9))
    entry = make_hours_entry(
        volunteer, initiative, status=HoursStatus.PENDING, served_on=(now - dt.timedelta(2)).date()
    )
    record = make_outcome_record(metric, 3, period_start_on=(now - dt.timedelta(days=2)).date())
    rate = VolunteerHourRate(year=2024, region="US", cents=3479)
    invited = Invitation(shift_id=later.id, user_id=volunteer.id, channel="email")
    db.session.add_all([rate, invited])
    db.session.flush()
    from volunteer_app.accounts.organizations import invite_coordinator

    coordinator_invitation = invite_coordinator(make_organization("Library"), volunteer.email)
    reset = password_reset.make_password_reset_token(waiting, now=now)
    db.session.commit()
    return World(
        emails={
            ADMIN: admin.email,
            COORDINATOR: coordinator.email,
            VOLUNTEER: volunteer.email,
        },
        args={
            "org_id": org.id,
            "organization_id": org.id,
            "user_id": colleague.id,
            "initiative_id": initiative.id,
            "metric_id": metric.id,
            "shift_id": shift.id,
            "signup_id": confirmed.id,
            "entry_id": entry.id,
            "record_id": record.id,
            "rate_id": rate.id,
            "code": running.code,
            "token": "fuzz-feed",
            "slug": initiative.slug,
            "kind": "shifts",
            "table": "summary",
            "path": "nothing/here",
        },
        per_endpoint={
            "roster.confirm_signup": {"signup_id": waitlisted.id},
            "roster.attendance": {"shift_id": past.id},
            "roster.shift_outcomes": {"shift_id": past.id},
            "roster.roster": {"shift_id": past.id},
            "shifts.signup": {"shift_id": later.id},
            "matching.invite": {"shift_id": later.id},
            "matching.candidates": {"shift_id": later.id},
            "coordinators.publish_initiative": {"initiative_id": draft.id},
            "coordinators.edit_goal": {"metric_id": unmeasured.id},
            "coordinators.delete_goal": {"metric_id": unmeasured.id},
            "accounts.reset_password": {"token": reset},
            "coordinators.invitation": {"token": coordinator_invitation.token},
            "matching.accept": {"token": invitation_token(invited)},
            "matching.decline": {"token": invitation_token(invited)},
            "matching.invitation": {"token": invitation_token(invited)},
        },
        good={
            "accounts.login": {"email": spare.email, "password": PASSWORD},
            "accounts.forgot_password": {"email": spare.email},
            "roster.walk_in_existing": {"lookup": spare.email},
            "roster.checkin": {"phone": volunteer.phone},
            "matching.invite": {"people": str(spare.id)},
            "roster.hours_edit": {"hours": "3"},
        },
    )


# ---------------------------------------------------------------------------------------------
# Reading forms the way a browser does


@dataclass
class Field:
    name: str
    kind: str  # an input's type, or "select" / "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)
    checked: bool = False


@dataclass
class Form:
    action: str
    fields: list[Field] = field(default_factory=list)


class _FormParser(html.parser.HTMLParser):
    def __init__(self, page_path: str):
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None  # the POST form being read
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = None
            if attrs.get("method", "get").lower() == "post":
                action = urlsplit(attrs.get("action") or self.page_path).path or self.page_path
                self._form = Form(action)
                self.forms.append(self._form)
        if tag == "option" and self._select is not None:
            self._select.options.append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select.value = attrs.get("value", "")
        if self._form is None or not attrs.get("name"):
            return
        fields = self._form.fields
        if tag in ("input", "button"):
            kind = attrs.get("type", "text" if tag == "input" else "submit").lower()
            fields.append(
                Field(attrs["name"], kind, attrs.get("value", ""), checked="checked" in attrs)
            )
        elif tag == "select":
            self._select = Field(attrs["name"], "select")
            fields.append(self._select)
        elif tag == "textarea":
            self._textarea = Field(attrs["name"], "textarea")
            fields.append(self._textarea)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # As a browser does: a newline right after <textarea> is not part of the value.
            self._textarea.value = self._textarea.value.removeprefix("\r").removeprefix("\n")
            self._textarea = None


def _forms_on(client, path: str, seen: list[str]) -> list[Form]:
    response = client.get(path)
    seen.append(f"{path} {response.status_code}")
    if response.status_code != 200 or response.mimetype != "text/html":
        return []
    parser = _FormParser(path)
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def find_form(app, client, world: World, endpoint: str, url: str) -> Form:
    """The form that posts to `url`: on its own page, a page above it, or FORM_PAGES."""
    pages = [url]
    parts = url.rstrip("/").split("/")
    pages += ["/".join(parts[:n]) for n in range(len(parts) - 1, 1, -1)]
    if endpoint in FORM_PAGES:
        other = FORM_PAGES[endpoint]
        with app.test_request_context():
            pages.insert(0, url_for(other, **world.url_args(app, other)))
    seen: list[str] = []
    for page in pages:
        for form in _forms_on(client, page, seen):
            if form.action == url:
                return form
    raise AssertionError(f"{url}: no page {seen} shows its form; name the page in FORM_PAGES")


# ---------------------------------------------------------------------------------------------
# Good values, bad values


def _day(days: int) -> str:
    return (utcnow() + dt.timedelta(days=days)).date().isoformat()


PAST_DATES = ("served_on", "period_start_on", "period_end_on", "birth_date", "from", "date_from")
NAMED = {
    "email": "fuzz.person@example.org",
    "lookup": "fuzz.person@example.org",
    "phone": "2025550177",
    "password": "a long fuzzy passphrase",
    "confirm": "a long fuzzy passphrase",
    "start_time": "10:00",
    "end_time": "12:00",
    "capacity": "5",
    "target": "10",
    "hours": "3",
    "value": "3",
    "reason": "Counted twice",
    "minimum_age": "0",
    "year": "2025",
    "dollars": "34.79",
    "region": "US",
    "website": "https://example.org",
    "sms_keyword": "",
    "slug": "",
    "latitude": "",
    "longitude": "",
    "repeat_until": "",
    "body": "JOIN 1234",
    "zip_code": "20001",
}
BY_KIND = {
    "date": _day(30),
    "time": "10:00",
    "number": "5",
    "email": "fuzz.person@example.org",
    "tel": "2025550177",
    "url": "https://example.org",
    "datetime-local": "",
    "password": "a long fuzzy passphrase",
    "textarea": "Fuzz text",
    "search": "fuzz",
    "text": "Fuzz",
}


# Checkboxes a careful person leaves alone (ticking one asks for more fields).
UNTICKED = ("repeat_weekdays",)


def good_value(f: Field, chosen: dict[str, str] | None = None) -> str | None:
    """What a careful person would send for `f` (None: leave it out); `chosen` names the
    values only this world can give (an email that has an account, a phone on the roster)."""
    short = f.name.rsplit("-", 1)[-1]
    if chosen and short in chosen:
        return chosen[short]
    if f.kind in ("select", "radio"):
        return f.value or next((o for o in f.options if o), f.value)
    if f.kind in ("checkbox", "submit"):  # `checked`: ticked, or the button pressed
        return (f.value or "y") if f.checked else None
    if short == "submission_token":
        # Each post is a fresh look at the form: a reused token is answered as a repeat and
        # stores nothing, which would hide what the post itself would do.
        return new_token()
    if f.kind == "hidden" or f.value:
        return f.value
    if short in NAMED:
        return NAMED[short]
    if re.fullmatch(r"metric_\d+", short):
        return "3"
    if f.kind == "date" and short in PAST_DATES:
        return _day(-1)
    return BY_KIND.get(f.kind, "Fuzz")


def _fields_of(form: Form) -> list[Field]:
    fields = [f for f in form.fields if f.name != "csrf_token"]
    # A browser sends the one button pressed; a careful person ticks the first box of a list.
    first_submit = next((f for f in fields if f.kind == "submit"), None)
    if first_submit is not None:
        first_submit.checked = True
    boxes: dict[str, Field] = {}
    for f in fields:
        if f.kind == "checkbox" and f.name not in UNTICKED:
            boxes.setdefault(f.name, f).checked = True
    radios: dict[str, Field] = {}
    for f in fields:  # one radio group is one field
        if f.kind == "radio":
            group = radios.setdefault(f.name, Field(f.name, "radio"))
            group.options.append(f.value)
            group.value = f.value if f.checked else group.value
    return [f for f in fields if f.kind != "radio"] + list(radios.values())


TEXT_KINDS = ("text", "textarea", "search", "email", "tel", "url", "password")
# The sweep: each value in every field of its kind at once, the rest good, so a value that
# only a service or the database would refuse gets there (random spoiling rarely does).
SWEEP = (
    (TEXT_KINDS, ("a\x00b", "x" * 100_000, "😀\u202eمرحبا", "'; DROP TABLE users; --")),
    (("date",), ("9999-12-31", "0001-01-01")),
    (("datetime-local",), ("9999-12-31T23:59",)),
    (("number", "select", "radio", "checkbox", "hidden"), (str(2**31), str(2**63), "-1")),
)


def _is_number_field(f: Field) -> bool:
    values = [f.value, *f.options]
    return f.kind == "number" or any(v.isdigit() for v in values)


def sweeps(fields: list[Field], chosen: dict[str, str]) -> list[list[tuple[str, str]]]:
    found = []
    for kinds, values in SWEEP:
        targets = [f for f in fields if f.kind in kinds]
        if kinds[0] == "number":
            targets = [f for f in targets if _is_number_field(f)]
        if not targets:
            continue
        for value in values:
            pairs = []
            for f in fields:
                good = value if f in targets else good_value(f, chosen)
                if good is not None:
                    pairs.append((f.name, good))
            found.append(pairs)
    return found


@st.composite
def submissions(draw, fields: list[Field], chosen: dict[str, str]) -> list[tuple[str, str]]:
    """Form data: good values with a few bad ones, sometimes only one field spoiled (so
    every field's own check is reached), sometimes a field twice or missing."""
    spoil_one = draw(st.booleans())
    target = draw(st.sampled_from(fields)) if fields and spoil_one else None
    pairs: list[tuple[str, str]] = []
    for f in fields:
        good = good_value(f, chosen)
        if spoil_one:
            how = draw(st.sampled_from(["bad", "missing", "twice"])) if f is target else "good"
        else:
            how = draw(st.sampled_from(["good", "good", "bad", "missing", "twice"]))
        if how == "good" and good is not None:
            pairs.append((f.name, good))
        elif how == "bad":
            pairs.append((f.name, draw(BAD_VALUES)))
        elif how == "twice":
            pairs += [(f.name, good or ""), (f.name, draw(BAD_VALUES))]
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(st.sampled_from(["id", "user_id", "role", "is_admin"])), "1"))
    return pairs


# ---------------------------------------------------------------------------------------------
# What must hold


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, read on a connection of its own. The test shares the app
    context, so the session of the last request is closed first, as a request's end would."""
    _db.session.remove()
    with _db.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
            for table in _db.metadata.sorted_tables
        }


def insane_values(rows: dict[str, list[tuple]]) -> list[str]:
    """Stored values no input may leave: control characters, dates outside the window,
    time zones of no place, spot counts that disagree with the signups."""
    earliest, latest = bounds.date_window(utcnow().date())
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for value in row:
                if isinstance(value, str) and bounds.has_control_characters(
                    value, line_breaks_allowed=True
                ):
                    found.append(f"{table}: control character in {value[:60]!r}")
                day = value.date() if isinstance(value, dt.datetime) else value
                if isinstance(day, dt.date) and not earliest <= day <= latest:
                    found.append(f"{table}: {value} outside the date window")
    with _db.engine.connect() as conn:
        zones = conn.execute(sa.text("SELECT timezone FROM initiatives")).scalars()
        found += [f"initiatives: time zone {z!r}" for z in zones if not is_valid_timezone(z)]
        found += [
            f"shifts: {row}"
            for row in conn.execute(
                sa.text(
                    "SELECT s.id, s.capacity, s.spots_taken, count(g.id) FROM shifts s "
                    "LEFT JOIN signups g ON g.shift_id = s.id "
                    "AND g.status IN ('confirmed', 'attended', 'no_show') "
                    "GROUP BY s.id, s.capacity, s.spots_taken "
                    "HAVING count(g.id) <> s.spots_taken OR s.spots_taken > s.capacity"
                )
            )
        ]
    return found


LOCAL = ("", "localhost")
ERROR_MARKERS = ('class="flash flash-error"', 'class="error-summary"', 'class="error"')


def refused(client, response) -> bool:
    """Whether the app said no: a 4xx, or a page (or the page redirected to) with an error."""
    if 400 <= response.status_code < 500:
        return True
    if response.status_code in (302, 303) and urlsplit(response.location).netloc in LOCAL:
        response = client.get(response.location)
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    return any(marker in body for marker in ERROR_MARKERS)


# ---------------------------------------------------------------------------------------------
# The people who post


class Poster:
    """A browser logged in as one role (or Twilio, signing what it sends)."""

    def __init__(self, app, world: World, role: str):
        self.app, self.role = app, role
        self.client = app.test_client()
        if role in world.emails:
            response = AuthActions(self.client).login(world.emails[role])
            assert response.status_code in (302, 303), f"{role} could not log in"
        self.token = None
        if role not in (TWILIO, API):
            self.token = csrf_token(self.client, "/" if role in world.emails else "/login")

    def post(self, url: str, pairs: list[tuple[str, str]]):
        data = MultiDict(pairs)
        if self.role == TWILIO:
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + url, data)
            return self.client.post(url, data=data, headers={"X-Twilio-Signature": signature})
        if self.token:
            data.add("csrf_token", self.token)
        return self.client.post(url, data=data)


@pytest.fixture
def signed_webhooks(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", PUBLIC)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_FORM,
    derandomize=True,
    database=None,
    deadline=None,
    # The world is made once per route and lives on across its examples, as a real site would.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CASES: dict[str, list[int]] = {}  # endpoint: [posted, refused]
OTHER_CASES: dict[str, str] = {}


@pytest.mark.parametrize(("endpoint", "rule"), POST_RULES, ids=[e for e, _ in POST_RULES])
def test_every_post_form_survives_bad_input(app, db, world, signed_webhooks, endpoint, rule):
    role = role_of(rule)
    poster = Poster(app, world, role)
    with app.test_request_context():
        url = url_for(endpoint, **world.url_args(app, endpoint))
    if role == TWILIO:
        fields = [Field(name, "text", value) for name, value in TWILIO_FIELDS]
    elif role == API:
        fields = [Field("data", "text")]
    else:
        fields = _fields_of(find_form(app, poster.client, world, endpoint, url))
    counts = CASES.setdefault(endpoint, [0, 0])
    chosen = world.good.get(endpoint, {})
    known: list[dict] = []  # the rows as they are, when no accepted post changed them since

    def post(pairs):
        before = known.pop() if known else snapshot()
        response = poster.post(url, pairs)
        counts[0] += 1
        assert response.status_code < 500, (url, pairs, response.get_data(as_text=True)[:300])
        if refused(poster.client, response):
            counts[1] += 1
            after = snapshot()
            assert after == before, (url, pairs, "a refused post changed rows")
            known.append(after)

    for pairs in sweeps(fields, chosen):
        post(pairs)
    FUZZ_SETTINGS(given(submissions(fields, chosen))(post))()
    assert insane_values(snapshot()) == []
    assert counts[0] >= EXAMPLES_PER_FORM


# ---------------------------------------------------------------------------------------------
# Ids in addresses


def _id_rules(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, the first id argument) for every route with an id in its address."""
    found = []
    for rule in app.url_map.iter_rules():
        ids = re.findall(r"<int:(\w+)>", rule.rule)
        for method in sorted(rule.methods & {"GET", "POST"}):
            found += [(rule.endpoint, method, name) for name in ids[:1]]
    return sorted(found)


ID_VALUES = st.one_of(
    st.sampled_from([0, 1, 2, 3, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30, -1, -(2**63)]),
    st.integers(),
)


def test_every_id_in_an_address_is_found_or_not_found(app, db, world):
    """Huge, negative, zero, real and random ids in every route with an id, as an admin
    (who can reach every coordinator page): a page, a refusal or 404, never a 500."""
    rules = _id_rules(app)
    assert len(rules) > 40, "the URL map lost its id routes"
    admin = Poster(app, world, ADMIN)
    seen: set[tuple[str, str]] = set()

    @settings(
        max_examples=ID_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.sampled_from(rules), ID_VALUES)
    def visit(rule, number):
        endpoint, method, name = rule
        seen.add((endpoint, method))
        # The drawn number goes where the id goes, as someone editing the address would put it.
        path = url_for_id(app, endpoint, world.url_args(app, endpoint), name)
        path = path.replace("/987654321", f"/{number}", 1)
        response = admin.client.get(path) if method == "GET" else admin.post(path, [])
        assert response.status_code < 500, (path, response.status_code)
        if not 0 < number <= bounds.MAX_ID:
            assert response.status_code == 404, (path, response.status_code)

    visit()
    OTHER_CASES["ids"] = f"{ID_EXAMPLES} visits to {len(seen)} of {len(rules)} id routes"
    assert len(seen) > len(rules) // 2


def url_for_id(app, endpoint: str, args: dict, name: str) -> str:
    with app.test_request_context():
        return url_for(endpoint, **{**args, name: 987654321})


# ---------------------------------------------------------------------------------------------
# Query strings

# Every parameter a page or the API reads from its query string.
QUERY_NAMES = (
    "page", "per_page", "from", "to", "date_from", "date_to", "q", "cause", "neighborhood",
    "initiative", "organization", "region", "kind", "status", "direction", "phone", "when",
    "language", "open", "sort", "lang", "next", "blueprint", "message",
)  # fmt: skip


QUERY_SWEEP = ("9999-12-31", "0001-01-01", "2026-02-30", "9" * 30, "9" * 5000, "-1", "²", "a\x00b")


def test_every_page_survives_bad_query_strings(app, db, world):
    """Filters, pages and redirects read from the query string, on every GET page, as an
    admin (who can open them all): bad values are ignored or refused, never a 500. First a
    sweep (each value in every parameter of every page), then random mixes."""
    pages = _display_pages(app, world, markup_only=False)
    admin = Poster(app, world, ADMIN)
    for page in pages:
        for value in QUERY_SWEEP:
            response = admin.client.get(page, query_string={name: value for name in QUERY_NAMES})
            assert response.status_code < 500, (page, value[:40])

    @settings(
        max_examples=ID_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.sampled_from(pages),
        st.lists(st.tuples(st.sampled_from(QUERY_NAMES), BAD_VALUES), min_size=1, max_size=4),
    )
    def visit(page, query):
        response = admin.client.get(page, query_string=MultiDict(query))
        assert response.status_code < 500, (page, query)

    visit()
    sent = ID_EXAMPLES + len(pages) * len(QUERY_SWEEP)
    OTHER_CASES["query strings"] = f"{sent} requests to {len(pages)} pages"


# ---------------------------------------------------------------------------------------------
# Markup people typed


MARKUP_TYPES = ("text/html", "image/svg+xml")
MARKUP_KINDS = ("text", "textarea", "search")


def _display_pages(app, world: World, *, markup_only: bool = True) -> list[str]:
    """Every GET page (with `markup_only`, not the API's JSON, CSV files or calendars)."""
    pages = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "api.unknown"):
            continue
        other = rule.rule.startswith("/api/") or rule.rule.endswith((".csv", ".ics"))
        if markup_only and other:
            continue
        with app.test_request_context():
            pages.append(url_for(rule.endpoint, **world.url_args(app, rule.endpoint)))
    return sorted(set(pages))


def test_markup_people_type_is_shown_escaped_everywhere(app, db, world, signed_webhooks):
    """Every text field of every form gets a script or an onerror image; then every page,
    as every role, shows it only escaped."""
    posters = {role: Poster(app, world, role) for role in (ADMIN, COORDINATOR, VOLUNTEER)}
    posters[ANONYMOUS] = Poster(app, world, ANONYMOUS)
    # The admin sees every coordinator page, so the coordinator's own walk would add nothing.
    readers = {role: posters[role] for role in (ADMIN, VOLUNTEER, ANONYMOUS)}
    stored = 0
    skip = {"accounts.logout", "accounts.logout_everywhere", "accounts.login"}
    # What ends, removes or cancels goes last, so the forms before it still have their pages.
    ending = re.compile(
        r"cancel|close|draft|delete|remove|void|revoke|decline|waitlist|confirm|accept"
    )
    for endpoint, rule in sorted(POST_RULES, key=lambda r: bool(ending.search(r[0]))):
        role = role_of(rule)
        if endpoint in skip or role not in posters:
            continue
        poster = posters[role]
        with app.test_request_context():
            url = url_for(endpoint, **world.url_args(app, endpoint))
        try:
            fields = _fields_of(find_form(app, poster.client, world, endpoint, url))
        except AssertionError:
            if ending.search(endpoint):  # the thing it would end is gone already
                continue
            raise
        for payload in XSS:
            pairs = []
            for f in fields:
                good = good_value(f, world.good.get(endpoint, {}))
                if f.kind in MARKUP_KINDS and f.name.rsplit("-", 1)[-1] not in NAMED:
                    pairs.append((f.name, payload))
                elif good is not None:
                    pairs.append((f.name, good))
            response = poster.post(url, pairs)
            assert response.status_code < 500, (url, pairs)
            stored += not refused(poster.client, response)
    rows = snapshot()
    kept = sum(
        1
        for table in rows.values()
        for row in table
        for value in row
        if isinstance(value, str) and "fuzzxss" in value
    )
    pages = _display_pages(app, world)
    escaped, raw = 0, []
    for role, poster in readers.items():
        for page in pages:
            response = poster.client.get(page)
            if response.mimetype not in MARKUP_TYPES:
                continue
            body = response.get_data(as_text=True)
            raw += [f"{role} {page}" for _ in RAW_MARKUP.finditer(body)]
            escaped += body.count("fuzzxss")
    OTHER_CASES["markup"] = (
        f"{stored} posts accepted, {kept} values kept, shown {escaped} times escaped"
    )
    assert raw == []
    # The check is live: payloads were stored and pages showed them (escaped).
    assert kept >= 10 and escaped >= 10


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if CASES or OTHER_CASES:
        posted = sum(count for count, _ in CASES.values())
        refused_count = sum(no for _, no in CASES.values())
        print(f"\nfuzz: {posted} form posts ({refused_count} refused) to {len(CASES)} routes")
        for endpoint, (count, no) in sorted(CASES.items()):
            print(f"  {endpoint}: {count} posted, {count - no} accepted")
        for name, what in sorted(OTHER_CASES.items()):
            print(f"  {name}: {what}")
        CASES.clear()  # the next database's run counts afresh
        OTHER_CASES.clear()


def test_every_post_route_is_fuzzed():
    """The parametrization above is the URL map's POST routes, all of them."""
    assert len(POST_RULES) > 40
    assert {role_of(rule) for _, rule in POST_RULES} == {
        ADMIN,
        COORDINATOR,
        VOLUNTEER,
        ANONYMOUS,
        TWILIO,
        API,
    }
