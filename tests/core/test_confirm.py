"""Actions that cancel, remove, void or text many people ask first (core/confirm.py): the URL
shown (GET) is a page of its own saying what will happen; a POST without the confirm step (the
old one-click button, a crafted request) lands on that page and changes nothing; the page's
own button does the action. Through real HTTP with real CSRF tokens, on every backend."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED, csrf_token, form_fields
from tests.factories import (
    PASSWORD,
    make_coordinator,
    make_initiative,
    make_metric,
    make_organization,
    make_outcome_record,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Membership, Role
from volunteer_app.core.db import utcnow
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import OutcomeMetric
from volunteer_app.matching.models import Invitation
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.models import Message


@dataclass
class Action:
    email: str
    page: str  # where the one-click button is
    url: str
    says: list[str]  # what the confirm page tells
    done: Callable[[], bool]
    data: dict
    shows_on_get: bool = True


def words(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(response.get_data(as_text=True))).split())


@pytest.fixture
def world(db):
    now = utcnow().replace(microsecond=0)
    org = make_organization("Parks Department")
    coordinator = make_coordinator(org, "coord@example.org")
    make_user("admin@example.org", role=Role.ADMIN)
    initiative = make_initiative(org, title="Tree Crew")
    metric = make_metric(initiative, "Trees planted", unit="trees", target=100)
    spare = make_metric(initiative, "Blocks cleaned", unit="blocks", target=40)
    shift = make_shift(initiative, starts_at=now + dt.timedelta(days=3), capacity=3)
    texted = [make_user(phone=f"+1202555010{i}", consent_at=now) for i in range(2)]
    silent = make_user()  # no phone: told on the site only
    signups = [make_signup(person, shift) for person in (*texted, silent)]
    make_signup(make_user(phone="+12025550109", consent_at=now), shift, "waitlisted")
    record = make_outcome_record(metric, 12)
    candidate = make_user("cand@example.org", phone="+12025550120", consent_at=now)
    db.session.commit()
    return {
        "org": org,
        "coordinator": coordinator,
        "initiative": initiative,
        "metric": metric,
        "spare": spare,
        "shift": shift,
        "signup": signups[0],
        "record": record,
        "candidate": candidate,
    }


def _expired(db, model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def cancel_shift(db, w) -> Action:
    shift = w["shift"]
    page = f"/coordinate/shifts/{shift.id}"
    return Action(
        "coord@example.org",
        page,
        f"{page}/cancel",
        [
            "Cancel this shift?",
            "3 people hold a spot on it.",
            "1 person is on its waitlist.",
            "3 texts go out now to say it is cancelled",
            "This cannot be undone.",
        ],
        lambda: _expired(db, Shift, shift.id).status == ShiftStatus.CANCELLED,
        {},
    )


def delete_goal(db, w) -> Action:
    spare = w["spare"]
    return Action(
        "coord@example.org",
        f"/coordinate/goals/{spare.id}/edit",
        f"/coordinate/goals/{spare.id}/delete",
        ["Delete the goal Blocks cleaned?", "target of 40 blocks", "Nobody is told."],
        lambda: _expired(db, OutcomeMetric, spare.id) is None,
        {},
    )


def remove_coordinator(db, w) -> Action:
    org, coordinator = w["org"], w["coordinator"]
    page = f"/coordinate/admin/organizations/{org.id}"
    return Action(
        "admin@example.org",
        page,
        f"{page}/members/{coordinator.id}/remove",
        [
            f"Remove {coordinator.display_name} as a coordinator?",
            "stops coordinating for Parks Department at once",
            "so they become a volunteer",
        ],
        lambda: db.session.get(Membership, (coordinator.id, org.id)) is None,
        {},
    )


def move_to_waitlist(db, w) -> Action:
    shift, signup = w["shift"], w["signup"]
    page = f"/coordinate/shifts/{shift.id}/roster"
    return Action(
        "coord@example.org",
        page,
        f"{page}/{signup.id}/waitlist",
        [
            f"Move {signup.user.display_name} to the waitlist?",
            "loses their spot and goes to the end of the waitlist",
            "Nobody is texted.",
        ],
        lambda: _expired(db, Signup, signup.id).status == SignupStatus.WAITLISTED,
        {},
    )


def void_outcome(db, w) -> Action:
    record = w["record"]
    return Action(
        "coord@example.org",
        f"/coordinate/initiatives/{w['initiative'].id}/outcomes",
        f"/coordinate/outcomes/{record.id}/void",
        ["Withdraw this value?", "12 trees of Trees planted", "stops counting", "Reason"],
        lambda: _expired(db, OutcomeRecord, record.id).voided_at is not None,
        {"reason": "Counted twice"},
    )


def invite(db, w) -> Action:
    shift = w["shift"]
    page = f"/coordinate/shifts/{shift.id}/candidates"
    return Action(
        "coord@example.org",
        page,
        f"/coordinate/shifts/{shift.id}/invite",
        ["Invite 1 person to this shift?", "1 text goes out now", "0 emails go"],
        lambda: db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1,
        {"people": [str(w["candidate"].id)]},
        shows_on_get=False,  # people are chosen on the list: GET goes back to it
    )


ACTIONS = [cancel_shift, delete_goal, remove_coordinator, move_to_waitlist, void_outcome, invite]


def browser(app, email: str):
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client, "/login")},
    )
    assert response.status_code == 302
    return client


def texts(db) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message))


@pytest.mark.parametrize("make_action", ACTIONS, ids=lambda action: action.__name__)
def test_the_page_says_what_will_happen_and_its_button_does_it(app, db, world, make_action):
    action = make_action(db, world)
    client = browser(app, action.email)
    before = texts(db)

    shown = client.get(action.url)
    if action.shows_on_get:
        assert shown.status_code == 200
        for line in action.says:
            assert line in words(shown), line
    else:
        assert shown.status_code == 303
    assert not action.done() and texts(db) == before

    # The button on the page where the action lives posts without the confirm step.
    first = client.post(action.url, data={**form_fields(client, action.page), **action.data})
    assert first.status_code == 200
    page = words(first)
    for line in action.says:
        assert line in page, line
    assert not action.done() and texts(db) == before

    # The confirm page's own button: its hidden fields, as a browser sends them.
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', first.text))
    multi = re.findall(r'<input type="hidden" name="people" value="([^"]*)">', first.text)
    assert hidden["confirmed"] == "yes"
    data = {**hidden, **({"people": multi} if multi else {})}
    if "reason" in action.data:
        data["reason"] = action.data["reason"]
    done = client.post(action.url, data=data)
    assert done.status_code in (302, 303)
    assert action.done()


def test_cancelling_from_the_confirm_page_texts_only_those_who_agreed(app, db, world):
    client = browser(app, "coord@example.org")
    url = f"/coordinate/shifts/{world['shift'].id}/cancel"
    client.post(url, data={"csrf_token": csrf_token(client, url), **CONFIRMED})
    cancelled = db.session.scalars(
        sa.select(Message.to_phone).where(Message.kind == "shift_cancelled")
    ).all()
    assert len(cancelled) == 3  # the two confirmed and the one waiting who agreed to texts


@pytest.mark.parametrize("make_action", ACTIONS, ids=lambda action: action.__name__)
def test_the_confirm_step_still_needs_the_csrf_token(app, db, world, make_action):
    action = make_action(db, world)
    client = browser(app, action.email)
    response = client.post(action.url, data={**action.data, **CONFIRMED})
    assert response.status_code == 400
    assert not action.done()


def test_another_organizations_coordinator_gets_no_confirm_page(app, db, world):
    make_coordinator(make_organization("Other"), "other@example.org")
    db.session.commit()
    client = browser(app, "other@example.org")
    shift = world["shift"]
    assert client.get(f"/coordinate/shifts/{shift.id}/cancel").status_code == 404
    record = world["record"]
    assert client.get(f"/coordinate/outcomes/{record.id}/void").status_code == 404
