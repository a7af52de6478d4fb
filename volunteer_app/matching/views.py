"""Find your fit (onboarding), recommendations, and finding volunteers for a shift.

Residents: /welcome/fit, /me/recommendations, and the one-tap invitation links /i/<token>.
Coordinators: /coordinate/shifts/<id>/candidates (and its invite POST) and the invitation
counts of an initiative. Admins: /coordinate/admin/neighborhoods, the equity setting.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from volunteer_app.core import confirm, submissions, transaction
from volunteer_app.core.auth import (
    admin_required,
    coordinator_required,
)
from volunteer_app.core.db import utcnow
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.forms import ActionForm
from volunteer_app.initiatives.access import require_initiative
from volunteer_app.matching import invitations, reasons, services
from volunteer_app.matching.forms import EquityForm, FitForm, InviteForm
from volunteer_app.matching.models import InvitationStatus
from volunteer_app.shifts.access import require_shift
from volunteer_app.shifts.queries import signup_of
from volunteer_app.shifts.services import shift_closed_reason

bp = Blueprint("matching", __name__)


@bp.app_template_filter("match_reasons")
def match_reasons(match, audience: str = reasons.RESIDENT) -> str:
    """A match's reasons on one line: "Saturday morning · 1.2 mi away · uses your Spanish"."""
    return reasons.reason_line(match, audience)


def _me():
    return current_user._get_current_object()


def _safe_next() -> str | None:
    from volunteer_app.accounts.views import safe_next

    return safe_next(request.args.get("next") or request.form.get("next"))


# ---------------------------------------------------------------------------------------------
# Residents


@bp.route("/welcome/fit", methods=["GET", "POST"])
@login_required
def fit():
    user = _me()
    choices = services.fit_choices()
    if request.method == "POST":
        form = FitForm(choices, current_travel=user.travel_miles)
    else:
        answers = services.fit_answers_of(user)
        form = FitForm(
            choices, current_travel=user.travel_miles, data=FitForm.initial_data(answers)
        )
    after = _safe_next()
    if request.method == "POST" and "skip" in request.form:
        if not ActionForm().validate_on_submit():
            abort(400)
        services.skip_fit(user, now=utcnow())
        flash(_("No problem. You can answer these questions any time from your profile."), "info")
        return redirect(after or url_for("initiatives.home"), 303)

    def page():
        status = 400 if form.errors or form.form_errors else 200
        return render_template("matching/fit.html", form=form, next=after, user=user), status

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(), on=form)
        services.save_fit(user, form.answers(), now=utcnow())
        flash(_("Thank you! Here are shifts that fit you."), "success")
        return redirect(after or url_for(".recommendations"), 303)
    return page()


@bp.route("/me/recommendations")
@login_required
def recommendations():
    user = _me()
    items = services.recommendations_for(user, now=utcnow(), limit=services.PAGE_RECOMMENDATIONS)
    return render_template(
        "matching/recommendations.html", items=items, onboarded=user.onboarded_at is not None
    )


def _invitation_or_404(token: str):
    try:
        return invitations.invitation_for_token(token)
    except NotFound:
        abort(404)


@bp.route("/i/<token>")
@login_required
def invitation(token: str):
    """The one-tap link: after logging in, the invitee sees the shift and one button."""
    invitation = _invitation_or_404(token)
    if invitation.user_id != current_user.id:
        abort(404)
    now = utcnow()
    shift = invitation.shift
    return render_template(
        "matching/invitation.html",
        invitation=invitation,
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        token=token,
        signup=signup_of(_me(), shift),
        closed_reason=shift_closed_reason(shift, now=now),
        form=ActionForm(),
    )


@bp.route("/i/<token>/yes", methods=["POST"])
@login_required
def accept(token: str):
    invitation = _invitation_or_404(token)
    if invitation.user_id != current_user.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    shift_page = url_for("shifts.detail", shift_id=invitation.shift_id)
    transaction.refusal_goes_to(shift_page)
    result = invitations.accept_invitation(invitation, _me(), now=utcnow())
    if result.waitlisted:
        flash(
            _(
                "The shift filled up: you are #%(position)d on the waitlist. "
                "We will let you know if a spot opens.",
                position=result.position,
            ),
            "warning",
        )
    else:
        flash(_("You're signed up. See you there!"), "success")
    return redirect(shift_page, 303)


@bp.route("/i/<token>/no", methods=["GET", "POST"])
def decline(token: str):
    """ "Not this time": the link itself is the proof, so no login is needed to say no."""
    invitation = _invitation_or_404(token)
    form = ActionForm()
    if request.method == "GET" or not form.validate_on_submit():
        if request.method == "POST":
            abort(400)
        shift = invitation.shift
        return render_template(
            "matching/decline.html",
            invitation=invitation,
            shift=shift,
            initiative=shift.initiative,
            tz=shift.initiative.timezone,
            form=form,
            declined=invitation.status == InvitationStatus.DECLINED,
        )
    transaction.refusal_goes_to(url_for(".decline", token=token))
    invitations.decline_invitation(invitation, now=utcnow())
    flash(_("Thanks for letting us know. We will ask again another time."), "success")
    return redirect(url_for(".decline", token=token), 303)


# ---------------------------------------------------------------------------------------------
# Coordinators


