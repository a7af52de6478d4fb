"""Matching pages through real requests: Find your fit, recommendations, the home page and
the list's best-match order, one-tap invitations, candidates and inviting, equity settings,
and who may see what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED, csrf_token
from tests.factories import make_coordinator, make_organization, make_signup, make_user
from tests.matching.conftest import SATURDAY, SATURDAY_MORNING, SUNDAY, local, shift_in
from volunteer_app.accounts.models import Role, User
from volunteer_app.core.mail import outbox
from volunteer_app.core.submissions import new_token
from volunteer_app.matching import invitations
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import Signup, SignupStatus
from volunteer_app.sms.models import Message


@pytest.fixture(autouse=True)
def clock(monkeypatch, now):
    """The views read the clock through core.db.utcnow; pin it to the tests' 'now'."""
    for module in (
        "volunteer_app.matching.views",
        "volunteer_app.public.views",
        "volunteer_app.shifts.views",
        "volunteer_app.accounts.views",
        "volunteer_app.coordinators.views",
        "volunteer_app.roster.views",
    ):
        monkeypatch.setattr(f"{module}.utcnow", lambda: now)
    outbox.clear()
    yield now
    outbox.clear()


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def shift(city):
    return shift_in(city.trees, city.a, local(SATURDAY, 9), miles=1.2)


# --- Find your fit -----------------------------------------------------------------------


