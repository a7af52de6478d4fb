"""The coordinators issue's "Done when", walked as a new coordinator would: every step is a real
HTTP request with a real CSRF token, forms are submitted with the values their pages pre-fill,
and each step is checked both in the database and on the page.

Pages read the real clock, so shifts are placed relative to utcnow().
"""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.conftest import AuthActions
from tests.factories import (
    make_cause,
    make_coordinator,
    make_neighborhood,
    make_organization,
    make_shift,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core.db import utcnow
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.shifts.models import Shift, Signup, SignupStatus

TZ = "America/New_York"
NEW_YORK = ZoneInfo(TZ)


# ---------------------------------------------------------------------------------------------
# A browser's view of a page


class _FormReader(HTMLParser):
    """Collects the values a browser would submit from each POST form on a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def _add(self, name, value):
        self._form["fields"].setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "action": a.get("action") or "",
                "method": a.get("method", "get"),
                "fields": {},
            }
            self.forms.append(self._form)
        elif self._form is None or ("name" not in a and tag != "option"):
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].setdefault(a["name"], [])
                return
            self._add(a["name"], a.get("value", "on" if kind in ("checkbox", "radio") else ""))
        elif tag == "select":
            self._select = {"name": a["name"], "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["chosen"] = value
        elif tag == "textarea":
            self._textarea = a["name"]
            self._add(self._textarea, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"]
            self._add(self._select["name"], chosen if chosen is not None else self._select["first"])
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._form["fields"][self._textarea][-1] += data


def post_form(client, page_url: str, changes: dict | None = None, action: str | None = None):
    """Open `page_url`, take its POST form (the one posting to `action`, if given), change the
    fields named in `changes` and submit it with everything else as the page filled it in."""
    page = client.get(page_url)
    assert page.status_code == 200, page_url
    reader = _FormReader()
    reader.feed(page.get_data(as_text=True))
    forms = [f for f in reader.forms if f["method"].lower() == "post"]
    # The page's own form, not the log-out button every page carries.
    wanted = {action} if action is not None else {"", page_url, page_url.split("?")[0]}
    forms = [f for f in forms if f["action"] in wanted]
    assert forms, f"no POST form{' to ' + action if action else ''} on {page_url}"
    form = forms[0]
    data = {name: values for name, values in form["fields"].items() if values}
    assert any(name.endswith("csrf_token") for name in data), (
        f"the form on {page_url} carries no CSRF token"
    )
    for name, value in (changes or {}).items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(form["action"] or page_url, data=data)


def words(response) -> str:
    """The page's text as a reader sees it: tags removed, whitespace collapsed."""
    page = html.unescape(response.get_data(as_text=True))
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


def logged_in(app, email: str):
    client = app.test_client()
    response = AuthActions(client).login(email)
    assert response.status_code in (302, 303), f"{email} could not log in"
    return client


def next_saturday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)


def last_ended_saturday(now: dt.datetime) -> dt.datetime:
    """09:00 local on the latest Saturday whose 09:00-12:00 shift is over."""
    day = now.astimezone(NEW_YORK).date()
    while True:
        if day.weekday() == 5:
            starts_at = dt.datetime.combine(day, dt.time(9), NEW_YORK)
            if starts_at + dt.timedelta(hours=3) < now:
                return starts_at.astimezone(dt.UTC)
        day -= dt.timedelta(days=1)


def soon_shift_times(now: dt.datetime) -> tuple[dt.date, dt.time, dt.time]:
    """A local date, start and end for a shift starting about ten minutes from now, so that
    attendance is already open; kept within one local day, whatever the hour."""
    start = (now + dt.timedelta(minutes=10)).astimezone(NEW_YORK).replace(second=0)
    if start.hour == 23 and start.minute == 59:
        start = (start + dt.timedelta(minutes=1)).replace(hour=0, minute=0)
    end = min(start + dt.timedelta(hours=1), start.replace(hour=23, minute=59))
    return start.date(), start.time(), end.time()


# ---------------------------------------------------------------------------------------------
# The journey