@bp.route("/coordinate/shifts/<int:shift_id>/candidates")
@coordinator_required
def candidates(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    closed = None
    try:
        invitations.check_shift_invitable(shift, now=now)
    except DomainError as refusal:
        closed = refusal.message
    people = [] if closed else invitations.candidates_for(shift, now=now)
    return render_template(
        "matching/candidates.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        people=people,
        closed=closed,
        sent=invitations.invitations_for_shift(shift),
        counts=invitations.invitation_counts_by_shift([shift.id]).get(shift.id)
        or invitations.InvitationCounts(),
        initiative_counts=invitations.invitation_counts_for_initiative(shift.initiative_id),
        weekly_cap=services.get_setting("max_invitations_per_week"),
        form=InviteForm(),
        audience=reasons.COORDINATOR,
    )


@bp.route("/coordinate/shifts/<int:shift_id>/invite", methods=["GET", "POST"])
@coordinator_required
def invite(shift_id: int):
    shift = require_shift(shift_id)
    form = InviteForm()
    back = url_for(".candidates", shift_id=shift.id)
    if request.method == "GET":
        return redirect(back, 303)  # people are chosen on the list of candidates
    if not form.validate_on_submit() or not form.people.data:
        if form.csrf_token.errors:
            abort(400)
        flash(_("Choose people from the list."), "error")
        return redirect(back, 303)
    if not confirm.confirmed():
        return _ask_before_inviting(form.people.data, back)
    if (repeat := submissions.claim(form, now=utcnow())) is not None:
        return repeat
    transaction.refusal_goes_to(back)
    outcome = invitations.invite_volunteers(shift, form.people.data, invited_by=_me(), now=utcnow())
    submissions.saved(form, back)
    # The mails link to invitations that must exist when they are opened.
    transaction.after_commit(lambda: invitations.send_mails(outcome.mails))
    if outcome.invited:
        flash(
            ngettext(
                "Invitation sent to %(num)d person (%(texts)d by text, %(mails)d by email).",
                "Invitations sent to %(num)d people (%(texts)d by text, %(mails)d by email).",
                len(outcome.invited),
                texts=outcome.by_text,
                mails=outcome.by_email,
            ),
            "success",
        )
    if outcome.skipped:
        flash(_skipped_message(outcome), "warning")
    return redirect(back, 303)


def _ask_before_inviting(people: list[int], back: str):
    """The confirm page: how many texts and mails the invitations to `people` send."""
    reach = invitations.reach_of(people)
    return confirm.ask_first(
        title=ngettext(
            "Invite %(num)d person to this shift?",
            "Invite %(num)d people to this shift?",
            len(people),
        ),
        consequences=[
            ngettext(
                "%(num)d text goes out now, with a link to say yes or no.",
                "%(num)d texts go out now, each with a link to say yes or no.",
                reach.texts,
            ),
            ngettext(
                "%(num)d email goes to someone who has not agreed to texts.",
                "%(num)d emails go to those who have not agreed to texts.",
                reach.emails,
            ),
            _(
                "Anyone already invited, on the shift, busy then or at this week's limit "
                "of invitations is left out."
            ),
        ],
        confirm_label=_("Yes, send the invitations"),
        back_url=back,
        back_label=_("No, back to the list"),
    )


def _skipped_message(outcome: invitations.InviteOutcome) -> str:
    words = {
        invitations.ALREADY_INVITED: _("already invited"),
        invitations.ON_SHIFT: _("already on the shift"),
        invitations.BUSY: _("busy at that time"),
        invitations.WEEKLY_LIMIT: _("had enough invitations this week"),
        invitations.UNREACHABLE: _("cannot be reached"),
        invitations.TOO_YOUNG: _("too young for this initiative"),
        invitations.NOT_A_VOLUNTEER: _("not a volunteer"),
    }
    parts = [
        f"{words.get(reason, reason)}: {count}"
        for reason, count in sorted(outcome.skipped_counts().items())
    ]
    return ngettext(
        "%(num)d person was not invited (%(why)s).",
        "%(num)d people were not invited (%(why)s).",
        len(outcome.skipped),
        why="; ".join(parts),
    )


@bp.route("/coordinate/initiatives/<int:initiative_id>/invitations")
@coordinator_required
def initiative_invitations(initiative_id: int):
    initiative = require_initiative(initiative_id)
    return render_template(
        "matching/initiative_invitations.html",
        initiative=initiative,
        tz=initiative.timezone,
        rows=invitations.initiative_invitations(initiative),
        totals=invitations.invitation_counts_for_initiative(initiative.id),
    )


# ---------------------------------------------------------------------------------------------
# Admins


@bp.route("/coordinate/admin/neighborhoods", methods=["GET", "POST"])
@admin_required
def neighborhoods():
    settings = services.equity_settings()
    if request.method == "POST":
        form = EquityForm(settings.neighborhoods)
    else:
        form = EquityForm(
            settings.neighborhoods,
            data={
                "priority": [hood.id for hood in settings.neighborhoods if hood.is_priority],
                "boost": settings.boost,
            },
        )

    def page():
        status = 400 if form.errors or form.form_errors else 200
        return render_template("matching/neighborhoods.html", form=form, settings=settings), status

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(), on=form)
        services.save_equity_settings(set(form.priority.data or []), boost=form.boost.data)
        flash(_("Priority neighborhoods saved."), "success")
        return redirect(url_for(".neighborhoods"), 303)
    return page()