def test_registration_leads_to_find_your_fit_which_saves_the_answers(db, client, auth, city):
    response = auth.post(
        "/register",
        {
            "name": "Ana Ruiz",
            "email": "ana@example.org",
            "password": "correct horse battery",
            "password_confirm": "correct horse battery",
        },
    )
    assert response.headers["Location"] == "/welcome/fit"
    page = client.get("/welcome/fit")
    assert page.status_code == 200
    body = text(page)
    for question in ("What do you care about?", "When are you usually free?", "Where are you?"):
        assert question in body
    assert 'for="availability-5-0"' in body  # every grid cell has a label

    response = auth.post(
        "/welcome/fit",
        {
            "causes": [str(city.environment.id)],
            "availability": ["5-0", "6-0"],
            "neighborhood_id": str(city.a.id),
            "zip_code": "",
            "travel_miles": "5.0",
            "save": "1",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/me/recommendations"
    ana = db.session.scalar(sa.select(User).where(User.email == "ana@example.org"))
    assert [c.slug for c in ana.causes] == ["environment"]
    assert ana.availability_mask == SATURDAY_MORNING | (1 << 18)
    assert ana.neighborhood_id == city.a.id and ana.travel_miles == 5.0
    assert ana.onboarded_at is not None


def test_find_your_fit_can_be_skipped_and_returns_to_next(db, client, auth, login, city, now):
    person = make_user("skip@example.org")
    login(person)
    response = auth.post(
        "/welcome/fit?next=/shifts/5", {"skip": "1"}, page="/welcome/fit?next=/shifts/5"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/shifts/5"
    db.session.refresh(person)
    assert person.onboarded_at == now and person.causes == []


def test_find_your_fit_shows_errors_and_writes_nothing(db, client, auth, login, city):
    person = make_user("zip@example.org")
    login(person)
    response = auth.post(
        "/welcome/fit", {"zip_code": "12", "causes": ["99999"], "availability": ["9-9"]}
    )
    assert response.status_code == 400
    assert "Enter a 5-digit ZIP code." in text(response) or "Choose from the options" in text(
        response
    )
    db.session.refresh(person)
    assert person.onboarded_at is None and person.zip_code is None


def test_find_your_fit_is_editable_later_with_answers_filled_in(db, client, login, city, maria):
    login(maria)
    body = text(client.get("/welcome/fit"))
    assert re.search(r'value="5-0"\s*checked', body)
    assert re.search(rf'value="{city.a.id}"\s*selected', body) or re.search(
        rf'selected\s*value="{city.a.id}"', body
    )


def test_find_your_fit_needs_a_login(client):
    response = client.get("/welcome/fit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- Recommendations -----------------------------------------------------------------------


def test_home_shows_recommended_for_you_with_reasons(db, client, login, city, maria, shift):
    assert "Recommended for you" not in text(client.get("/"))  # visitors see no such section
    login(maria)
    body = text(client.get("/"))
    assert "Recommended for you" in body
    assert (
        "Saturday morning · 1.2 mi away · uses your Spanish · you care about the environment"
        in body
    )
    assert f'href="/shifts/{shift.id}"' in body
    assert "Find your fit" in body  # not onboarded yet


def test_recommendations_page(db, client, login, city, maria, shift):
    login(maria)
    response = client.get("/me/recommendations")
    assert response.status_code == 200
    assert "Tree planting" in text(response) and "1.2 mi away" in text(response)


def test_home_and_recommendations_run_constant_queries(
    db, client, login, city, maria, count_queries, now
):
    shift_in(city.trees, city.a, local(SATURDAY, 9))
    login(maria)
    client.get("/")
    with count_queries() as few:
        client.get("/")
    for n in range(25):
        shift_in(city.tutoring, city.b, now + dt.timedelta(hours=3 + n))
        shift_in(city.trees, city.a, now + dt.timedelta(hours=40 + n))
    db.session.commit()
    client.get("/")  # the commit expired what the session had loaded
    with count_queries() as many:
        client.get("/")
    # The same queries, plus at most the second batch of shifts that ranking may need.
    assert len(few) <= len(many) <= len(few) + 1
    with count_queries() as page:
        client.get("/me/recommendations")
    assert len(page) <= 16


def test_best_match_order_on_the_list(db, client, login, city, maria, now):
    shift_in(city.tutoring, city.b, now + dt.timedelta(hours=3))  # soonest
    shift_in(city.trees, city.a, local(SATURDAY, 9))  # fits María best
    login(maria)
    soonest = text(client.get("/initiatives"))
    assert soonest.index("Reading buddies") < soonest.index("Tree planting")
    best = text(client.get("/initiatives?sort=match"))
    assert best.index("Tree planting") < best.index("Reading buddies")
    assert "Best match for you" in best


def test_visitors_get_the_soonest_order(db, client, city, now):
    shift_in(city.tutoring, city.b, now + dt.timedelta(hours=3))
    shift_in(city.trees, city.a, local(SATURDAY, 9))
    body = text(client.get("/initiatives?sort=match"))
    assert body.index("Reading buddies") < body.index("Tree planting")
    assert "Best match for you" not in body


# --- One-tap invitations ---------------------------------------------------------------------


def invite(city, people, shift, now):
    outcome = invitations.invite_volunteers(
        shift, [p.id for p in people], invited_by=city.coordinator, now=now
    )
    from volunteer_app.extensions import db

    db.session.commit()
    return outcome.invited


def test_the_link_signs_up_after_logging_in(db, client, auth, city, maria, shift, now):
    (invitation,) = invite(city, [maria], shift, now)
    link = f"/i/{invitations.invitation_token(invitation)}"

    response = client.get(link)
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    auth.login(maria.email)
    page = client.get(link)
    assert page.status_code == 200 and "Yes, sign me up" in text(page)

    response = auth.post(f"{link}/yes", page=link)
    assert response.status_code == 303 and response.headers["Location"] == f"/shifts/{shift.id}"
    signup = db.session.scalar(sa.select(Signup).where(Signup.user_id == maria.id))
    assert signup.status == SignupStatus.CONFIRMED
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.ACCEPTED


def test_someone_elses_link_is_not_found(db, client, login, city, maria, shift, now):
    (invitation,) = invite(city, [maria], shift, now)
    login(make_user("other@example.org"))
    token = invitations.invitation_token(invitation)
    assert client.get(f"/i/{token}").status_code == 404
    response = client.post(f"/i/{token}/yes", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 404
    assert client.get("/i/forged-token").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Signup)) == 0


def test_not_this_time_needs_no_login(db, client, city, maria, shift, now):
    (invitation,) = invite(city, [maria], shift, now)
    link = f"/i/{invitations.invitation_token(invitation)}/no"
    page = client.get(link)
    assert page.status_code == 200 and "Not this time" in text(page)
    response = client.post(link, data={"csrf_token": csrf_token(client, link)})
    assert response.status_code == 303
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.DECLINED
    assert "You said not this time" in text(client.get(link))
    assert client.post(link, data={}).status_code == 400  # no CSRF token


# --- Coordinators ---------------------------------------------------------------------------


def test_candidates_ranked_with_reasons_and_invite_two(db, client, auth, login, city, maria, shift):
    sam = make_user("sam@example.org", name="Sam Okafor", neighborhood_id=city.a.id)
    sam.causes = [city.environment]
    login(city.coordinator)
    url = f"/coordinate/shifts/{shift.id}/candidates"
    page = client.get(url)
    assert page.status_code == 200
    body = text(page)
    assert body.index("María G.") < body.index("Sam O.")
    assert (
        "free Saturday mornings · 1.2 mi away · speaks Spanish · cares about the environment"
        in body
    )
    assert "maria@example.org" not in body and "+1202" not in body  # no contact details

    response = auth.post(
        f"/coordinate/shifts/{shift.id}/invite",
        {"people": [str(maria.id), str(sam.id)], **CONFIRMED},
        page=url,
    )
    assert response.status_code == 303
    after = text(client.get(url))
    assert "Invitations sent to 2 people (1 by text, 1 by email)." in after
    assert "2 invitations sent · 0 accepted · 0 declined · 2 not answered" in after
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 2
    (message,) = db.session.scalars(sa.select(Message)).all()
    assert message.user_id == maria.id and f"JOIN {shift.code}" in message.body
    assert [mail.to for mail in outbox] == ["sam@example.org"]
    # Invited people leave the list of people to ask, and show under "Already invited".
    assert f'name="people" value="{maria.id}"' not in after and "Already invited" in after


def test_invite_skips_people_over_the_weekly_cap(db, client, auth, login, city, maria, shift, now):
    for n in range(get_setting("max_invitations_per_week")):
        other = shift_in(city.trees, city.b, local(SUNDAY, 8 + n))
        db.session.add(Invitation(shift_id=other.id, user_id=maria.id, channel="sms", sent_at=now))
    login(city.coordinator)
    url = f"/coordinate/shifts/{shift.id}/candidates"
    assert f'value="{maria.id}"' not in text(client.get(url))
    # Maria is not on the page: the form is crafted, with a submission token of its own.
    crafted = {"people": [str(maria.id)], "submission_token": new_token(), **CONFIRMED}
    auth.post(f"/coordinate/shifts/{shift.id}/invite", crafted, page=url)
    assert "had enough invitations this week: 1" in text(client.get(url))
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.shift_id == shift.id)
        )
        == 0
    )


