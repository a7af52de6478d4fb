"""Hours: self-reports wait for approval, bulk review, corrections with a trail, rounding."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_coordinator,
    make_hours_entry,
    make_initiative,
    make_organization,
    make_shift,
    make_signup,
    make_user,
)
from volunteer_app.accounts.models import Role
from volunteer_app.core.time import local
from volunteer_app.hours import services as hours
from volunteer_app.hours.models import HoursAudit, HoursEntry, HoursSource, HoursStatus
from volunteer_app.initiatives.models import InitiativeStatus
from volunteer_app.reference.settings import get_setting


@pytest.fixture
def volunteer(db):
    return make_user(email="vol@example.org", name="Val Unteer")


def local_today(clock) -> dt.date:
    """Today where the initiative is (tests/roster/conftest.py: New York)."""
    return local(clock, "America/New_York").date()


def report(auth, initiative, served_on, hours_text, note="Raked leaves"):
    return auth.post(
        "/me/hours/report",
        {
            "initiative_id": str(initiative.id),
            "served_on": served_on.isoformat(),
            "hours": hours_text,
            "note": note,
        },
    )


def pending(db, **kw):
    return make_hours_entry(
        kw.pop("user"),
        kw.pop("initiative"),
        source=HoursSource.SELF_REPORT,
        status=HoursStatus.PENDING,
        **kw,
    )


def test_self_report_waits_for_approval(db, client, auth, login, volunteer, initiative, clock):
    login(volunteer)
    served_on = local_today(clock) - dt.timedelta(days=3)

    response = report(auth, initiative, served_on, "2.5")

    assert response.status_code == 303
    entry = db.session.scalar(sa.select(HoursEntry))
    assert (entry.user_id, entry.initiative_id, entry.minutes) == (volunteer.id, initiative.id, 150)
    assert entry.source == HoursSource.SELF_REPORT and entry.status == HoursStatus.PENDING
    assert entry.served_on == served_on and entry.note == "Raked leaves"
    page = client.get("/me/hours").get_data(as_text=True)
    assert "Waiting for approval" in page and initiative.title in page


def test_report_form_lists_served_initiatives_first(
    db, client, login, volunteer, initiative, org, clock
):
    make_initiative(org, title="Aardvark rescue")  # first by title, but not served
    make_initiative(org, title="Zzz draft", status=InitiativeStatus.DRAFT)
    served_shift = make_shift(initiative, starts_at=clock - dt.timedelta(days=7))
    make_signup(volunteer, served_shift, "attended")
    login(volunteer)
    page = client.get("/me/hours/report").get_data(as_text=True)
    assert page.index(initiative.title) < page.index("Aardvark rescue")
    assert "Where you have served" in page and "Zzz draft" not in page


@pytest.mark.parametrize(
    ("days_ago", "hours_text", "message"),
    [
        (-2, "2", "cannot be in the future"),
        (400, "2", "last 12 months"),
        (1, "0.1", "at least a quarter of an hour"),
        (1, "1.3", "quarter hours"),
        (1, "25", "24 or fewer"),
        (1, "-1", "cannot be negative"),
        (1, "abc", "as a number"),
        (1, "NaN", "as a number"),
        (1, "sNaN", "as a number"),
        (1, "1e999999", "24 or fewer"),
    ],
)
def test_self_report_bad_input_gets_a_clear_message_and_no_row(
    db, client, auth, login, volunteer, initiative, clock, days_ago, hours_text, message
):
    login(volunteer)
    response = report(
        auth, initiative, local_today(clock) - dt.timedelta(days=days_ago), hours_text
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursEntry)) == 0


def test_self_report_for_a_draft_or_unknown_initiative_is_refused(
    db, client, auth, login, volunteer, org, clock
):
    draft = make_initiative(org, status=InitiativeStatus.DRAFT)
    login(volunteer)
    response = report(auth, draft, local_today(clock), "1")
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursEntry)) == 0


def test_bulk_approve_and_reject_keep_an_audit_row_each(
    db, client, auth, login, coordinator, initiative, volunteer
):
    first = pending(db, user=volunteer, initiative=initiative, minutes=60)
    second = pending(db, user=volunteer, initiative=initiative, minutes=90)
    third = pending(db, user=volunteer, initiative=initiative, minutes=30)
    login(coordinator)

    approved = auth.post(
        "/coordinate/hours", {"entry_ids": [str(first.id), str(second.id)], "approve": "1"}
    )
    assert approved.status_code == 303
    no_reason = auth.post("/coordinate/hours", {"entry_ids": [str(third.id)], "reject": "1"})
    assert no_reason.status_code == 400
    assert "Please say why" in no_reason.get_data(as_text=True)
    rejected = auth.post(
        "/coordinate/hours",
        {"entry_ids": [str(third.id)], "reject": "1", "reason": "Not an initiative activity"},
    )
    assert rejected.status_code == 303

    db.session.expire_all()
    statuses = [db.session.get(HoursEntry, e.id).status for e in (first, second, third)]
    assert statuses == [HoursStatus.APPROVED, HoursStatus.APPROVED, HoursStatus.REJECTED]
    trail = db.session.scalars(sa.select(HoursAudit).order_by(HoursAudit.id)).all()
    assert [
        (a.hours_entry_id, a.status_before, a.status_after, a.changed_by_id) for a in trail
    ] == [
        (first.id, "pending", "approved", coordinator.id),
        (second.id, "pending", "approved", coordinator.id),
        (third.id, "pending", "rejected", coordinator.id),
    ]
    assert trail[2].reason == "Not an initiative activity"
    assert db.session.get(HoursEntry, first.id).reviewed_by_id == coordinator.id

    # The volunteer sees the verdicts and the reason.
    auth.logout()
    login(volunteer)
    page = client.get("/me/hours").get_data(as_text=True)
    assert "Not an initiative activity" in page and "Approved" in page


def test_approving_twice_writes_one_verdict(
    db, client, auth, login, coordinator, initiative, volunteer
):
    entry = pending(db, user=volunteer, initiative=initiative)
    login(coordinator)
    for _ in range(2):
        auth.post(
            "/coordinate/hours",
            {"entry_ids": [str(entry.id)], "approve": "1"},
            page="/coordinate/hours",
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursAudit)) == 1


@pytest.mark.parametrize("entry_ids", [[], ["abc"], ["999999"]])
def test_queue_bad_selection_never_500(
    db, client, auth, login, coordinator, initiative, volunteer, entry_ids
):
    pending(db, user=volunteer, initiative=initiative)
    login(coordinator)
    response = auth.post("/coordinate/hours", {"entry_ids": entry_ids, "approve": "1"})
    assert response.status_code in (303, 400)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HoursAudit)) == 0


def test_queue_shows_and_touches_only_own_organizations(
    db, client, auth, login, coordinator, initiative, volunteer
):
    mine = pending(db, user=volunteer, initiative=initiative, note="mine")
    foreign_initiative = make_initiative(make_organization())
    theirs = pending(db, user=volunteer, initiative=foreign_initiative, note="theirs-secret")
    login(coordinator)

    page = client.get("/coordinate/hours").get_data(as_text=True)
    assert f'value="{mine.id}"' in page and "theirs-secret" not in page

    auth.post(
        "/coordinate/hours",
        {"entry_ids": [str(theirs.id)], "approve": "1"},
        page="/coordinate/hours",
    )
    db.session.expire_all()
    assert db.session.get(HoursEntry, theirs.id).status == HoursStatus.PENDING


def test_queue_runs_a_constant_number_of_queries(db, client, auth, login, count_queries):
    counts = []
    for size in (3, 30):
        org = make_organization()
        initiative = make_initiative(org)
        for _ in range(size):
            pending(db, user=make_user(), initiative=initiative)
        login(make_coordinator(org))
        db.session.close()
        with count_queries() as queries:
            page = client.get("/coordinate/hours")
        assert page.get_data(as_text=True).count('name="entry_ids"') == size
        counts.append(len(queries))
        auth.logout()
    assert counts[0] == counts[1], counts


def test_correction_needs_a_reason_and_keeps_the_trail(
    db, client, auth, login, coordinator, initiative, volunteer
):
    entry = make_hours_entry(volunteer, initiative, minutes=180, source=HoursSource.ATTENDANCE)
    login(coordinator)
    url = f"/coordinate/hours/{entry.id}/edit"

    no_reason = auth.post(url, {"hours": "2.5", "reason": "  "})
    assert no_reason.status_code == 400
    assert "Please say why the hours are corrected" in no_reason.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(HoursEntry, entry.id).minutes == 180

    assert auth.post(url, {"hours": "2.5", "reason": "Left at 11:30"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(HoursEntry, entry.id).minutes == 150

    page = client.get(url).get_data(as_text=True)
    assert "Left at 11:30" in page and coordinator.display_name in page
    assert "3 h" in page and "2.5 h" in page
    trail = db.session.scalars(sa.select(HoursAudit)).all()
    assert [(a.minutes_before, a.minutes_after, a.changed_by_id) for a in trail] == [
        (180, 150, coordinator.id)
    ]


@pytest.mark.parametrize("hours_text", ["abc", "-2", "30", "", "inf"])
def test_correction_bad_hours_never_500(
    db, client, auth, login, coordinator, initiative, volunteer, hours_text
):
    entry = make_hours_entry(volunteer, initiative, minutes=60)
    login(coordinator)
    response = auth.post(
        f"/coordinate/hours/{entry.id}/edit", {"hours": hours_text, "reason": "typo"}
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(HoursEntry, entry.id).minutes == 60


def test_correcting_another_organizations_entry_is_404(
    db, client, auth, login, coordinator, volunteer
):
    entry = make_hours_entry(volunteer, make_initiative(make_organization()))
    login(coordinator)
    assert client.get(f"/coordinate/hours/{entry.id}/edit").status_code == 404
    response = auth.post(
        f"/coordinate/hours/{entry.id}/edit",
        {"hours": "1", "reason": "x"},
        page="/coordinate/hours",
    )
    assert response.status_code == 404


def test_admin_sets_the_rounding_rule(db, client, auth, login, app):
    admin = make_user(role=Role.ADMIN)
    login(admin)
    assert (
        auth.post("/coordinate/admin/settings", {"hours_rounding_minutes": "30"}).status_code == 303
    )
    assert get_setting("hours_rounding_minutes") == 30
    assert hours.round_minutes(100) == 90
    bad = auth.post("/coordinate/admin/settings", {"hours_rounding_minutes": "7"})
    assert bad.status_code == 400
    assert get_setting("hours_rounding_minutes") == 30


def test_coordinators_cannot_change_program_settings(db, client, login, org):
    login(make_coordinator(org))
    assert client.get("/coordinate/admin/settings").status_code == 403
