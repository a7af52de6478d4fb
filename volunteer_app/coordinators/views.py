"""Coordinator and admin screens: the coordinator home, initiatives and goals, shifts and
series, exports; organizations and coordinator invitations for admins.

Every route checks who is asking: `coordinator_required` or `admin_required`, then
`require_initiative` / `require_shift` / `_require_metric`, which answer 404 for another
organization's ids.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from volunteer_app.accounts import organizations as orgs
from volunteer_app.accounts.models import Organization
from volunteer_app.coordinators import forms, services
from volunteer_app.core import confirm, submissions, transaction
from volunteer_app.core.auth import (
    admin_required,
    can_manage_organization,
    coordinator_required,
)
from volunteer_app.core.db import utcnow
from volunteer_app.core.errors import Conflict, DomainError
from volunteer_app.core.forms import ActionForm
from volunteer_app.core.spreadsheet import csv_bytes
from volunteer_app.extensions import db
from volunteer_app.initiatives import manage
from volunteer_app.initiatives.access import require_initiative
from volunteer_app.initiatives.blueprints import BLUEPRINTS, get_blueprint
from volunteer_app.initiatives.models import OutcomeMetric
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.shifts import scheduling
from volunteer_app.shifts.access import require_shift
from volunteer_app.shifts.models import Shift

bp = Blueprint("coordinators", __name__, url_prefix="/coordinate")


def _me():
    return current_user._get_current_object()


@bp.context_processor
def helpers():
    def maybe_url(endpoint: str, **values) -> str | None:
        """A link to a page another feature may not have built yet."""
        try:
            return url_for(endpoint, **values)
        except BuildError:
            return None

    return {"maybe_url": maybe_url}


# ---------------------------------------------------------------------------------------------
# Home


@bp.route("/")
@coordinator_required
def home():
    page = services.coordinator_home(
        _me(),
        now=utcnow(),
        underfilled_percent=current_app.config.get("COORDINATOR_UNDERFILLED_PERCENT", 50),
    )
    return render_template("coordinators/home.html", page=page, now=utcnow())


# ---------------------------------------------------------------------------------------------
# Initiatives


def _reference_choices(form: forms.InitiativeForm) -> None:
    form.set_choices(
        organizations=manage.organizations_for(_me()),
        causes=db.session.scalars(sa.select(Cause).order_by(Cause.name)),
        neighborhoods=db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name)),
        skills=db.session.scalars(sa.select(Skill).order_by(Skill.name)),
        languages=db.session.scalars(sa.select(Language).order_by(Language.name)),
    )


@bp.route("/initiatives")
@coordinator_required
def initiatives():
    return render_template(
        "coordinators/initiatives.html",
        initiatives=manage.initiatives_for(_me()),
        blueprints=BLUEPRINTS.values(),
    )


@bp.route("/initiatives/new", methods=["GET", "POST"])
@coordinator_required
def new_initiative():
    form = forms.NewInitiativeForm()
    _reference_choices(form)
    if not form.organization.choices:
        flash(_("You are not a coordinator of any organization yet."), "error")
        return redirect(url_for(".initiatives"))
    blueprint = get_blueprint(request.args.get("blueprint") or form.blueprint.data)
    if request.method == "GET":
        form.set_timezone(current_app.config.get("PROGRAM_TIMEZONE", "America/New_York"))
        if blueprint is not None:
            form.blueprint.data = blueprint.slug
            cause = db.session.scalar(sa.select(Cause).where(Cause.slug == blueprint.cause_slug))
            if cause is not None:
                form.cause.data = cause.id
            skills = db.session.scalars(
                sa.select(Skill.id).where(Skill.slug.in_(blueprint.skill_slugs))
            )
            form.skills.data = list(skills)
            for details in manage.metrics_from_blueprint(blueprint.slug):
                form.metrics.append_entry()
                form.metrics[-1].form.fill(details)

    def page(status: int):
        return (
            render_template("coordinators/initiative_form.html", form=form, blueprint=blueprint),
            status,
        )

    if form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda error: page(error.status_code))
        # Someone may take the same address between our check and our insert.
        with transaction.lost_race_means(
            lambda: Conflict(_("That title was just taken. Please save again."))
        ):
            initiative = manage.create_initiative(_me(), form.details(), now=utcnow())
        done = submissions.saved(form, url_for(".initiative", initiative_id=initiative.id))
        flash(_("Initiative created as a draft. Add shifts, then publish it."), "success")
        return redirect(done, 303)
    return page(400 if form.is_submitted() else 200)


@bp.route("/initiatives/<int:initiative_id>")
@coordinator_required
def initiative(initiative_id: int):
    require_initiative(initiative_id)
    loaded = manage.initiative_for_management(initiative_id)
    if loaded is None:  # require_initiative found it; only a delete since then loses it
        abort(404)
    page = services.initiative_overview(loaded, now=utcnow())
    return render_template(
        "coordinators/initiative.html",
        page=page,
        initiative=loaded,
        tz=loaded.timezone,
        action_form=ActionForm(),
        export_form=forms.ExportRangeForm(formdata=None),
        export_kinds=services.EXPORT_KINDS,
        blueprint=get_blueprint(loaded.blueprint),
    )


@bp.route("/initiatives/<int:initiative_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_initiative(initiative_id: int):
    initiative = require_initiative(initiative_id)
    form = forms.InitiativeForm()
    _reference_choices(form)
    if request.method == "GET":
        form.fill(initiative)

    def page(status: int):
        return (
            render_template("coordinators/initiative_form.html", form=form, initiative=initiative),
            status,
        )

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(error.status_code))
        manage.update_initiative(_me(), initiative, form.details())
        flash(_("Initiative saved."), "success")
        return redirect(url_for(".initiative", initiative_id=initiative.id), 303)
    return page(400 if form.is_submitted() else 200)


def _status_change(initiative_id: int, change, message: str):
    initiative = require_initiative(initiative_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    change(initiative)
    flash(message, "success")
    return redirect(url_for(".initiative", initiative_id=initiative.id), 303)


@bp.route("/initiatives/<int:initiative_id>/publish", methods=["POST"])
@coordinator_required
def publish_initiative(initiative_id: int):
    return _status_change(
        initiative_id,
        lambda i: manage.publish(i, now=utcnow()),
        _("Published: volunteers can now find this initiative and sign up."),
    )


@bp.route("/initiatives/<int:initiative_id>/close", methods=["POST"])
@coordinator_required
def close_initiative(initiative_id: int):
    return _status_change(
        initiative_id,
        lambda i: manage.close(i, now=utcnow()),
        _("Closed: no more signups; the public page still shows what was achieved."),
    )


@bp.route("/initiatives/<int:initiative_id>/draft", methods=["POST"])
@coordinator_required
def draft_initiative(initiative_id: int):
    return _status_change(
        initiative_id,
        manage.back_to_draft,
        _("Back to draft: the initiative is hidden from the public."),
    )


# ---------------------------------------------------------------------------------------------
# Goals


def _require_metric(metric_id: int) -> OutcomeMetric:
    metric = db.session.get(OutcomeMetric, metric_id)
    if metric is None or not can_manage_organization(
        current_user, metric.initiative.organization_id
    ):
        abort(404)
    return metric


@bp.route("/initiatives/<int:initiative_id>/goals/new", methods=["GET", "POST"])
@coordinator_required
def new_goal(initiative_id: int):
    initiative = require_initiative(initiative_id)
    form = forms.NewMetricForm()

    def page(status: int):
        return (
            render_template("coordinators/goal_form.html", form=form, initiative=initiative),
            status,
        )

    if form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda error: page(error.status_code))
        manage.add_metric(initiative, form.metric_details(), now=utcnow())
        done = submissions.saved(
            form, url_for(".initiative", initiative_id=initiative.id) + "#goals"
        )
        flash(_("Goal added."), "success")
        return redirect(done, 303)
    return page(400 if form.is_submitted() else 200)


@bp.route("/goals/<int:metric_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_goal(metric_id: int):
    metric = _require_metric(metric_id)
    form = forms.MetricForm()
    if request.method == "GET":
        form.fill(
            manage.MetricDetails(
                name=metric.name,
                unit=metric.unit,
                kind=metric.kind,
                target=metric.target,
                baseline=metric.baseline,
                deadline_on=metric.deadline_on,
                sms_keyword=metric.sms_keyword,
            )
        )

    def page(status: int):
        return (
            render_template(
                "coordinators/goal_form.html",
                form=form,
                initiative=metric.initiative,
                metric=metric,
                delete_form=ActionForm(formdata=None),
            ),
            status,
        )

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(error.status_code))
        manage.update_metric(metric, form.metric_details())
        flash(_("Goal saved."), "success")
        return redirect(url_for(".initiative", initiative_id=metric.initiative_id) + "#goals", 303)
    return page(400 if form.is_submitted() else 200)


@bp.route("/goals/<int:metric_id>/delete", methods=["GET", "POST"])
@coordinator_required
def delete_goal(metric_id: int):
    metric = _require_metric(metric_id)
    initiative_id = metric.initiative_id
    if not confirm.confirmed():
        return confirm.ask_first(
            title=_("Delete the goal %(name)s?", name=metric.name),
            consequences=[
                _(
                    "The goal and its target of %(target)s %(unit)s go from the initiative "
                    "and its public page. Nobody is told.",
                    target=format_decimal(metric.target),
                    unit=metric.unit,
                ),
                _("A goal with outcome records cannot be deleted. This cannot be undone."),
            ],
            confirm_label=_("Yes, delete the goal"),
            back_url=url_for(".edit_goal", metric_id=metric.id),
            back_label=_("No, keep it"),
        )
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".edit_goal", metric_id=metric_id))
    manage.delete_metric(metric)
    flash(_("Goal deleted."), "success")
    return redirect(url_for(".initiative", initiative_id=initiative_id) + "#goals", 303)


# ---------------------------------------------------------------------------------------------
# Shifts


def _shift_choices(form: forms.ShiftForm, initiative) -> None:
    form.set_choices(
        neighborhoods=db.session.scalars(sa.select(Neighborhood).order_by(Neighborhood.name)),
        team_leads=scheduling.team_lead_choices(initiative),
    )


@bp.route("/initiatives/<int:initiative_id>/shifts/new", methods=["GET", "POST"])
@coordinator_required
def new_shift(initiative_id: int):
    initiative = require_initiative(initiative_id)
    form = forms.NewShiftForm()
    _shift_choices(form, initiative)

    def page(status: int):
        return (
            render_template("coordinators/shift_form.html", form=form, initiative=initiative),
            status,
        )

    if form.validate_on_submit():
        now = utcnow()
        if (repeat := submissions.claim(form, now=now)) is not None:
            return repeat
        transaction.refusal_shows(lambda error: page(error.status_code))
        if form.is_series:
            weekdays, until_on = form.series()
            created = scheduling.create_series(
                initiative, form.details(), weekdays=weekdays, until_on=until_on, now=now
            )
        else:
            created = [scheduling.create_shift(initiative, form.details(), now=now)]
        done = submissions.saved(
            form, url_for(".initiative", initiative_id=initiative.id) + "#shifts"
        )
        flash(
            ngettext("%(num)d shift scheduled.", "%(num)d shifts scheduled.", len(created)),
            "success",
        )
        return redirect(done, 303)
    return page(400 if form.is_submitted() else 200)


@bp.route("/shifts/<int:shift_id>", methods=["GET", "POST"])
@coordinator_required
def shift(shift_id: int):
    shift = require_shift(shift_id)
    initiative = shift.initiative
    form = forms.EditShiftForm()
    _shift_choices(form, initiative)
    if request.method == "GET":
        form.fill(scheduling.details_of(shift))

    def page(status: int):
        return (
            render_template(
                "coordinators/shift.html",
                shift=shift,
                initiative=initiative,
                tz=initiative.timezone,
                form=form,
                action_form=ActionForm(formdata=None),
                duplicate_form=forms.DuplicateShiftForm(formdata=None),
                started=shift.starts_at <= utcnow(),
                now=utcnow(),
            ),
            status,
        )

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(error.status_code))
        result = scheduling.update_shift(shift, form.details(), now=utcnow(), scope=form.scope.data)
        if result.rescheduled and not confirm.confirmed():
            # A new time or place is texted to everyone on the shifts moved. The change is
            # allowed (its refusals came first), but nothing is saved or sent until the
            # coordinator has seen who will be told.
            told = services.who_is_told(*result.rescheduled)
            if told.confirmed or told.waitlisted:
                db.session.rollback()
                return _ask_before_moving(shift, told, series=len(result.rescheduled) > 1)
        flash(_update_message(result), "success")
        return redirect(url_for(".shift", shift_id=shift.id), 303)
    return page(400 if form.is_submitted() else 200)


def _ask_before_moving(shift: Shift, told: services.WhoIsTold, *, series: bool):
    """A new time or place is texted to everyone on the shift: the coordinator sees who first.
    The edit form's fields are posted again with the confirmation."""
    consequences = [
        ngettext(
            "%(num)d person holds a spot on it.",
            "%(num)d people hold a spot on it.",
            told.confirmed,
        ),
        ngettext(
            "%(num)d person is on its waitlist.",
            "%(num)d people are on its waitlist.",
            told.waitlisted,
        ),
        ngettext(
            "%(num)d text goes out now with the new time and place: one to each of them who "
            "agreed to texts.",
            "%(num)d texts go out now with the new time and place: one to each of them who "
            "agreed to texts.",
            told.texted,
        ),
    ]
    if series:
        consequences.append(
            _(
                "The counts are for this shift and the later shifts of its series that "
                "change with it."
            )
        )
    return confirm.ask_first(
        title=_("Move this shift and tell everyone on it?"),
        consequences=consequences,
        confirm_label=_("Yes, save and tell them"),
        back_url=url_for(".shift", shift_id=shift.id),
        back_label=_("No, go back to the shift"),
    )


