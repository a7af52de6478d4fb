"""Inviting people to a shift: the candidates, the one-tap link, the rules checked again when
the invitations go out, the answers, and the counts coordinators see.

Services flush and never commit; the view commits once. Mail goes out after that commit:
`invite_volunteers` returns the mails it wants sent and the view hands them to `send_mails`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import Role, User
from volunteer_app.accounts.services import public_url
from volunteer_app.core import signals
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.mail import MailError, send_mail
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative, InitiativeStatus
from volunteer_app.matching import queries
from volunteer_app.matching.models import Invitation, InvitationStatus
from volunteer_app.matching.scoring import local_slot
from volunteer_app.reference.settings import get_setting
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupSource, SignupStatus
from volunteer_app.shifts.services import signup_for_shift

logger = logging.getLogger(__name__)

INVITATION_SALT = "shift-invitation"
# One form can invite at most this many people at once.
MAX_INVITES_AT_ONCE = 50


class ShiftNotOpen(DomainError):
    """Nobody can be invited to a shift that is cancelled, started or unpublished."""


def candidates_for(shift: Shift, *, now: dt.datetime, limit: int = 50) -> list:
    """The people best suited to `shift` who could be invited now (queries.Candidate)."""
    return queries.rank_candidates(shift, now=now, limit=limit)


def check_shift_invitable(shift: Shift, *, now: dt.datetime) -> None:
    if shift.status != ShiftStatus.SCHEDULED:
        raise ShiftNotOpen(_("This shift is cancelled, so nobody can be invited to it."))
    if shift.starts_at <= now:
        raise ShiftNotOpen(_("This shift has started, so nobody can be invited to it."))
    if shift.initiative.status != InitiativeStatus.PUBLISHED:
        raise ShiftNotOpen(_("Publish the initiative before inviting volunteers."))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=INVITATION_SALT)


def invitation_token(invitation: Invitation) -> str:
    """The signed part of the one-tap link: which invitation, and to whom."""
    return _serializer().dumps([invitation.id, invitation.user_id])


def invitation_for_token(token: str) -> Invitation:
    """The invitation a link names; NotFound for a forged, mangled or stale link."""
    try:
        invitation_id, user_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound(_("That invitation link is not valid.")) from None
    invitation = db.session.scalar(
        sa.select(Invitation)
        .where(Invitation.id == invitation_id, Invitation.user_id == user_id)
        .options(
            joinedload(Invitation.shift)
            .joinedload(Shift.initiative)
            .joinedload(Initiative.organization),
            joinedload(Invitation.user),
        )
    )
    if invitation is None:
        raise NotFound(_("That invitation link is not valid."))
    return invitation


@dataclass(frozen=True)
class PendingMail:
    to: str
    subject: str
    body: str


@dataclass
class InviteOutcome:
    invited: list[Invitation] = field(default_factory=list)
    # Why each person left out was left out: user id -> reason code.
    skipped: dict[int, str] = field(default_factory=dict)
    mails: list[PendingMail] = field(default_factory=list)

    @property
    def by_text(self) -> int:
        return sum(1 for i in self.invited if i.channel == "sms")

    @property
    def by_email(self) -> int:
        return sum(1 for i in self.invited if i.channel == "email")

    def skipped_counts(self) -> Counter:
        return Counter(self.skipped.values())


# Reasons someone chosen on the form is not invited after all (the list was a little stale).
ALREADY_INVITED = "already_invited"
ON_SHIFT = "on_shift"
BUSY = "busy"
WEEKLY_LIMIT = "weekly_limit"
UNREACHABLE = "unreachable"
TOO_YOUNG = "too_young"
NOT_A_VOLUNTEER = "not_a_volunteer"


@dataclass
class Reach:
    texts: int
    emails: int


def reach_of(user_ids: list[int]) -> Reach:
    """How invitations to these people would go out: a text to those who agreed to texts, an
    email to the others who have an address (before `invite_volunteers` leaves anyone out)."""
    people = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))).all()
    texts = sum(person.can_text for person in people)
    return Reach(
        texts=texts, emails=sum(not person.can_text and bool(person.email) for person in people)
    )


def invite_volunteers(
    shift: Shift, user_ids: list[int], *, invited_by: User, now: dt.datetime
) -> InviteOutcome:
    """Invite the chosen people to `shift`: a text with a one-tap link and the JOIN code to
    those who agreed to texts, an email with the same to the others.

    The rules of the candidate list are checked again, as the list may be stale: nobody on
    the shift or busy then, nobody invited to it before, nobody who replied STOP or cannot be
    reached, nobody too young, and nobody who already had the weekly number of invitations
    (program setting `max_invitations_per_week`) in the last seven days. The people's rows
    are locked while counting, so two coordinators inviting at once cannot exceed the cap.
    """
    check_shift_invitable(shift, now=now)
    wanted = sorted(set(user_ids))
    if not wanted:
        raise DomainError(_("Choose at least one person to invite."))
    if len(wanted) > MAX_INVITES_AT_ONCE:
        raise DomainError(_("Invite at most %(count)d people at once.", count=MAX_INVITES_AT_ONCE))
    outcome = InviteOutcome()
    audience = _audience(shift, wanted, now=now)
    for user_id in wanted:
        user = audience.people.get(user_id)
        reason = audience.reason_to_skip(user_id, user)
        if user is None or reason is not None:
            outcome.skipped[user_id] = reason or NOT_A_VOLUNTEER
            continue
        invitation = Invitation(
            shift_id=shift.id,
            user_id=user.id,
            invited_by_id=invited_by.id,
            channel="sms" if user.can_text else "email",
            status=InvitationStatus.SENT,
            sent_at=now,
        )
        db.session.add(invitation)
        db.session.flush()
        _deliver(invitation, user, shift, now=now, outcome=outcome)
        outcome.invited.append(invitation)
    return outcome


@dataclass
class _Audience:
    """What the invitation rules need to know of the chosen people, read in a few queries."""

    people: dict[int, User]
    cap: int
    this_week: dict[int, int]
    invited_before: set[int]
    on_shift: set[int]
    busy: set[int]
    minimum_age: int
    shift_day: dt.date

    def reason_to_skip(self, user_id: int, user: User | None) -> str | None:
        checks = (
            (user is None or not user.active or user.role != Role.VOLUNTEER, NOT_A_VOLUNTEER),
            (user_id in self.invited_before, ALREADY_INVITED),
            (user_id in self.on_shift, ON_SHIFT),
            (user_id in self.busy, BUSY),
            (self.this_week.get(user_id, 0) >= self.cap, WEEKLY_LIMIT),
        )
        for failed, reason in checks:
            if failed:
                return reason
        assert user is not None  # the first check refused a missing person
        if user.sms_opted_out_at is not None or not (user.can_text or user.email):
            return UNREACHABLE
        if self.minimum_age and (user.age_on(self.shift_day) or 0) < self.minimum_age:
            return TOO_YOUNG
        return None


def _audience(shift: Shift, wanted: list[int], *, now: dt.datetime) -> _Audience:
    # The people's rows are locked first: two coordinators inviting at once count in turn.
    people = {
        user.id: user
        for user in db.session.scalars(
            sa.select(User).where(User.id.in_(wanted)).order_by(User.id).with_for_update()
        )
    }
    this_week = dict(
        db.session.execute(
            sa.select(Invitation.user_id, sa.func.count())
            .where(Invitation.user_id.in_(wanted), Invitation.sent_at > now - dt.timedelta(days=7))
            .group_by(Invitation.user_id)
        ).all()
    )
    invited_before = set(
        db.session.scalars(
            sa.select(Invitation.user_id).where(
                Invitation.shift_id == shift.id, Invitation.user_id.in_(wanted)
            )
        )
    )
    on_shift = set(
        db.session.scalars(
            sa.select(Signup.user_id).where(
                Signup.shift_id == shift.id,
                Signup.user_id.in_(wanted),
                Signup.status != SignupStatus.CANCELLED,
            )
        )
    )
    busy = set(
        db.session.scalars(
            sa.select(Signup.user_id)
            .join(Signup.shift)
            .where(
                Signup.user_id.in_(wanted),
                Signup.status == SignupStatus.CONFIRMED,
                Shift.id != shift.id,
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.starts_at < shift.ends_at,
                Shift.ends_at > shift.starts_at,
            )
        )
    )
    return _Audience(
        people=people,
        cap=int(get_setting("max_invitations_per_week")),
        this_week=this_week,
        invited_before=invited_before,
        on_shift=on_shift,
        busy=busy,
        minimum_age=shift.initiative.minimum_age or 0,
        shift_day=local_slot(shift.starts_at, shift.initiative.timezone)[2],
    )


def _links(invitation: Invitation) -> tuple[str, str]:
    token = invitation_token(invitation)
    return (
        public_url("matching.invitation", token=token),
        public_url("matching.decline", token=token),
    )


def _deliver(
    invitation: Invitation, user: User, shift: Shift, *, now: dt.datetime, outcome: InviteOutcome
) -> None:
    link, decline_link = _links(invitation)
    if invitation.channel == "sms":
        # sms/listeners queues the text, in this transaction.
        signals.invited.send(
            shift, user=user, invited_by_id=invitation.invited_by_id, link=link, now=now
        )
        return
    program = current_app.config["PROGRAM_NAME"]
    with force_locale(user.preferred_language or "en"):
        subject = _(
            "%(org)s invites you: %(title)s",
            org=shift.initiative.organization.name,
            title=shift.initiative.title,
        )
        body = render_template(
            "matching/mail/invitation.txt",
            user=user,
            shift=shift,
            initiative=shift.initiative,
            link=link,
            decline_link=decline_link,
            program_name=program,
            sms_number=current_app.config.get("TWILIO_FROM_NUMBER") or None,
        )
    assert user.email  # reason_to_skip turned away anyone with neither a phone to text nor mail
    outcome.mails.append(PendingMail(user.email, subject, body))


def send_mails(mails: list[PendingMail]) -> int:
    """Send invitation mails after the invitations are committed; a failing mail server is
    logged, not shown, as the invitations themselves are recorded. Returns how many went."""
    sent = 0
    for mail in mails:
        try:
            send_mail(mail.to, mail.subject, mail.body)
            sent += 1
        except MailError:
            logger.exception("could not send an invitation mail")
    return sent


def mark_invitation_accepted(user_id: int, shift_id: int, *, now: dt.datetime) -> int:
    """The person signed up for a shift they were invited to: count the invitation as
    accepted (even after a "not this time"). Called by the signup service; one UPDATE."""
    # An UPDATE's result is a CursorResult, which has the row count.
    result = cast(
        CursorResult,
        db.session.execute(
            sa.update(Invitation)
            .where(
                Invitation.shift_id == shift_id,
                Invitation.user_id == user_id,
                Invitation.status != InvitationStatus.ACCEPTED,
            )
            .values(status=InvitationStatus.ACCEPTED, responded_at=now)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return result.rowcount


def accept_invitation(invitation: Invitation, user: User, *, now: dt.datetime):
    """The one-tap link's button: sign `user` up for the shift they were invited to (the
    signup service marks the invitation accepted). Only the invitee may use it."""
    if invitation.user_id != user.id:
        raise NotFound(_("That invitation link is not valid."))
    return signup_for_shift(user, invitation.shift, now=now, source=SignupSource.WEB)


class CannotDecline(DomainError):
    pass


def decline_invitation(invitation: Invitation, *, now: dt.datetime) -> Invitation:
    """ "Not this time": the coordinator sees the answer, and the person is not chased."""
    if invitation.status == InvitationStatus.ACCEPTED:
        raise CannotDecline(_("You are signed up for this shift. To cancel, go to My shifts."))
    if invitation.status != InvitationStatus.DECLINED:
        invitation.status = InvitationStatus.DECLINED
        invitation.responded_at = now
        db.session.flush()
    return invitation


@dataclass
class InvitationCounts:
    sent: int = 0
    accepted: int = 0
    declined: int = 0

    @property
    def waiting(self) -> int:
        return self.sent - self.accepted - self.declined


def _counts(rows) -> dict[int, InvitationCounts]:
    counts: dict[int, InvitationCounts] = {}
    for key, status, number in rows:
        entry = counts.setdefault(key, InvitationCounts())
        entry.sent += number
        if status == InvitationStatus.ACCEPTED:
            entry.accepted += number
        elif status == InvitationStatus.DECLINED:
            entry.declined += number
    return counts


def invitation_counts_by_shift(shift_ids: list[int]) -> dict[int, InvitationCounts]:
    """Invitations sent, accepted and declined for each shift, in one query."""
    if not shift_ids:
        return {}
    return _counts(
        db.session.execute(
            sa.select(Invitation.shift_id, Invitation.status, sa.func.count())
            .where(Invitation.shift_id.in_(shift_ids))
            .group_by(Invitation.shift_id, Invitation.status)
        )
    )


def invitation_counts_for_initiative(initiative_id: int) -> InvitationCounts:
    """Invitations for all of an initiative's shifts together, in one query."""
    counts = _counts(
        db.session.execute(
            sa.select(Shift.initiative_id, Invitation.status, sa.func.count())
            .join(Invitation.shift)
            .where(Shift.initiative_id == initiative_id)
            .group_by(Shift.initiative_id, Invitation.status)
        )
    )
    return counts.get(initiative_id, InvitationCounts())


@dataclass
class SentInvitation:
    invitation: Invitation
    name: str


def invitations_for_shift(shift: Shift) -> list[SentInvitation]:
    """Who was invited to `shift`, newest first, with the short names coordinators see."""
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(Invitation.shift_id == shift.id)
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
        .options(joinedload(Invitation.user))
    ).all()
    return [SentInvitation(i, queries.short_name(i.user.name, i.user.email)) for i in invitations]


@dataclass
class ShiftInvitationRow:
    shift: Shift
    counts: InvitationCounts


def initiative_invitations(initiative: Initiative) -> list[ShiftInvitationRow]:
    """Each shift of an initiative that has invitations, soonest first, with its counts."""
    shifts = db.session.scalars(
        sa.select(Shift)
        .where(
            Shift.initiative_id == initiative.id,
            Shift.id.in_(sa.select(Invitation.shift_id).distinct()),
        )
        .order_by(Shift.starts_at, Shift.id)
    ).all()
    counts = invitation_counts_by_shift([s.id for s in shifts])
    return [ShiftInvitationRow(s, counts.get(s.id, InvitationCounts())) for s in shifts]
