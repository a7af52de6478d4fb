"""Admins manage organizations and invite coordinators with signed, expiring, single-use links."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import CONFIRMED, csrf_token
from tests.coordinators.conftest import text, words
from tests.factories import make_initiative, make_user
from volunteer_app.accounts import organizations
from volunteer_app.accounts.models import Membership, Organization, Role, User
from volunteer_app.core import mail
from volunteer_app.core.errors import DomainError


@pytest.fixture(autouse=True)
def empty_mailbox():
    mail.outbox.clear()
    yield
    mail.outbox.clear()


def invitation_link(response) -> str:
    match = re.search(r'id="invitation-url" value="([^"]+)"', text(response))
    assert match, "no invitation link on the page"
    return match.group(1).replace("http://localhost", "")


# ---------------------------------------------------------------------------------------------
# Organizations


def test_admin_adds_and_edits_an_organization(client, auth, login, db, admin):
    login(admin)
    response = auth.post(
        "/coordinate/admin/organizations/new",
        {"name": "Friends of the Park", "slug": "", "kind": "nonprofit", "website": ""},
    )
    assert response.status_code == 303
    org = db.session.scalar(sa.select(Organization))
    assert (org.name, org.slug, org.kind, org.website) == (
        "Friends of the Park",
        "friends-of-the-park",
        "nonprofit",
        None,
    )
    edit = f"/coordinate/admin/organizations/{org.id}/edit"
    response = auth.post(
        edit,
        {
            "name": "Friends of Riverside Park",
            "slug": "friends",
            "kind": "nonprofit",
            "website": "https://friends.example.org",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    org = db.session.get(Organization, org.id)
    assert (org.name, org.slug, org.website) == (
        "Friends of Riverside Park",
        "friends",
        "https://friends.example.org",
    )
    listing = words(client.get("/coordinate/admin/organizations"))
    assert "Friends of Riverside Park Nonprofit partner 0 0" in listing


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "x" * 10_000}, "at most 120 characters"),
        ({"slug": "Not A Slug"}, "lowercase letters"),
        ({"kind": "company"}, "Not a valid choice"),
        ({"website": "javascript:alert(1)"}, "https://"),
        ({"slug": "taken"}, "already uses the short name"),
    ],
)
def test_bad_organization_input_is_a_form_error(client, auth, login, db, admin, changes, message):
    db.session.add(Organization(name="Taken", slug="taken"))
    db.session.commit()
    login(admin)
    data = {"name": "Parks", "slug": "", "kind": "department", "website": ""}
    data.update(changes)
    response = auth.post("/coordinate/admin/organizations/new", data)
    assert response.status_code in (400, 409)
    assert message in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


# ---------------------------------------------------------------------------------------------
# Invitations through the pages


def test_invitation_is_mailed_shown_and_accepted_once(client, auth, login, db, admin, org):
    invitee = make_user("new.coord@example.org")
    db.session.commit()
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    response = auth.post(f"{page}/invite", {"email": "New.Coord@Example.org "}, page=page)
    assert response.status_code == 200
    link = invitation_link(response)
    assert link.startswith("/coordinate/invitations/")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == "new.coord@example.org"
    assert "Parks Department" in sent.subject
    assert "http://localhost" + link in sent.body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0

    auth.logout()
    anonymous = client.get(link)
    assert anonymous.status_code == 200
    assert "/login?next=" in text(anonymous)

    auth.login(invitee.email)
    assert "Accept the invitation" in text(client.get(link))
    response = auth.post(link)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/coordinate/")
    db.session.expire_all()
    invitee = db.session.get(User, invitee.id)
    assert invitee.role == Role.COORDINATOR
    assert invitee.organization_ids == {org.id}
    assert client.get("/coordinate/").status_code == 200

    again = client.get(link)
    assert again.status_code == 409
    assert "already been used" in text(again)
    assert auth.post(link, page="/").status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 1


def test_an_expired_invitation_says_so(client, auth, login, app, db, admin, org):
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    link = invitation_link(auth.post(f"{page}/invite", {"email": "late@example.org"}, page=page))
    app.config["COORDINATOR_INVITE_MAX_AGE"] = -1
    try:
        response = client.get(link)
    finally:
        app.config["COORDINATOR_INVITE_MAX_AGE"] = 7 * 24 * 60 * 60
    assert response.status_code == 410
    assert "This invitation has expired" in text(response)


def test_a_tampered_invitation_is_not_found(client, auth, login, admin, org):
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    link = invitation_link(auth.post(f"{page}/invite", {"email": "x@example.org"}, page=page))
    assert client.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB")).status_code == 404
    assert client.get("/coordinate/invitations/not-a-token").status_code == 404


def test_someone_logged_in_with_another_address_cannot_use_the_link(
    client, auth, login, db, admin, org, volunteer
):
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    link = invitation_link(auth.post(f"{page}/invite", {"email": "meant@example.org"}, page=page))
    auth.logout()
    login(volunteer)
    response = auth.post(link)
    assert response.status_code == 403
    assert "This invitation was sent to meant@example.org" in text(response)
    db.session.expire_all()
    assert db.session.get(User, volunteer.id).role == Role.VOLUNTEER
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Membership)) == 0


def test_an_admin_accepting_stays_admin(client, auth, login, db, admin, org):
    other_admin = make_user("boss@example.org", role=Role.ADMIN)
    db.session.commit()
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    link = invitation_link(auth.post(f"{page}/invite", {"email": other_admin.email}, page=page))
    auth.logout()
    login(other_admin)
    assert auth.post(link).status_code == 303
    db.session.expire_all()
    person = db.session.get(User, other_admin.id)
    assert person.role == Role.ADMIN and person.organization_ids == {org.id}


@pytest.mark.parametrize("email", ["", "not an email", "x" * 300 + "@example.org"])
def test_bad_invitation_addresses_are_form_errors(client, auth, login, admin, org, email):
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    response = auth.post(f"{page}/invite", {"email": email}, page=page)
    assert response.status_code == 400
    assert 'id="invitation-url"' not in text(response)
    assert mail.outbox == []


def test_inviting_an_existing_member_is_refused(client, auth, login, admin, org, coordinator):
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    response = auth.post(f"{page}/invite", {"email": coordinator.email}, page=page)
    assert response.status_code == 409
    assert "already a coordinator here" in text(response)
    assert mail.outbox == []


def test_removing_the_last_membership_makes_a_volunteer_again(
    client, auth, login, db, admin, org, coordinator
):
    make_initiative(org)
    db.session.commit()
    login(admin)
    page = f"/coordinate/admin/organizations/{org.id}"
    assert coordinator.display_name in text(client.get(page))
    response = auth.post(f"{page}/members/{coordinator.id}/remove", CONFIRMED, page=page)
    assert response.status_code == 303
    db.session.expire_all()
    person = db.session.get(User, coordinator.id)
    assert person.role == Role.VOLUNTEER and person.organization_ids == set()
    assert f"{page}/members/{coordinator.id}/remove" not in text(client.get(page))
    # Removing someone who is not a member says so instead of failing.
    token = csrf_token(client, page)
    again = client.post(
        f"{page}/members/{coordinator.id}/remove",
        data={"csrf_token": token, **CONFIRMED},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert again.status_code == 303
    assert "not a member" in text(client.get(page))


# ---------------------------------------------------------------------------------------------
# The invitation service


def test_invitation_token_round_trip_and_single_use(app, db, org, now):
    invitee = make_user("pat@example.org")
    invitation = organizations.invite_coordinator(org, "  PAT@example.org ")
    assert invitation.email == "pat@example.org"
    pending = organizations.read_invitation(invitation.token)
    assert (pending.organization.id, pending.email) == (org.id, "pat@example.org")

    organizations.accept_invitation(invitation.token, invitee, now=now)
    db.session.commit()
    with pytest.raises(organizations.InvitationUsed):
        organizations.read_invitation(invitation.token)


def test_invitation_signed_with_another_salt_is_invalid(app, db, org):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset").dumps(
        {
            "org": org.id,
            "email": "x@example.org",
            "fp": "0",
        }
    )
    with pytest.raises(organizations.InvitationInvalid):
        organizations.read_invitation(forged)


def test_invitation_for_a_deleted_organization_is_invalid(app, db, org):
    invitation = organizations.invite_coordinator(org, "x@example.org")
    db.session.delete(org)
    db.session.commit()
    with pytest.raises(DomainError):
        organizations.read_invitation(invitation.token)