def _update_message(result: scheduling.ShiftUpdate) -> str:
    parts = [ngettext("%(num)d shift saved.", "%(num)d shifts saved.", len(result.shifts))]
    if result.rescheduled:
        parts.append(_("Everyone signed up is being told about the change."))
    if result.promoted:
        parts.append(
            ngettext(
                "%(num)d person moved up from the waitlist.",
                "%(num)d people moved up from the waitlist.",
                len(result.promoted),
            )
        )
    return " ".join(parts)


@bp.route("/shifts/<int:shift_id>/cancel", methods=["GET", "POST"])
@coordinator_required
def cancel_shift(shift_id: int):
    shift = require_shift(shift_id)
    if not confirm.confirmed():
        told = services.who_is_told(shift)
        return confirm.ask_first(
            title=_("Cancel this shift?"),
            consequences=[
                ngettext(
                    "%(num)d person holds a spot on it.",
                    "%(num)d people hold a spot on it.",
                    told.confirmed,
                ),
                ngettext(
                    "%(num)d person is on its waitlist.",
                    "%(num)d people are on its waitlist.",
                    told.waitlisted,
                ),
                ngettext(
                    "%(num)d text goes out now to say it is cancelled: one to each of them who "
                    "agreed to texts.",
                    "%(num)d texts go out now to say it is cancelled: one to each of them who "
                    "agreed to texts.",
                    told.texted,
                ),
                _(
                    "Their signups stay on record and nobody can sign up any more. "
                    "This cannot be undone."
                ),
            ],
            confirm_label=_("Yes, cancel the shift and tell them"),
            back_url=url_for(".shift", shift_id=shift.id),
            back_label=_("No, keep the shift"),
        )
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".shift", shift_id=shift_id))
    scheduling.cancel_shift(shift, now=utcnow())
    flash(_("Shift cancelled. Everyone signed up is being told."), "success")
    return redirect(url_for(".shift", shift_id=shift_id), 303)