def test_a_new_coordinator_runs_a_tree_planting_initiative_end_to_end(app, db):
    # 1. The city has an organization with a new coordinator, an admin, two volunteers and the
    # reference data a tree-planting initiative needs.
    org = make_organization("Parks Department")
    coordinator = make_coordinator(org, "coord@example.org")
    make_user("admin@example.org", role=Role.ADMIN)
    ana = make_user("ana@example.org", name="Ana Rivera")
    ben = make_user("ben@example.org", name="Ben Okafor")
    environment = make_cause("environment", "Environment")
    riverside = make_neighborhood("riverside", name="Riverside")
    db.session.commit()
    coord = logged_in(app, coordinator.email)

    # 2. From the blueprint list, the coordinator starts a Storm Busters initiative: the form
    # comes with the blueprint's goals and cause filled in.
    listing = coord.get("/coordinate/initiatives")
    assert "/coordinate/initiatives/new?blueprint=storm-busters" in listing.get_data(as_text=True)
    form_page = coord.get("/coordinate/initiatives/new?blueprint=storm-busters")
    assert "Trees planted" in words(form_page)
    assert "Rain gardens planted" in words(form_page)
    response = post_form(
        coord,
        "/coordinate/initiatives/new?blueprint=storm-busters",
        {
            "title": "Riverside Tree Crew",
            "summary": "Neighbors plant street trees along the river.",
            "timezone": TZ,
            "neighborhoods": [str(riverside.id)],
        },
    )
    assert response.status_code == 303, words(response)[:2000]
    initiative = db.session.scalar(
        sa.select(Initiative).where(Initiative.title == "Riverside Tree Crew")
    )
    assert initiative is not None
    assert initiative.timezone == TZ
    assert initiative.cause_id == environment.id
    assert initiative.blueprint == "storm-busters"
    assert initiative.status == InitiativeStatus.DRAFT
    goals = {m.name: m for m in initiative.metrics}
    assert {"Trees planted", "Rain gardens planted", "Riverbank restored"} <= set(goals)
    trees = goals["Trees planted"]
    assert trees.target == 500
    home_url = f"/coordinate/initiatives/{initiative.id}"
    assert response.headers["Location"].endswith(home_url)
    overview = coord.get(home_url)
    assert "Trees planted" in words(overview)
    assert "0 of 500 trees" in words(overview)

    # 3. Publish: the blueprint's goals make it publishable.
    response = post_form(coord, home_url, action=f"{home_url}/publish")
    assert response.status_code == 303
    db.session.expire_all()
    assert initiative.status == InitiativeStatus.PUBLISHED
    assert "Published" in words(coord.get(home_url))

    # 4. A weekly Saturday series, 09:00-12:00 local, for six weeks from next Saturday.
    today_local = utcnow().astimezone(NEW_YORK).date()
    first = next_saturday(today_local)
    last = first + dt.timedelta(weeks=5)
    new_shift_url = f"{home_url}/shifts/new"
    response = post_form(
        coord,
        new_shift_url,
        {
            "starts_on": first.isoformat(),
            "start_time": "09:00",
            "end_time": "12:00",
            "capacity": "8",
            "location_name": "Riverside Park",
            "address": "1 River Rd",
            "neighborhood": str(riverside.id),
            "repeat_weekdays": ["5"],
            "repeat_until": last.isoformat(),
        },
    )
    assert response.status_code == 303, words(response)[:2000]
    assert "6 shifts scheduled" in words(coord.get(home_url))
    series = db.session.scalars(
        sa.select(Shift).where(Shift.initiative_id == initiative.id).order_by(Shift.starts_at)
    ).all()
    assert len(series) == 6
    assert len({s.series_id for s in series}) == 1 and series[0].series_id is not None
    for week, shift in enumerate(series):
        start = shift.starts_at.astimezone(NEW_YORK)
        assert start.date() == first + dt.timedelta(weeks=week)
        assert (start.hour, start.minute) == (9, 0), "every shift starts at 09:00 local"
        assert shift.ends_at.astimezone(NEW_YORK).hour == 12
        assert shift.starts_at > utcnow()

    # 5. Signups arrive: Ana and Ben sign up for the first Saturday from their own browsers,
    # and the coordinator sees both on the roster.
    saturday = series[0]
    volunteers = {person.email: logged_in(app, person.email) for person in (ana, ben)}
    for browser in volunteers.values():
        response = post_form(
            browser, f"/shifts/{saturday.id}", action=f"/shifts/{saturday.id}/signup"
        )
        assert response.status_code == 303
        assert "You're signed up" in words(browser.get(f"/shifts/{saturday.id}"))
    confirmed = db.session.scalars(
        sa.select(Signup.user_id).where(
            Signup.shift_id == saturday.id, Signup.status == SignupStatus.CONFIRMED
        )
    ).all()
    assert sorted(confirmed) == sorted([ana.id, ben.id])
    roster = coord.get(f"/coordinate/shifts/{saturday.id}/roster")
    assert roster.status_code == 200
    assert "Ana Rivera" in words(roster) and "Ben Okafor" in words(roster)

    # 6. Attendance on a phone. The Saturdays are in the future, so the coordinator adds a
    # shift starting in about ten minutes (attendance opens half an hour before the start),
    # the volunteers sign up, and the coordinator marks Ana present and Ben absent at once.
    starts_on, start_time, end_time = soon_shift_times(utcnow())
    response = post_form(
        coord,
        new_shift_url,
        {
            "starts_on": starts_on.isoformat(),
            "start_time": start_time.strftime("%H:%M"),
            "end_time": end_time.strftime("%H:%M"),
            "capacity": "5",
            "location_name": "Riverside Park",
            "address": "1 River Rd",
        },
    )
    assert response.status_code == 303, words(response)[:2000]
    today_shift = db.session.scalar(
        sa.select(Shift).where(Shift.initiative_id == initiative.id, Shift.series_id.is_(None))
    )
    assert today_shift is not None and today_shift.starts_at > utcnow()
    for browser in volunteers.values():
        response = post_form(
            browser, f"/shifts/{today_shift.id}", action=f"/shifts/{today_shift.id}/signup"
        )
        assert response.status_code == 303
    signups = {
        s.user_id: s
        for s in db.session.scalars(sa.select(Signup).where(Signup.shift_id == today_shift.id))
    }
    assert set(signups) == {ana.id, ben.id}

    attendance_url = f"/coordinate/shifts/{today_shift.id}/attendance"
    page = coord.get(attendance_url)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert re.search(r'<meta name="viewport" content="width=device-width[^"]*"', body)
    assert 'class="attendance"' in body and "Attendance opens at" not in body
    assert f'name="mark_{signups[ana.id].id}"' in body
    assert f'name="mark_{signups[ben.id].id}"' in body
    response = post_form(
        coord,
        attendance_url,
        {
            f"mark_{signups[ana.id].id}": "present",
            f"mark_{signups[ben.id].id}": "absent",
            "save": "1",
        },
    )
    assert response.status_code == 303
    assert "Attendance saved: 1 present, 1 absent." in words(coord.get(attendance_url))
    db.session.expire_all()
    assert signups[ana.id].status == SignupStatus.ATTENDED
    assert signups[ben.id].status == SignupStatus.NO_SHOW
    credited = db.session.scalars(
        sa.select(HoursEntry).where(HoursEntry.shift_id == today_shift.id)
    ).all()
    assert [(e.user_id, e.status, e.source) for e in credited] == [
        (ana.id, HoursStatus.APPROVED, HoursSource.ATTENDANCE)
    ]
    assert credited[0].minutes > 0

    # 7. Ana reports an hour and a half she served off-shift; the coordinator approves it
    # from the queue.
    ana_browser = volunteers[ana.email]
    served_on = today_local - dt.timedelta(days=2)
    response = post_form(
        ana_browser,
        "/me/hours/report",
        {
            "initiative_id": str(initiative.id),
            "served_on": served_on.isoformat(),
            "hours": "1.5",
            "note": "Watered the new saplings",
        },
    )
    assert response.status_code == 303, words(response)[:2000]
    reported = db.session.scalar(
        sa.select(HoursEntry).where(
            HoursEntry.user_id == ana.id, HoursEntry.source == HoursSource.SELF_REPORT
        )
    )
    assert reported is not None
    assert (reported.status, reported.minutes) == (HoursStatus.PENDING, 90)
    queue = coord.get("/coordinate/hours")
    assert "Ana Rivera" in words(queue) and "Watered the new saplings" in words(queue)
    response = post_form(
        coord,
        "/coordinate/hours",
        {"entry_ids": [str(reported.id)], "approve": "1"},
    )
    assert response.status_code == 303
    after = coord.get("/coordinate/hours")
    assert "1 entry approved." in words(after)
    assert "Watered the new saplings" not in words(after)
    db.session.expire_all()
    assert reported.status == HoursStatus.APPROVED
    assert reported.reviewed_by_id == coordinator.id
    trail = db.session.scalars(
        sa.select(HoursAudit).where(HoursAudit.hours_entry_id == reported.id)
    ).all()
    assert any(a.status_after == "approved" and a.changed_by_id == coordinator.id for a in trail)

    # 8. Last Saturday's shift (it was scheduled before this story began, so it is written
    # directly) has ended: its roster asks what it achieved, and the coordinator records
    # 12 trees planted.
    ended = make_shift(
        initiative, starts_at=last_ended_saturday(utcnow()), hours=3, location_name="Riverside Park"
    )
    db.session.commit()
    ended_roster = f"/coordinate/shifts/{ended.id}/roster"
    page = coord.get(ended_roster)
    assert "What did this shift achieve?" in words(page)
    assert f'name="outcome-metric_{trees.id}"' in page.get_data(as_text=True)
    response = post_form(
        coord,
        ended_roster,
        {f"outcome-metric_{trees.id}": "12"},
        action=f"/coordinate/shifts/{ended.id}/outcomes",
    )
    assert response.status_code == 303
    assert "1 value recorded." in words(coord.get(ended_roster))
    record = db.session.scalar(sa.select(OutcomeRecord).where(OutcomeRecord.shift_id == ended.id))
    assert record is not None
    assert (record.metric_id, record.value, record.voided_at) == (trees.id, 12, None)
    assert record.recorded_by_id == coordinator.id
    assert "12 of 500 trees" in words(coord.get(home_url))

    # 9. Anyone, logged in or not, sees the progress on the public page, and nobody's name
    # or email.
    public = app.test_client().get(f"/initiatives/{initiative.slug}")
    assert public.status_code == 200
    text = words(public)
    assert "Riverside Tree Crew" in text
    assert "12 of 500 trees" in text
    for person in (ana, ben, coordinator):
        assert person.name not in text
        assert person.email not in public.get_data(as_text=True)
