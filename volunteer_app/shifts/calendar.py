"""Calendars: one shift as an .ics download, and each volunteer's private subscription feed.

Every event's UID is `shift-<id>@<public host>`, the same in the download and in the feed, so a
calendar that imports both does not show the shift twice, and a changed shift updates in place.
Times are written in UTC: no VTIMEZONE blocks to get wrong, and every client shows them in its
own zone. The feed URL is a bearer secret (`users.calendar_token`); rotating the token is how
a volunteer revokes a URL they shared by mistake.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from urllib.parse import urlsplit

import icalendar
import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import NotFound
from volunteer_app.extensions import db
from volunteer_app.initiatives.models import Initiative
from volunteer_app.shifts.models import Shift, ShiftStatus, Signup, SignupStatus

# Past shifts stay in the feed this long, so "what did I do last week" still shows.
FEED_RECENT_DAYS = 30
# How often we ask subscribed calendar apps to check again (most poll on their own schedule).
FEED_REFRESH = dt.timedelta(hours=1)
FEED_STATUSES = (SignupStatus.CONFIRMED, SignupStatus.ATTENDED)
# What `secrets.token_urlsafe` makes; anything else (NUL bytes, megabytes) never reaches SQL.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


# ---------------------------------------------------------------------------------------------
# Building calendars


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + path


def shift_uid(shift: Shift) -> str:
    host = urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"
    return f"shift-{shift.id}@{host}"


def shift_event(shift: Shift) -> icalendar.Event:
    """One VEVENT for `shift`, in the current locale. Needs the shift's initiative loaded."""
    initiative = shift.initiative
    shift_url = public_url(url_for("shifts.detail", shift_id=shift.id))
    event = icalendar.Event()
    event.add("uid", shift_uid(shift))
    # Without METHOD semantics DTSTAMP is the event's last revision, which keeps the output
    # identical between fetches until the shift itself changes.
    event.add("dtstamp", shift.updated_at)
    event.add("last-modified", shift.updated_at)
    event.add("dtstart", shift.starts_at)
    event.add("dtend", shift.ends_at)
    summary = initiative.title
    if shift.role:
        summary = _("%(title)s: %(role)s", title=initiative.title, role=shift.role)
    if shift.is_cancelled:
        summary = _("Cancelled: %(summary)s", summary=summary)
    event.add("summary", summary)
    location = ", ".join(part for part in (shift.location_name, shift.address) if part)
    if location:
        event.add("location", location)
    if shift.latitude is not None and shift.longitude is not None:
        event.add("geo", (shift.latitude, shift.longitude))
    lines = [_("Organized by %(name)s", name=initiative.organization.name)]
    if shift.description:
        lines += ["", shift.description]
    lines += ["", _("Shift code %(code)s", code=shift.code), shift_url]
    event.add("description", "\n".join(lines))
    event.add("url", shift_url)
    event.add("status", "CANCELLED" if shift.is_cancelled else "CONFIRMED")
    return event


def _calendar(name: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", f"-//{current_app.config['PROGRAM_NAME']}//Volunteer shifts//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    return calendar


def shift_calendar(shift: Shift) -> bytes:
    """An .ics file holding the one shift."""
    calendar = _calendar(shift.initiative.title)
    calendar.add_component(shift_event(shift))
    return calendar.to_ical()


def feed_signups(user: User, *, now: dt.datetime) -> list[Signup]:
    """The person's confirmed upcoming shifts and the ones they served recently, in one query."""
    return list(
        db.session.scalars(
            sa.select(Signup)
            .join(Signup.shift)
            .where(
                Signup.user_id == user.id,
                Signup.status.in_(FEED_STATUSES),
                Shift.status == ShiftStatus.SCHEDULED,
                Shift.ends_at >= now - dt.timedelta(days=FEED_RECENT_DAYS),
            )
            .order_by(Shift.starts_at)
            .options(
                joinedload(Signup.shift)
                .joinedload(Shift.initiative)
                .joinedload(Initiative.organization)
            )
        )
    )


def feed_calendar(user: User, *, now: dt.datetime) -> bytes:
    """The person's subscription feed, written in their own language."""
    with force_locale(user.preferred_language or "en"):
        calendar = _calendar(
            _("My volunteer shifts (%(program)s)", program=current_app.config["PROGRAM_NAME"])
        )
        calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", FEED_REFRESH)
        for signup in feed_signups(user, now=now):
            calendar.add_component(shift_event(signup.shift))
    return calendar.to_ical()


# ---------------------------------------------------------------------------------------------
# The private feed's token


def new_token() -> str:
    return secrets.token_urlsafe(32)


def user_for_token(token: str) -> User:
    """The owner of a feed token; NotFound for an unknown, revoked or malformed one."""
    user = None
    if TOKEN_SHAPE.fullmatch(token):
        user = db.session.scalar(sa.select(User).where(User.calendar_token == token))
    if user is None or not user.active:
        raise NotFound(_("We could not find that calendar."))
    return user


def rotate_calendar_token(user: User) -> str:
    """Give the person a new feed URL (or their first); any old URL stops working at once."""
    user.calendar_token = new_token()
    db.session.flush()
    return user.calendar_token


def revoke_calendar_token(user: User) -> None:
    """Switch the person's feed off: the URL answers 404 until they make a new one."""
    user.calendar_token = None
    db.session.flush()


def feed_url(user: User) -> str | None:
    if user.calendar_token is None:
        return None
    return public_url(url_for("shifts.calendar_feed", token=user.calendar_token))