@bp.route("/shifts/<int:shift_id>/duplicate", methods=["POST"])
@coordinator_required
def duplicate_shift(shift_id: int):
    shift = require_shift(shift_id)
    form = forms.DuplicateShiftForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for(".shift", shift_id=shift_id) + "#duplicate", 303)
    if (repeat := submissions.claim(form, now=utcnow())) is not None:
        return repeat
    transaction.refusal_goes_to(url_for(".shift", shift_id=shift_id) + "#duplicate")
    copy = scheduling.duplicate_shift(shift, form.new_date(), now=utcnow())
    done = submissions.saved(form, url_for(".shift", shift_id=copy.id))
    flash(_("Shift copied. Its text code is %(code)s.", code=copy.code), "success")
    return redirect(done, 303)


# ---------------------------------------------------------------------------------------------
# Exports


@bp.route("/initiatives/<int:initiative_id>/export/<kind>.csv")
@coordinator_required
def export(initiative_id: int, kind: str):
    initiative = require_initiative(initiative_id)
    if kind not in services.EXPORT_KINDS:
        abort(404)
    form = forms.ExportRangeForm(formdata=request.args)
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for(".initiative", initiative_id=initiative_id) + "#export", 303)
    period = services.ExportRange(from_on=form.from_on.data, to_on=form.to_on.data)
    header, rows = services.export_rows(initiative, kind, period)
    body = csv_bytes(header, rows)
    filename = services.export_filename(initiative, kind, period)
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


