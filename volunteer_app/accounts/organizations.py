"""Organizations, their members, and coordinator invitations.

Invitations are signed, expiring links (itsdangerous) rather than rows: the token names the
organization, the invited email address and a fingerprint of that person's membership at the
time of invitation, so once accepted the fingerprint no longer matches and the link is spent.
Accounts sit at the bottom of the layers: nothing here imports a feature above. Services flush
and never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import contains_eager

from volunteer_app.accounts.models import Membership, Organization, Role, User
from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.core.mail import send_mail
from volunteer_app.core.slugs import slugify
from volunteer_app.extensions import db

ORGANIZATION_KINDS = ("department", "nonprofit")
INVITE_SALT = "coordinator-invite"


# ---------------------------------------------------------------------------------------------
# Organizations and members


@dataclass(frozen=True)
class OrganizationDetails:
    name: str
    slug: str = ""
    kind: str = "department"
    website: str = ""


def _apply_organization(org: Organization, details: OrganizationDetails) -> None:
    name = details.name.strip()
    if not name:
        raise DomainError(_("Please give the organization's name."))
    if details.kind not in ORGANIZATION_KINDS:
        raise DomainError(_("Please choose a kind of organization."))
    slug = slugify(details.slug or name)[:60].rstrip("-")
    taken = db.session.scalar(
        sa.select(Organization.id).where(Organization.slug == slug, Organization.id != org.id)
    )
    if taken is not None:
        raise Conflict(_("Another organization already uses the short name %(slug)s.", slug=slug))
    website = details.website.strip()
    if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
        raise DomainError(_("The website must be an address starting with https://."))
    org.name, org.slug, org.kind, org.website = name, slug, details.kind, website or None


def create_organization(details: OrganizationDetails, *, now: dt.datetime) -> Organization:
    org = Organization(created_at=now)
    _apply_organization(org, details)
    db.session.add(org)
    db.session.flush()
    return org


def update_organization(org: Organization, details: OrganizationDetails) -> None:
    _apply_organization(org, details)
    db.session.flush()


def organization_members(org: Organization) -> list[Membership]:
    return list(
        db.session.scalars(
            sa.select(Membership)
            .join(Membership.user)
            .where(Membership.organization_id == org.id)
            .options(contains_eager(Membership.user))
            .order_by(User.name, User.id)
        )
    )


def member_of(org: Organization, user_id: int) -> User:
    """A coordinator of `org`; NotFound for anyone else."""
    membership = db.session.get(Membership, (user_id, org.id))
    if membership is None:
        raise NotFound(_("That person is not a member of this organization."))
    return membership.user


def remove_member(org: Organization, user_id: int) -> User:
    """Take a coordinator out of an organization. Someone left with no organization goes back
    to being a volunteer (admins stay admins)."""
    user = member_of(org, user_id)
    db.session.delete(db.session.get(Membership, (user_id, org.id)))
    db.session.flush()
    db.session.expire(user, ["memberships"])
    if user.role == Role.COORDINATOR and not user.memberships:
        user.role = Role.VOLUNTEER
    db.session.flush()
    return user


# ---------------------------------------------------------------------------------------------
# Invitations


class InvitationInvalid(NotFound):
    """Not a link we signed (or not for an organization that still exists)."""


class InvitationExpired(DomainError):
    status_code = 410


class InvitationUsed(Conflict):
    pass


class InvitationForSomeoneElse(DomainError):
    status_code = 403


@dataclass(frozen=True)
class Invitation:
    organization: Organization
    email: str
    token: str
    max_age: int

    @property
    def url(self) -> str:
        """The public address of the link (needs a request, for url_for)."""
        path = url_for("coordinators.invitation", token=self.token)
        return current_app.config["PUBLIC_BASE_URL"] + path

    @property
    def days_valid(self) -> int:
        return max(1, self.max_age // 86400)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITE_SALT)


def _max_age() -> int:
    return int(current_app.config["COORDINATOR_INVITE_MAX_AGE"])


def _normalise_email(email: str) -> str:
    email = email.strip()
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email) or len(email) > 254:
        raise DomainError(_("Please give a valid email address."))
    return email.lower()


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))


def _membership_fingerprint(organization_id: int, email: str) -> str:
    """Changes as soon as the invited person joins the organization, spending the link."""
    joined = db.session.scalar(
        sa.select(Membership.created_at)
        .join(User, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, sa.func.lower(User.email) == email)
    )
    marker = joined.isoformat() if joined else "none"
    return hashlib.sha256(f"{organization_id}:{email}:{marker}".encode()).hexdigest()[:16]


def invite_coordinator(org: Organization, email: str) -> Invitation:
    """A signed link that makes whoever logs in with `email` a coordinator of `org`.

    Refuses someone who is already a member. Writes nothing: the link is the invitation.
    """
    email = _normalise_email(email)
    user = _user_by_email(email)
    if user is not None and org.id in user.organization_ids:
        raise Conflict(_("%(email)s is already a coordinator here.", email=email))
    token = _serializer().dumps(
        {
            "org": org.id,
            "email": email,
            "fp": _membership_fingerprint(org.id, email),
        }
    )
    return Invitation(organization=org, email=email, token=token, max_age=_max_age())


def send_invitation(invitation: Invitation, *, invited_by: User) -> None:
    """Mail the link to the invited person."""
    program = current_app.config["PROGRAM_NAME"]
    subject = _(
        "You are invited to coordinate for %(organization)s",
        organization=invitation.organization.name,
    )
    body = "\n\n".join(
        [
            _(
                "%(person)s invited you to coordinate volunteers for %(organization)s on "
                "%(program)s.",
                person=invited_by.display_name,
                organization=invitation.organization.name,
                program=program,
            ),
            _("To accept, open this link and log in (or create an account) with this address:"),
            invitation.url,
            ngettext(
                "The link works for %(num)d day and only once.",
                "The link works for %(num)d days and only once.",
                invitation.days_valid,
            ),
        ]
    )
    send_mail(invitation.email, subject, body)


@dataclass(frozen=True)
class PendingInvitation:
    organization: Organization
    email: str


def read_invitation(token: str) -> PendingInvitation:
    """What a link invites to. Raises InvitationInvalid (404), InvitationExpired (410) or
    InvitationUsed (409), each with a message for people."""
    try:
        payload = _serializer().loads(token, max_age=_max_age())
    except SignatureExpired as exc:
        raise InvitationExpired(
            _("This invitation has expired. Ask the program office for a new one.")
        ) from exc
    except BadSignature as exc:
        raise InvitationInvalid(_("This invitation link is not valid.")) from exc
    if not isinstance(payload, dict) or not {"org", "email", "fp"} <= payload.keys():
        raise InvitationInvalid(_("This invitation link is not valid."))
    org = db.session.get(Organization, payload["org"]) if isinstance(payload["org"], int) else None
    if org is None:
        raise InvitationInvalid(_("This invitation link is not valid."))
    email = str(payload["email"])
    if _membership_fingerprint(org.id, email) != payload["fp"]:
        raise InvitationUsed(_("This invitation has already been used."))
    return PendingInvitation(organization=org, email=email)


def accept_invitation(token: str, user: User, *, now: dt.datetime) -> Membership:
    """Make `user` a coordinator of the invited organization, once.

    The link is for one email address: someone logged in with another address is refused,
    so a forwarded link does not make its reader a coordinator.
    """
    pending = read_invitation(token)
    if (user.email or "").lower() != pending.email:
        raise InvitationForSomeoneElse(
            _(
                "This invitation was sent to %(email)s. Log in with that address to accept it.",
                email=pending.email,
            )
        )
    membership = Membership(
        user_id=user.id, organization_id=pending.organization.id, created_at=now
    )
    db.session.add(membership)
    if user.role != Role.ADMIN:
        user.role = Role.COORDINATOR
    db.session.flush()
    db.session.expire(user, ["memberships"])
    return membership
