"""Coordinator broadcasts: one text to a shift's roster or to an initiative's volunteers.

A broadcast is previewed first (who will get it, who will not and why, what it costs in
segments) and then queued through the outbox, one row per person under the key
`broadcast:<uuid>:user:<id>`: sending the same preview twice (a double click, a resubmitted
form) queues nothing more. Only people with recorded consent, not opted out and with a
working phone receive it; the outbox enforces that too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext

from volunteer_app.accounts.models import PhoneStatus, User
from volunteer_app.core.errors import DomainError
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus
from volunteer_app.sms.outbox import OutgoingText, queue_many, render_sms
from volunteer_app.sms.segments import count_segments

MAX_LENGTH = 320
TEMPLATE = "broadcast"

# Why someone on the list will not get the text, in the order a person would check.
EXCLUSION_REASONS = {
    "no_phone": lazy_gettext("no phone number"),
    "no_consent": lazy_gettext("never agreed to texts"),
    "opted_out": lazy_gettext("opted out (STOP)"),
    "bad_phone": lazy_gettext("phone cannot receive texts"),
}


@dataclass
class Preview:
    recipients: list[User]
    excluded: Counter = field(default_factory=Counter)
    segments_per_text: int = 1
    total_segments: int = 0
    sample: str = ""  # the text as the first recipient will get it

    @property
    def excluded_count(self) -> int:
        return sum(self.excluded.values())

    @property
    def excluded_reasons(self) -> list[tuple[str, int]]:
        return [
            (str(EXCLUSION_REASONS[k]), self.excluded[k])
            for k in EXCLUSION_REASONS
            if k in self.excluded
        ]


def shift_audience(shift: Shift, *, include_waitlist: bool = False) -> list[User]:
    """The people on a shift's roster (confirmed or checked in), optionally its waitlist."""
    statuses = [SignupStatus.CONFIRMED, SignupStatus.ATTENDED]
    if include_waitlist:
        statuses.append(SignupStatus.WAITLISTED)
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Signup, Signup.user_id == User.id)
            .where(Signup.shift_id == shift.id, Signup.status.in_(statuses))
            .order_by(User.id)
        )
    )


def initiative_audience(initiative: Initiative, *, now: dt.datetime) -> list[User]:
    """Everyone holding a spot on one of the initiative's upcoming shifts, once each."""
    holders = (
        sa.select(Signup.user_id)
        .join(Signup.shift)
        .where(
            Shift.initiative_id == initiative.id,
            Shift.status == ShiftStatus.SCHEDULED,
            Shift.ends_at > now,
            Signup.status.in_([SignupStatus.CONFIRMED, SignupStatus.ATTENDED]),
        )
    )
    return list(db.session.scalars(sa.select(User).where(User.id.in_(holders)).order_by(User.id)))


def exclusion_reason(user: User) -> str | None:
    if not user.phone:
        return "no_phone"
    if user.sms_consent_at is None:
        return "no_consent"
    if user.sms_opted_out_at is not None:
        return "opted_out"
    if user.phone_status != PhoneStatus.OK:
        return "bad_phone"
    return None


def clean_body(body: str) -> str:
    """The coordinator's text on one line, refused when empty or too long."""
    from flask_babel import gettext as _

    text = " ".join((body or "").split())
    if not text:
        raise DomainError(_("Please write the message."))
    if len(text) > MAX_LENGTH:
        raise DomainError(
            _("Please keep the message to %(max)s characters or fewer.", max=MAX_LENGTH)
        )
    return text


def preview_broadcast(audience: list[User], body: str, **context) -> Preview:
    """Who will receive `body`, who will not and why, and the segments it will cost.

    The text is rendered once per language present (the template may add a few words), so
    the segment count is what the worker will really send.
    """
    body = clean_body(body)
    preview = Preview(recipients=[])
    for user in audience:
        reason = exclusion_reason(user)
        if reason is None:
            preview.recipients.append(user)
        else:
            preview.excluded[reason] += 1
    segments_by_language: dict[str, int] = {}
    for user in preview.recipients:
        language = user.preferred_language or "en"
        if language not in segments_by_language:
            text = render_sms(TEMPLATE, user, text=body, **context)
            segments_by_language[language] = count_segments(text)
            preview.sample = preview.sample or text
        preview.total_segments += segments_by_language[language]
    if segments_by_language:
        preview.segments_per_text = max(segments_by_language.values())
    else:
        preview.segments_per_text = count_segments(body)
    return preview


def new_broadcast_id() -> str:
    return uuid.uuid4().hex


def fingerprint(body: str) -> str:
    """What a preview showed, so a text edited after its preview is previewed again."""
    return hashlib.sha256(" ".join((body or "").split()).encode()).hexdigest()[:32]


def send_broadcast(
    audience: list[User],
    body: str,
    *,
    broadcast_id: str,
    now: dt.datetime,
    organization_id: int,
    shift_id: int | None = None,
    **context,
) -> int:
    """Queue the text from `organization_id` for everyone in `audience` who may be texted.
    Returns how many were queued now (people already queued under this broadcast id are not
    queued again). The rows name the organization: only its coordinators' log shows them."""
    body = clean_body(body)
    broadcast_id = uuid.UUID(hex=broadcast_id).hex  # refuses anything but a uuid
    texts = [
        OutgoingText(
            user=user,
            template=TEMPLATE,
            key=f"broadcast:{broadcast_id}:user:{user.id}",
            shift_id=shift_id,
            organization_id=organization_id,
            context={"text": body, **context},
        )
        for user in audience
        if exclusion_reason(user) is None
    ]
    return queue_many(texts, now=now)