# ---------------------------------------------------------------------------------------------
# Admin: organizations and their coordinators


def _require_organization(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    return org


@bp.route("/admin/organizations")
@admin_required
def organizations():
    return render_template(
        "coordinators/organizations.html", rows=services.organizations_overview()
    )


@bp.route("/admin/organizations/new", methods=["GET", "POST"])
@admin_required
def new_organization():
    form = forms.NewOrganizationForm()

    def page(status: int):
        return render_template("coordinators/organization_form.html", form=form), status

    if form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda error: page(error.status_code))
        org = orgs.create_organization(form.details(), now=utcnow())
        done = submissions.saved(form, url_for(".organization", org_id=org.id))
        flash(_("Organization added. Invite its coordinators below."), "success")
        return redirect(done, 303)
    return page(400 if form.is_submitted() else 200)


@bp.route("/admin/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_organization(org_id: int):
    org = _require_organization(org_id)
    form = forms.OrganizationForm(obj=org if request.method == "GET" else None)

    def page(status: int):
        return (
            render_template("coordinators/organization_form.html", form=form, organization=org),
            status,
        )

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(error.status_code))
        orgs.update_organization(org, form.details())
        flash(_("Organization saved."), "success")
        return redirect(url_for(".organization", org_id=org.id), 303)
    return page(400 if form.is_submitted() else 200)