def test_invite_with_nobody_ticked_or_garbage(db, client, auth, login, city, shift):
    login(city.coordinator)
    url = f"/coordinate/shifts/{shift.id}/candidates"
    for people in ([], ["x"]):
        crafted = {"people": people, "submission_token": new_token()}
        response = auth.post(f"/coordinate/shifts/{shift.id}/invite", crafted, page=url)
        assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_candidates_page_runs_constant_queries(
    db, client, login, city, maria, shift, count_queries
):
    login(city.coordinator)
    url = f"/coordinate/shifts/{shift.id}/candidates"
    client.get(url)
    with count_queries() as few:
        client.get(url)
    for n in range(30):
        person = make_user(
            availability_mask=SATURDAY_MORNING if n % 2 else 0, neighborhood_id=city.b.id
        )
        person.causes = [city.environment]
        db.session.add(
            Invitation(
                shift_id=shift.id,
                user_id=person.id,
                channel="email",
                sent_at=shift.starts_at - dt.timedelta(days=3),
            )
            if n % 3 == 0
            else person
        )
    db.session.commit()
    client.get(url)  # the commit expired what the session had loaded
    with count_queries() as many:
        client.get(url)
    # The same queries, plus at most the second batch of people that ranking may need.
    assert len(few) <= len(many) <= len(few) + 1


