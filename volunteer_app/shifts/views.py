"""Shift pages, signing up and cancelling on the web, My shifts, and calendars."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from volunteer_app.core import transaction
from volunteer_app.core.db import utcnow
from volunteer_app.core.errors import NotFound
from volunteer_app.core.forms import ActionForm
from volunteer_app.core.time import local
from volunteer_app.shifts import calendar, queries, services
from volunteer_app.shifts.models import Shift, SignupSource, SignupStatus

bp = Blueprint("shifts", __name__)


@bp.app_template_filter("local_zone")
def local_zone(instant: dt.datetime, tz: str) -> str:
    """The zone's abbreviation at that instant ("EDT"), so nobody guesses whose 10 AM it is."""
    return local(instant, tz).strftime("%Z")


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _shift_or_404(shift_id: int) -> Shift:
    # A guessed id must not answer "flash and go back" (what web.py does for POSTed errors).
    try:
        return queries.visible_shift(shift_id, _viewer())
    except NotFound:
        abort(404)


def _back_to(shift_id: int):
    return redirect(url_for(".detail", shift_id=shift_id), 303)


@bp.route("/shifts/<int:shift_id>")
def detail(shift_id: int):
    now = utcnow()
    shift = _shift_or_404(shift_id)
    signup = rank = None
    if current_user.is_authenticated:
        signup = queries.signup_of(current_user, shift)
        rank = queries.waitlist_rank(signup) if signup is not None else None
    return render_template(
        "shifts/detail.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        signup=signup,
        rank=rank,
        closed_reason=services.shift_closed_reason(shift, now=now),
        now=now,
    )


@bp.route("/shifts/<int:shift_id>/signup", methods=["POST"])
def signup(shift_id: int):
    shift = _shift_or_404(shift_id)
    if not current_user.is_authenticated:
        # Back to the shift page after logging in, not to this POST-only URL.
        flash(_("Please log in to sign up."), "info")
        return redirect(url_for("accounts.login", next=url_for(".detail", shift_id=shift.id)))
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".detail", shift_id=shift_id))
    result = services.signup_for_shift(_viewer(), shift, now=utcnow(), source=SignupSource.WEB)
    if result.waitlisted:
        flash(
            _(
                "The shift is full: you are #%(position)d on the waitlist. "
                "We will let you know if a spot opens.",
                position=result.position,
            ),
            "warning",
        )
    else:
        flash(_("You're signed up. See you there!"), "success")
    return _back_to(shift_id)


@bp.route("/signups/<int:signup_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(signup_id: int):
    try:
        signup = queries.find_signup(signup_id, _viewer())
    except NotFound:
        abort(404)
    form = ActionForm()
    if not form.validate_on_submit():
        if request.method == "POST":
            abort(400)
        return render_template(
            "shifts/cancel_confirm.html",
            signup=signup,
            shift=signup.shift,
            tz=signup.shift.initiative.timezone,
            rank=queries.waitlist_rank(signup),
            form=form,
        )
    was_waiting = signup.status == SignupStatus.WAITLISTED
    transaction.refusal_goes_to(url_for("initiatives.my_shifts"))
    services.cancel_signup(signup, now=utcnow())
    if was_waiting:
        flash(_("You have left the waitlist."), "success")
    else:
        flash(_("Your signup is cancelled. Thank you for letting us know."), "success")
    return redirect(url_for("initiatives.my_shifts"), 303)


@bp.route("/me/calendar/rotate", methods=["POST"])
@login_required
def rotate_calendar():
    if not ActionForm().validate_on_submit():
        abort(400)
    first = current_user.calendar_token is None
    calendar.rotate_calendar_token(_viewer())
    if first:
        flash(_("Your calendar link is ready. Add it to your calendar app."), "success")
    else:
        flash(_("Your calendar has a new link. The old link no longer works."), "success")
    return redirect(url_for("initiatives.my_shifts", _anchor="calendar"), 303)


@bp.route("/me/calendar/revoke", methods=["POST"])
@login_required
def revoke_calendar():
    if not ActionForm().validate_on_submit():
        abort(400)
    calendar.revoke_calendar_token(_viewer())
    flash(_("Your calendar link is switched off."), "success")
    return redirect(url_for("initiatives.my_shifts", _anchor="calendar"), 303)


def _ics_response(body: bytes, filename: str, *, disposition: str = "attachment") -> Response:
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


@bp.route("/shifts/<int:shift_id>.ics")
def shift_ics(shift_id: int):
    shift = _shift_or_404(shift_id)
    return _ics_response(calendar.shift_calendar(shift), f"shift-{shift.id}.ics")


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    try:
        owner = calendar.user_for_token(token)
    except NotFound:
        abort(404)
    response = _ics_response(
        calendar.feed_calendar(owner, now=utcnow()), "my-shifts.ics", disposition="inline"
    )
    # The URL is a secret: no shared caches, no search engines, revalidate on every fetch.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
