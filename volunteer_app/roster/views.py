"""Roster, attendance, check-in, hours and outcome screens.

Coordinator pages live under /coordinate/... and are guarded twice: `coordinator_required`
(volunteers get 403) and `require_shift` / `require_initiative` or a scoped lookup (another
organization's ids get 404). Volunteer pages are /checkin/<code> (public) and /me/hours.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from volunteer_app.core import confirm, submissions, transaction
from volunteer_app.core.auth import (
    admin_required,
    can_manage_organization,
    coordinator_required,
)
from volunteer_app.core.db import utcnow, writing
from volunteer_app.core.errors import DomainError, NotFound
from volunteer_app.core.forms import ActionForm
from volunteer_app.core.time import format_local, local
from volunteer_app.extensions import db, limiter
from volunteer_app.hours import attendance as hours_attendance
from volunteer_app.hours import services as hours
from volunteer_app.impact import outcomes
from volunteer_app.initiatives.access import require_initiative
from volunteer_app.reference.settings import get_setting, set_setting
from volunteer_app.roster import forms, services
from volunteer_app.shifts import queries as shift_queries
from volunteer_app.shifts import services as signups
from volunteer_app.shifts.access import require_shift
from volunteer_app.shifts.models import Shift

bp = Blueprint("roster", __name__)


def _me():
    return current_user._get_current_object()


def _to_roster(shift_id: int, anchor: str | None = None):
    return redirect(url_for(".roster", shift_id=shift_id, _anchor=anchor), 303)


# ---------------------------------------------------------------------------------------------
# The roster


def _close_forgotten_if_ended(shift: Shift, now) -> None:
    """Opening an ended shift closes its forgotten check-outs (the worker does it too), in a
    write of its own and only when there are some: the page itself stays a read."""
    if services.shift_has_ended(shift, now=now) and hours.forgotten_check_outs(
        now=now, shift_id=shift.id
    ):
        with writing(db.session):
            hours.close_forgotten_check_outs(now=now, shift_id=shift.id)


def _render_roster(shift: Shift, *, now, find_form=None, new_form=None, outcomes_form=None):
    roster = services.load_roster(shift)
    ended = services.shift_has_ended(shift, now=now)
    metrics = records = None
    if ended:
        metrics = outcomes.shift_metrics(shift)
        records = outcomes.shift_outcome_records(shift)
        if outcomes_form is None:
            current = {
                r.metric_id: f"{r.value.normalize():f}" for r in records if str(r.source) == "web"
            }
            outcomes_form = forms.shift_outcomes_form(metrics, current, prefix="outcome")
    errors = any(f is not None and f.errors for f in (find_form, new_form, outcomes_form))
    return render_template(
        "roster/roster.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        roster=roster,
        ended=ended,
        now=now,
        find_form=find_form or forms.FindWalkInForm(prefix="find"),
        new_form=new_form or forms.NewWalkInForm(prefix="new"),
        action_form=ActionForm(),
        outcomes_form=outcomes_form,
        metrics=metrics,
        records=records,
    ), (400 if errors else 200)


@bp.route("/coordinate/shifts/<int:shift_id>/roster")
@coordinator_required
def roster(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    _close_forgotten_if_ended(shift, now)
    return _render_roster(shift, now=now)


@bp.route("/coordinate/shifts/<int:shift_id>/roster.csv")
@coordinator_required
def roster_csv(shift_id: int):
    shift = require_shift(shift_id)
    body = services.roster_csv(services.load_roster(shift))
    response = Response(body, content_type="text/csv; charset=utf-8")
    filename = (
        f"roster-shift-{shift.id}-{local(shift.starts_at, shift.initiative.timezone):%Y-%m-%d}.csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _walk_in_done(shift: Shift, result: signups.WalkInResult, person, created: bool) -> None:
    name = person.display_name
    if result.waitlisted:
        flash(_("%(name)s is on the waitlist.", name=name), "success")
    elif result.capacity_raised:
        flash(_("Capacity raised by one: %(name)s is on the roster.", name=name), "success")
    elif created:
        flash(_("%(name)s is new to the program and on the roster.", name=name), "success")
    else:
        flash(_("%(name)s is on the roster.", name=name), "success")


@bp.route("/coordinate/shifts/<int:shift_id>/roster/walk-in", methods=["POST"])
@coordinator_required
def walk_in_existing(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    form = forms.FindWalkInForm(prefix="find")
    if not form.validate_on_submit():
        return _render_roster(shift, now=now, find_form=form)
    person = shift_queries.find_person(forms.given(form.lookup.data))
    if person is None:
        form.lookup.errors = [
            *form.lookup.errors,
            _("Nobody has that email or phone. Add them as a new volunteer below."),
        ]
        return _render_roster(shift, now=now, find_form=form)
    if (repeat := submissions.claim(form, now=now)) is not None:
        return repeat
    transaction.refusal_goes_to(url_for(".roster", shift_id=shift.id, _anchor="walk-in"))
    result = signups.add_walk_in(person, shift, now=now, when_full=form.when_full.data)
    submissions.saved(form, url_for(".roster", shift_id=shift.id))
    _walk_in_done(shift, result, person, created=False)
    return _to_roster(shift.id)


@bp.route("/coordinate/shifts/<int:shift_id>/roster/walk-in/new", methods=["POST"])
@coordinator_required
def walk_in_new(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    form = forms.NewWalkInForm(prefix="new")
    if not form.validate_on_submit():
        return _render_roster(shift, now=now, new_form=form)
    if (repeat := submissions.claim(form, now=now)) is not None:
        return repeat
    transaction.refusal_goes_to(url_for(".roster", shift_id=shift.id, _anchor="walk-in"))
    result, person, created = signups.add_new_walk_in(
        forms.given(form.name.data),
        forms.given(form.phone.data),
        shift,
        agreed_to_texts=form.agreed_to_texts.data,
        now=now,
        when_full=form.when_full.data,
        birth_date=form.birth_date.data,
    )
    submissions.saved(form, url_for(".roster", shift_id=shift.id))
    _walk_in_done(shift, result, person, created)
    return _to_roster(shift.id)


def _roster_signup_or_404(shift: Shift, signup_id: int):
    try:
        return shift_queries.roster_signup(shift, signup_id)
    except NotFound:
        abort(404)


@bp.route("/coordinate/shifts/<int:shift_id>/roster/<int:signup_id>/confirm", methods=["POST"])
@coordinator_required
def confirm_signup(shift_id: int, signup_id: int):
    shift = require_shift(shift_id)
    signup = _roster_signup_or_404(shift, signup_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".roster", shift_id=shift.id, _anchor="waitlist"))
    signups.confirm_from_waitlist(signup, now=utcnow())
    flash(_("%(name)s is confirmed.", name=signup.user.display_name), "success")
    return _to_roster(shift.id, "waitlist")


@bp.route(
    "/coordinate/shifts/<int:shift_id>/roster/<int:signup_id>/waitlist", methods=["GET", "POST"]
)
@coordinator_required
def waitlist_signup(shift_id: int, signup_id: int):
    shift = require_shift(shift_id)
    signup = _roster_signup_or_404(shift, signup_id)
    if not confirm.confirmed():
        name = signup.user.display_name
        return confirm.ask_first(
            title=_("Move %(name)s to the waitlist?", name=name),
            consequences=[
                _(
                    "%(name)s loses their spot and goes to the end of the waitlist, behind "
                    "everyone waiting now.",
                    name=name,
                ),
                _("The freed spot stays open until you confirm someone. Nobody is texted."),
            ],
            confirm_label=_("Yes, move them to the waitlist"),
            back_url=url_for(".roster", shift_id=shift.id),
            back_label=_("No, keep their spot"),
        )
    if not ActionForm().validate_on_submit():
        abort(400)
    transaction.refusal_goes_to(url_for(".roster", shift_id=shift.id))
    signups.move_to_waitlist(signup, now=utcnow())
    flash(
        _(
            "%(name)s moved to the end of the waitlist. The freed spot stays open until "
            "you confirm someone.",
            name=signup.user.display_name,
        ),
        "success",
    )
    return _to_roster(shift.id, "waitlist")


@bp.route("/coordinate/shifts/<int:shift_id>/outcomes", methods=["POST"])
@coordinator_required
def shift_outcomes(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    if not services.shift_has_ended(shift, now=now):
        flash(_("Outcomes can be recorded once the shift has ended."), "error")
        return _to_roster(shift.id)
    form = forms.shift_outcomes_form(outcomes.shift_metrics(shift), prefix="outcome")
    if not form.validate_on_submit():
        return _render_roster(shift, now=now, outcomes_form=form)
    if (repeat := submissions.claim(form, now=now)) is not None:
        return repeat
    transaction.refusal_goes_to(url_for(".roster", shift_id=shift.id, _anchor="outcomes"))
    recorded = outcomes.record_shift_outcomes(shift, form.values(), by=_me(), now=now)
    submissions.saved(form, url_for(".roster", shift_id=shift.id, _anchor="outcomes"))
    if recorded:
        flash(ngettext("%(num)d value recorded.", "%(num)d values recorded.", recorded), "success")
    else:
        flash(_("Nothing new to record."), "info")
    return _to_roster(shift.id, "outcomes")


@bp.route("/coordinate/shifts/<int:shift_id>/sign-in-sheet")
@coordinator_required
def sign_in_sheet(shift_id: int):
    shift = require_shift(shift_id)
    roster = services.load_roster(shift, attendance_only=True)
    url = services.check_in_url(shift, with_sheet_code=True)
    return render_template(
        "roster/sign_in_sheet.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        roster=roster,
        blank_rows=max(5, shift.capacity - len(roster.confirmed) + 3),
        check_in_url=services.check_in_url(shift),
        sheet_code=hours_attendance.display_sheet_code(shift),
        qr=services.qr_svg_inline(url),
    )


def _svg_response(shift: Shift, *, with_sheet_code: bool) -> Response:
    url = services.check_in_url(shift, with_sheet_code=with_sheet_code)
    body = services.qr_svg(url, title=_("Check in: shift %(code)s", code=shift.code))
    response = Response(body, content_type="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/coordinate/shifts/<int:shift_id>/qr.svg")
@coordinator_required
def shift_qr(shift_id: int):
    return _svg_response(require_shift(shift_id), with_sheet_code=True)


# ---------------------------------------------------------------------------------------------
# Attendance


@bp.route("/coordinate/shifts/<int:shift_id>/attendance", methods=["GET", "POST"])
@coordinator_required
def attendance(shift_id: int):
    shift = require_shift(shift_id)
    now = utcnow()
    if request.method == "GET":
        _close_forgotten_if_ended(shift, now)
    roster = services.load_roster(shift, attendance_only=True)
    form = forms.attendance_form(roster.confirmed)
    if form.validate_on_submit():
        transaction.refusal_goes_to(url_for(".attendance", shift_id=shift.id))
        result = hours_attendance.mark_attendance(shift, form.marks(), by=_me(), now=now)
        flash(
            _(
                "Attendance saved: %(present)d present, %(absent)d absent.",
                present=result.present,
                absent=result.absent,
            ),
            "success",
        )
        return redirect(url_for(".attendance", shift_id=shift.id), 303)
    opens = hours_attendance.attendance_opens_at(shift)
    return render_template(
        "roster/attendance.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        roster=roster,
        form=form,
        too_early=now < opens,
        opens=opens,
    ), (400 if form.errors else 200)


# ---------------------------------------------------------------------------------------------
# Self check-in (public)


def _public_shift_or_404(code: str) -> Shift:
    try:
        return hours_attendance.public_shift_by_code(code)
    except NotFound:
        abort(404)


def _checkin_shift() -> Shift:
    """The shift of this check-in request, looked up once (the brake asks for it too)."""
    if "checkin_shift" not in g:
        g.checkin_shift = _public_shift_or_404((request.view_args or {}).get("code", ""))
    return g.checkin_shift


def _on_coordinators_device() -> bool:
    """A coordinator of the shift is logged in: the device at the sign-in table (a kiosk), where
    the phone number alone checks people in and typos are not guesses."""
    return current_user.is_authenticated and can_manage_organization(
        current_user, _checkin_shift().initiative.organization_id
    )


def _brake_misses():
    """Wrong sheet codes and phone numbers, counted per shift and client address in the limiter's
    store (shared by every web process), so a fresh cookie does not start the count again."""
    return limiter.limit(
        lambda: current_app.config["CHECK_IN_MISSES_PER_ADDRESS"],
        methods=["POST"],
        key_func=lambda: f"checkin:{request.view_args['code']}:{get_remote_address()}",
        exempt_when=_on_coordinators_device,
        deduct_when=lambda response: g.get("checkin_missed", False),
        error_message=lambda: _("Too many tries. Please ask the coordinator to check you in."),
    )


def _check_in_or_out(form, me, shift: Shift, *, now, leaving: bool):
    """A logged-in volunteer who typed no number acts as themselves (their login is the proof,
    as their phone is when they text IN). Anyone else types a phone number, and off the
    coordinator's device also the sign-in sheet's code."""
    phone = (form.phone.data or "").strip()
    if me is not None and not phone:
        if leaving:
            return hours_attendance.check_out_self(me, shift, now=now)
        return hours_attendance.check_in_self(me, shift, now=now)
    if not phone:
        raise hours_attendance.CheckInRefused(_("Please enter your phone number."))
    if not _on_coordinators_device():
        hours_attendance.check_sheet_code(shift, form.sheet.data)
    if leaving:
        return hours_attendance.check_out_by_phone(shift, phone, now=now)
    return hours_attendance.check_in_by_phone(shift, phone, now=now)


def _check_in_refused(refusal: DomainError, form, back: str):
    # A wrong code or number is what a guesser sends: it counts towards the brake.
    g.checkin_missed = isinstance(refusal, hours_attendance.WrongNumber) or (
        isinstance(refusal, hours_attendance.WrongSheetCode) and bool(form.sheet.data)
    )
    return redirect(back, 303)


@bp.route("/checkin/<code>", methods=["GET", "POST"])
@_brake_misses()
def checkin(code: str):
    shift = _checkin_shift()
    now = utcnow()
    form = forms.CheckInForm()
    if request.method == "GET" and request.args.get("sheet"):
        form.sheet.data = request.args["sheet"][:20]  # from the sheet's QR code
    me = _me() if current_user.is_authenticated else None
    if form.validate_on_submit():
        leaving = bool(form.check_out.data)
        back = url_for(".checkin", code=shift.code, sheet=form.sheet.data or None)
        transaction.refusal_shows(lambda refusal: _check_in_refused(refusal, form, back))
        entry = _check_in_or_out(form, me, shift, now=now, leaving=leaving)
        if leaving:
            hours_text = format_decimal(entry.minutes / 60, "#,##0.##")
            flash(_("Thank you! %(hours)s hours are credited to you.", hours=hours_text), "success")
        else:
            flash(_("You're checked in. Thank you for coming!"), "success")
        return redirect(back, 303)
    if form.errors:
        flash(_("Please check the form."), "error")
    my_signup = None
    if me is not None:
        my_signup = shift_queries.signup_of(me, shift)
    return render_template(
        "roster/checkin.html",
        shift=shift,
        initiative=shift.initiative,
        tz=shift.initiative.timezone,
        form=form,
        state=hours_attendance.check_in_page_state(shift, now=now),
        my_signup=my_signup,
        kiosk=_on_coordinators_device(),
    )


@bp.route("/checkin/<code>/qr.svg")
def checkin_qr(code: str):
    # Anyone may fetch this one, so it must not carry the sheet's code.
    return _svg_response(_public_shift_or_404(code), with_sheet_code=False)


# ---------------------------------------------------------------------------------------------
# Hours: a volunteer's own, the approval queue, corrections


@bp.route("/me/hours")
@login_required
def my_hours():
    entries = hours.my_hours(_me())
    reasons = hours.latest_reasons([e.id for e in entries if str(e.status) == "rejected"])
    approved = sum(e.minutes for e in entries if str(e.status) == "approved")
    pending = sum(e.minutes for e in entries if str(e.status) == "pending")
    return render_template(
        "roster/my_hours.html",
        entries=entries,
        reasons=reasons,
        approved_minutes=approved,
        pending_minutes=pending,
    )


@bp.route("/me/hours/report", methods=["GET", "POST"])
@login_required
def report_hours():
    me = _me()
    served, others = hours.published_initiatives_for_report(me)
    form = forms.HoursReportForm()
    served_group = _("Where you have served")
    others_group = _("Other initiatives") if served else None
    form.initiative_id.choices = [
        SelectChoice(i.id, i.title, optgroup=served_group) for i in served
    ] + [SelectChoice(i.id, i.title, optgroup=others_group) for i in others]
    by_id = {i.id: i for i in served + others}

    def page():
        return render_template(
            "roster/report_hours.html", form=form, has_initiatives=bool(by_id)
        ), (400 if form.errors else 200)

    if form.validate_on_submit():
        initiative = by_id[form.initiative_id.data]
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda refusal: page(), on=form.served_on)
        hours.report_hours(
            me,
            initiative,
            served_on=form.served_on.data,
            minutes=form.minutes,
            note=form.note.data or "",
            now=utcnow(),
        )
        submissions.saved(form, url_for(".my_hours"))
        flash(_("Thank you! Your hours are waiting for a coordinator's approval."), "success")
        return redirect(url_for(".my_hours"), 303)
    return page()


@bp.route("/coordinate/hours", methods=["GET", "POST"])
@coordinator_required
def hours_queue():
    me = _me()
    form = forms.HoursReviewForm()
    if form.validate_on_submit():
        entries = hours.manageable_hours_entries(me, form.entry_ids.data)
        approve = not form.reject.data
        transaction.refusal_goes_to(url_for(".hours_queue"))
        reviewed = hours.review_hours(
            entries, approve=approve, by=me, reason=form.reason.data or "", now=utcnow()
        )
        if approve:
            message = ngettext(
                "%(num)d entry approved.", "%(num)d entries approved.", len(reviewed)
            )
        else:
            message = ngettext(
                "%(num)d entry rejected.", "%(num)d entries rejected.", len(reviewed)
            )
        flash(message, "success")
        return redirect(url_for(".hours_queue"), 303)
    entries = hours.pending_hours(me)
    return render_template("roster/hours_queue.html", entries=entries, form=form), (
        400 if form.errors else 200
    )


@bp.route("/coordinate/hours/<int:entry_id>/edit", methods=["GET", "POST"])
@coordinator_required
def hours_edit(entry_id: int):
    try:
        entry = hours.manageable_hours_entry(entry_id, _me())
    except NotFound:
        abort(404)
    form = forms.HoursCorrectionForm()
    if request.method == "GET":
        form.hours.data = f"{entry.minutes / 60:g}"

    def page():
        return render_template(
            "roster/hours_edit.html",
            entry=entry,
            form=form,
            trail=hours.hours_trail(entry),
            tz=entry.initiative.timezone,
        ), (400 if form.errors else 200)

    if form.validate_on_submit():
        transaction.refusal_shows(lambda refusal: page(), on=form.hours)
        hours.correct_hours(
            entry,
            minutes=form.minutes,
            by=_me(),
            reason=forms.given(form.reason.data),
            now=utcnow(),
        )
        flash(_("Hours corrected. The change is in the trail below."), "success")
        return redirect(url_for(".hours_edit", entry_id=entry.id), 303)
    return page()


# ---------------------------------------------------------------------------------------------
# Outcome measures: partner reports and voiding


@bp.route("/coordinate/initiatives/<int:initiative_id>/outcomes", methods=["GET", "POST"])
@coordinator_required
def initiative_outcomes(initiative_id: int):
    initiative = require_initiative(initiative_id)
    metrics = list(initiative.metrics)
    form = forms.PartnerReportForm()
    form.metric_id.choices = [SelectChoice(m.id, f"{m.name} ({m.unit})") for m in metrics]

    def page():
        return render_template(
            "roster/initiative_outcomes.html",
            initiative=initiative,
            tz=initiative.timezone,
            metrics=metrics,
            form=form,
            listing=outcomes.initiative_outcome_records(initiative),
            void_form=forms.VoidOutcomeForm(formdata=None),
        ), (400 if form.errors else 200)

    if metrics and form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda refusal: page(), on=form.period_end_on)
        outcomes.record_partner_report(
            initiative,
            form.metric_id.data,
            forms.given(form.value.data),
            period_start_on=forms.given(form.period_start_on.data),
            period_end_on=forms.given(form.period_end_on.data),
            note=form.note.data or "",
            by=_me(),
            now=utcnow(),
        )
        submissions.saved(form, url_for(".initiative_outcomes", initiative_id=initiative.id))
        flash(_("Report recorded."), "success")
        return redirect(url_for(".initiative_outcomes", initiative_id=initiative.id), 303)
    return page()


@bp.route("/coordinate/outcomes/<int:record_id>/void", methods=["GET", "POST"])
@coordinator_required
def void_outcome_record(record_id: int):
    try:
        record = outcomes.manageable_outcome_record(record_id, _me())
    except NotFound:
        abort(404)
    back = url_for(".initiative_outcomes", initiative_id=record.metric.initiative_id)
    form = forms.VoidOutcomeForm()
    if record.voided_at is None and not confirm.confirmed():
        metric = record.metric
        return confirm.ask_first(
            title=_("Withdraw this value?"),
            consequences=[
                _(
                    "%(value)s %(unit)s of %(measure)s, recorded %(when)s, stops counting "
                    "towards the goal and the public totals.",
                    value=format_decimal(record.value),
                    unit=metric.unit,
                    measure=metric.name,
                    when=format_local(record.recorded_at, metric.initiative.timezone, "short"),
                ),
                _("It stays in the list, struck through, with your reason. Nobody is told."),
            ],
            confirm_label=_("Yes, withdraw it"),
            back_url=back,
            back_label=_("No, keep it"),
            fields=[form.reason],
        )
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(back, 303)
    outcomes.void_outcome(
        record, by=_me(), reason=forms.given(form.reason.data).strip(), now=utcnow()
    )
    flash(_("The value is withdrawn; it stays in the list, struck through."), "success")
    return redirect(back, 303)


# ---------------------------------------------------------------------------------------------
# Program settings (admins)


@bp.route("/coordinate/admin/settings", methods=["GET", "POST"])
@admin_required
def settings():
    form = forms.ProgramSettingsForm()
    if request.method == "GET":
        form.hours_rounding_minutes.data = int(get_setting("hours_rounding_minutes"))
    if form.validate_on_submit():
        set_setting("hours_rounding_minutes", form.hours_rounding_minutes.data)
        current_app.logger.info(
            "hours_rounding_minutes set to %s by user %s",
            form.hours_rounding_minutes.data,
            current_user.id,
        )
        flash(_("Settings saved. New attendance uses the new rounding."), "success")
        return redirect(url_for(".settings"), 303)
    return render_template("roster/settings.html", form=form), (400 if form.errors else 200)