def test_initiative_invitation_counts_page(db, client, login, city, maria, shift, now):
    (invitation,) = invite(city, [maria], shift, now)
    login(city.coordinator)
    page = client.get(f"/coordinate/initiatives/{city.trees.id}/invitations")
    assert page.status_code == 200
    assert "1 invitation sent · 0 accepted · 0 declined · 1 not answered" in text(page)


@pytest.mark.parametrize(
    "url",
    [
        "/coordinate/shifts/{shift}/candidates",
        "/coordinate/initiatives/{initiative}/invitations",
    ],
)
def test_scoping(db, client, auth, login, city, shift, url):
    url = url.format(shift=shift.id, initiative=city.trees.id)
    assert client.get(url).status_code == 302  # anonymous: log in first
    volunteer = make_user("vol@example.org")
    login(volunteer)
    assert client.get(url).status_code == 403
    auth.logout()
    stranger = make_coordinator(make_organization(), "stranger@example.org")
    login(stranger)
    assert client.get(url).status_code == 404
    missing = url.replace(str(shift.id), "99999").replace(str(city.trees.id), "99999")
    assert client.get(missing).status_code == 404


def test_another_organizations_coordinator_cannot_invite(
    db, client, auth, login, city, maria, shift
):
    stranger = make_coordinator(make_organization(), "stranger@example.org")
    login(stranger)
    response = client.post(
        f"/coordinate/shifts/{shift.id}/invite",
        data={"people": [str(maria.id)], "csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_closed_shift_shows_why_instead_of_candidates(db, client, login, city, maria, now):
    started = shift_in(city.trees, city.a, now - dt.timedelta(hours=1))
    make_signup(make_user(), started)
    login(city.coordinator)
    body = text(client.get(f"/coordinate/shifts/{started.id}/candidates"))
    assert "This shift has started, so nobody can be invited to it." in body
    assert 'name="people"' not in body


# --- Equity ------------------------------------------------------------------------------------


def test_admins_mark_priority_neighborhoods_and_switch_the_boost(db, client, auth, login, city):
    admin = make_user("admin@example.org", role=Role.ADMIN)
    login(admin)
    page = client.get("/coordinate/admin/neighborhoods")
    assert page.status_code == 200 and "never outweighs what people told us" in text(page)
    response = auth.post(
        "/coordinate/admin/neighborhoods", {"priority": [str(city.b.id)], "boost": "y"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert (city.a.is_priority, city.b.is_priority, city.c.is_priority) == (False, True, False)
    assert get_setting("priority_neighborhood_boost") is True


def test_only_admins_see_equity_settings(db, client, login, city):
    assert client.get("/coordinate/admin/neighborhoods").status_code == 302
    login(city.coordinator)
    assert client.get("/coordinate/admin/neighborhoods").status_code == 403


def test_coordinator_screens_link_to_find_volunteers(db, client, login, city, shift):
    login(city.coordinator)
    link = f'href="/coordinate/shifts/{shift.id}/candidates"'
    assert link in text(client.get(f"/coordinate/shifts/{shift.id}"))
    assert link in text(client.get(f"/coordinate/shifts/{shift.id}/roster"))


def test_the_profile_links_to_find_your_fit(db, client, login, maria):
    login(maria)
    body = text(client.get("/profile"))
    assert 'href="/welcome/fit"' in body and 'href="/me/recommendations"' in body