def _organization_page(org: Organization, invite_form, invitation=None, status: int = 200):
    return (
        render_template(
            "coordinators/organization.html",
            organization=org,
            members=orgs.organization_members(org),
            invite_form=invite_form,
            invitation=invitation,
            action_form=ActionForm(formdata=None),
        ),
        status,
    )


@bp.route("/admin/organizations/<int:org_id>")
@admin_required
def organization(org_id: int):
    org = _require_organization(org_id)
    return _organization_page(org, forms.InviteForm(formdata=None))


@bp.route("/admin/organizations/<int:org_id>/invite", methods=["POST"])
@admin_required
def invite(org_id: int):
    org = _require_organization(org_id)
    form = forms.InviteForm()
    if not form.validate_on_submit():
        return _organization_page(org, form, status=400)
    transaction.refusal_shows(lambda error: _organization_page(org, form, status=error.status_code))
    invitation = orgs.invite_coordinator(org, form.address())
    # Nothing is written: the signed link is the invitation, so it is shown here to copy
    # as well as mailed.
    orgs.send_invitation(invitation, invited_by=_me())
    flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
    return _organization_page(org, forms.InviteForm(formdata=None), invitation=invitation)


@bp.route("/admin/organizations/<int:org_id>/members/<int:user_id>/remove", methods=["GET", "POST"])
@admin_required
def remove_member(org_id: int, user_id: int):
    org = _require_organization(org_id)
    if not confirm.confirmed():
        member = orgs.member_of(org, user_id)
        consequences = [
            _(
                "%(name)s stops coordinating for %(organization)s at once: no more access to "
                "its initiatives, rosters and volunteers' contact details.",
                name=member.display_name,
                organization=org.name,
            )
        ]
        if len(member.memberships) == 1 and not member.is_admin:
            consequences.append(
                _("They coordinate for no other organization, so they become a volunteer.")
            )
        consequences.append(_("Nobody is told; invite them again to undo it."))
        return confirm.ask_first(
            title=_("Remove %(name)s as a coordinator?", name=member.display_name),
            consequences=consequences,
            confirm_label=_("Yes, remove them"),
            back_url=url_for(".organization", org_id=org.id),
            back_label=_("No, keep them"),
        )
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".organization", org_id=org.id))
    person = orgs.remove_member(org, user_id)
    flash(
        _(
            "%(name)s is no longer a coordinator of %(organization)s.",
            name=person.display_name,
            organization=org.name,
        ),
        "success",
    )
    return redirect(url_for(".organization", org_id=org.id), 303)


# ---------------------------------------------------------------------------------------------
# Accepting an invitation


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Anyone may open the link; accepting needs the invited person to be logged in."""
    try:
        pending = orgs.read_invitation(token)
    except orgs.InvitationInvalid:
        abort(404)
    except DomainError as error:
        return render_template("coordinators/invitation.html", problem=error.message), (
            error.status_code
        )
    form = ActionForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=request.path), 303)
        if not form.validate_on_submit():
            abort(400)
        transaction.refusal_shows(
            lambda error: (
                render_template(
                    "coordinators/invitation.html",
                    pending=pending,
                    form=form,
                    problem=error.message,
                ),
                error.status_code,
            ),
            on=transaction.PAGE,
        )
        orgs.accept_invitation(token, _me(), now=utcnow())
        flash(
            _(
                "Welcome! You now coordinate for %(organization)s.",
                organization=pending.organization.name,
            ),
            "success",
        )
        return redirect(url_for(".home"), 303)
    return render_template("coordinators/invitation.html", pending=pending, form=form)
