"""Impact pages: the public program summary, the program dashboard (admins), an organization's
dashboard (its coordinators and admins), the list of every goal behind each dashboard, an
initiative's public impact page with its badge, CSV exports of every table, the value-of-an-hour
settings (admins), and `flask impact`."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
from dataclasses import dataclass

import click
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
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from volunteer_app.accounts.models import Organization
from volunteer_app.core import submissions, transaction
from volunteer_app.core.auth import admin_required, can_manage_organization
from volunteer_app.core.db import utcnow
from volunteer_app.core.forms import ActionForm
from volunteer_app.core.spreadsheet import csv_bytes
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.impact import charts, goal_lists, rates, reports
from volunteer_app.impact.forms import (
    NewRateForm,
    PeriodFilterForm,
    PublicFilterForm,
    RateForm,
    ReportFilterForm,
)
from volunteer_app.impact.reports import Period, ReportRequest, Scope
from volunteer_app.initiatives.models import Initiative
from volunteer_app.reference.models import Cause

bp = Blueprint("impact", __name__, url_prefix="/impact")

BADGE_MAX_AGE = 3600
# A dashboard charts and lists at most this many goals (a chart of more bars is unreadable, and
# a city's hundreds of goals make a page nobody can use on a phone); past it, the dashboard
# shows the goals that need attention most and links to the goals page, which lists them all.
MAX_LISTED_GOALS = 30


# ---------------------------------------------------------------------------------------------
# Shared by the dashboards


def _presets(today: dt.date) -> list[tuple[str, Period]]:
    """Quick periods offered as links next to the filters."""
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - dt.timedelta(days=1)
    last_quarter_start = dt.date(
        last_quarter_end.year, 3 * ((last_quarter_end.month - 1) // 3) + 1, 1
    )
    return [
        (_("Last 30 days"), Period(today - dt.timedelta(days=29), today)),
        (_("Last quarter"), Period(last_quarter_start, last_quarter_end)),
        (_("This year"), Period(dt.date(today.year, 1, 1), today)),
        (_("Last year"), Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))),
        (_("Last 12 months"), reports.default_period(today)),
    ]


def _period_from(form: PeriodFilterForm, default: Period) -> Period:
    from_on, to_on = form.valid("from_on"), form.valid("to_on")
    if from_on and to_on:
        return Period(from_on, to_on)
    if from_on:
        return Period(from_on, max(from_on, default.to_on))
    if to_on:
        return Period(min(to_on, default.from_on), to_on)
    return default


def _url_with(endpoint: str, **values) -> str:
    """This page's address with the same filters (for CSV links and presets)."""
    args = request.args.to_dict()
    args.pop("lang", None)
    args.update({k: v for k, v in values.items() if v is not None})
    return url_for(endpoint, **{**(request.view_args or {}), **args})


def _csv_response(table: reports.Table, filename: str) -> Response:
    response = Response(csv_bytes(table.header, table.rows), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _table_or_404(report: reports.Report, table: str, *, public: bool) -> reports.Table:
    allowed = reports.PUBLIC_TABLES if public else reports.ALL_TABLES
    if table not in allowed:
        abort(404)
    return reports.report_tables(report, public=public)[table]


def _charts(report: reports.Report, charted: list[reports.GoalRow] | None = None) -> dict:
    """The SVG charts of a report; their data tables are rendered by the template. The goal
    chart shows the `charted` goals: by default the report's first MAX_LISTED_GOALS; a dashboard
    with more goals passes those that need attention most."""
    needing_attention = charted is not None and len(charted) < len(report.goals)
    if charted is None:
        charted = report.goals[:MAX_LISTED_GOALS]
    by_year = report.by_year

    def label(bucket, short=True):
        if by_year:
            return str(bucket.label_on.year)
        from flask_babel import format_date

        return format_date(bucket.label_on, "MMM" if short else "MMMM y")

    period_text = _(
        "%(start)s to %(end)s",
        start=format_date_long(report.period.from_on),
        end=format_date_long(report.period.to_on),
    )
    buckets = report.buckets
    hours_bars = [
        charts.Bar(
            label(b),
            float(b.hours),
            _("%(hours)s hours", hours=format_decimal(b.hours)),
            label(b, False),
        )
        for b in buckets
    ]
    volunteer_bars = [
        charts.Bar(
            label(b),
            b.volunteers,
            _("%(count)s volunteers", count=format_decimal(b.volunteers)),
            label(b, False),
        )
        for b in buckets
    ]
    fill_bars = [
        charts.Bar(
            label(b),
            b.fill.percent or 0,
            f"{b.fill.percent}%" if b.fill.percent is not None else _("no shifts"),
            label(b, False),
        )
        for b in buckets
    ]

    def busiest(bars):
        if not bars or not any(b.value for b in bars):
            return _("Nothing was recorded in this period.")
        top = max(bars, key=lambda b: b.value)
        return _("Highest: %(when)s, %(value)s.", when=top.long_label, value=top.value_text)

    per = _("per year") if by_year else _("per month")
    goals = [
        charts.ProgressRow(
            f"{g.name} ({g.initiative_title})",
            float(g.to_date),
            float(g.target),
            _(
                "%(achieved)s of %(target)s %(unit)s, %(percent)s%%",
                achieved=format_decimal(g.to_date),
                target=format_decimal(g.target),
                unit=g.unit,
                percent=g.percent,
            ),
        )
        for g in charted
    ]
    met = sum(1 for g in charted if g.is_met)
    return {
        "hours": charts.bar_chart(
            "chart-hours",
            _("Hours served %(per)s", per=per),
            _(
                "Bar chart of approved volunteer hours %(per)s, %(period)s.",
                per=per,
                period=period_text,
            )
            + " "
            + busiest(hours_bars),
            hours_bars,
        ),
        "volunteers": charts.bar_chart(
            "chart-volunteers",
            _("Volunteers %(per)s", per=per),
            _("Bar chart of people who served %(per)s, %(period)s.", per=per, period=period_text)
            + " "
            + busiest(volunteer_bars),
            volunteer_bars,
        ),
        "fill": charts.bar_chart(
            "chart-fill",
            _("Fill rate %(per)s", per=per),
            _(
                "Bar chart of the share of shift spots taken %(per)s, %(period)s.",
                per=per,
                period=period_text,
            ),
            fill_bars,
            max_value=100,
            axis_format=lambda v: f"{v:.0f}%",
        ),
        "goals": charts.progress_chart(
            "chart-goals",
            _("Progress toward the goals that need attention most")
            if needing_attention
            else _("Progress toward each goal"),
            _(
                "Horizontal bars, one per goal, showing the share of its target reached so far: "
                "%(met)d of %(count)d goals reached.",
                met=met,
                count=len(charted),
            ),
            goals,
        )
        if goals
        else None,
    }


def format_date_long(day: dt.date) -> str:
    from flask_babel import format_date

    return format_date(day, "long")


@dataclass(frozen=True)
class DashboardFilters:
    """What a dashboard's filter form asked for, read the same way by every dashboard page."""

    form: ReportFilterForm
    scope: Scope
    period: Period
    now: dt.datetime
    today: dt.date
    tz: str


def _dashboard_filters(organization: Organization | None) -> DashboardFilters:
    """The filters of a program or organization dashboard (or its goals page), from the query
    string; invalid fields are reported on the form and left out."""
    now = utcnow()
    tz = reports.program_timezone()
    today = local(now, tz).date()
    form = ReportFilterForm(formdata=request.args)
    initiative_query = sa.select(Initiative).order_by(Initiative.title)
    if organization is not None:
        initiative_query = initiative_query.where(Initiative.organization_id == organization.id)
    form.set_choices(
        organizations=None
        if organization is not None
        else db.session.scalars(sa.select(Organization).order_by(Organization.name)),
        initiatives=db.session.scalars(initiative_query),
        causes=db.session.scalars(sa.select(Cause).order_by(Cause.name)),
        regions=rates.rate_regions(),
    )
    if not form.region.data:
        form.region.data = rates.default_region()
    form.validate()
    scope = Scope(
        organization_id=organization.id if organization else form.valid("organization"),
        initiative_id=form.valid("initiative"),
        cause_id=form.valid("cause"),
    )
    return DashboardFilters(
        form=form,
        scope=scope,
        period=_period_from(form, reports.default_period(today)),
        now=now,
        today=today,
        tz=tz,
    )


def _dashboard_report(organization: Organization | None):
    """The report a program or organization dashboard asks for, from its filters."""
    filters = _dashboard_filters(organization)
    report = reports.build_report(
        ReportRequest(
            period=filters.period,
            scope=filters.scope,
            timezone=filters.tz,
            region=filters.form.valid("region"),
        ),
        now=filters.now,
    )
    return report, {
        "form": filters.form,
        "presets": _presets(filters.today),
        "generated_at": filters.now,
        "tz": filters.tz,
    }


def _render_dashboard(report, context, *, organization, csv_endpoint, goals_endpoint):
    goals = report.goals
    if len(goals) > MAX_LISTED_GOALS:
        listed = goal_lists.goals_needing_attention(goals, MAX_LISTED_GOALS)
        states = goal_lists.goal_states(goals)
    else:
        listed, states = goals, None
    return render_template(
        "impact/dashboard.html",
        report=report,
        charts=_charts(report, listed),
        listed_goals=listed,
        goal_states=states,
        organization=organization,
        csv_endpoint=csv_endpoint,
        goals_endpoint=goals_endpoint,
        url_with=_url_with,
        tables=reports.ALL_TABLES,
        **context,
    )


def _chosen_filters(form: ReportFilterForm) -> list[tuple[str, str]]:
    """(field label, chosen option) for each of organization, initiative and cause that narrows
    the page, read from the form's own choices (no query)."""
    chosen = []
    for name in ("organization", "initiative", "cause"):
        field = getattr(form, name, None)
        value = form.valid(name)
        if field is None or value is None:
            continue
        for choice in field.choices:
            if choice.value == str(value):
                chosen.append((str(field.label.text), str(choice.label)))
    return chosen


def _render_goals(organization, *, dashboard_endpoint, csv_endpoint):
    """Every goal of a dashboard's scope and period: one query for the goals, no report."""
    filters = _dashboard_filters(organization)
    goals = reports.goal_rows(filters.scope, filters.period, today=filters.today)
    return render_template(
        "impact/goals.html",
        goals=goals,
        goal_states=goal_lists.goal_states(goals),
        period=filters.period,
        form=filters.form,
        presets=_presets(filters.today),
        show_region=False,
        chosen=_chosen_filters(filters.form),
        organization=organization,
        dashboard_endpoint=dashboard_endpoint,
        csv_endpoint=csv_endpoint,
        url_with=_url_with,
        generated_at=filters.now,
        tz=filters.tz,
    )


# ---------------------------------------------------------------------------------------------
# Program and organization dashboards


@bp.route("/program")
@admin_required
def program():
    report, context = _dashboard_report(None)
    return _render_dashboard(
        report,
        context,
        organization=None,
        csv_endpoint="impact.program_csv",
        goals_endpoint="impact.program_goals",
    )


@bp.route("/program/goals")
@admin_required
def program_goals():
    return _render_goals(
        None, dashboard_endpoint="impact.program", csv_endpoint="impact.program_csv"
    )


@bp.route("/program/<table>.csv")
@admin_required
def program_csv(table: str):
    report, _context = _dashboard_report(None)
    return _csv_response(
        _table_or_404(report, table, public=False),
        f"program-{table}-{report.period.from_on}-{report.period.to_on}.csv",
    )


def _organization_or_abort(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        abort(404)
    if not can_manage_organization(current_user, organization.id):
        abort(403)
    return organization


@bp.route("/organizations/<int:organization_id>")
@login_required
def organization(organization_id: int):
    org = _organization_or_abort(organization_id)
    report, context = _dashboard_report(org)
    return _render_dashboard(
        report,
        context,
        organization=org,
        csv_endpoint="impact.organization_csv",
        goals_endpoint="impact.organization_goals",
    )


@bp.route("/organizations/<int:organization_id>/goals")
@login_required
def organization_goals(organization_id: int):
    org = _organization_or_abort(organization_id)
    return _render_goals(
        org, dashboard_endpoint="impact.organization", csv_endpoint="impact.organization_csv"
    )


@bp.route("/organizations/<int:organization_id>/<table>.csv")
@login_required
def organization_csv(organization_id: int, table: str):
    org = _organization_or_abort(organization_id)
    report, _context = _dashboard_report(org)
    return _csv_response(
        _table_or_404(report, table, public=False),
        f"{org.slug}-{table}-{report.period.from_on}-{report.period.to_on}.csv",
    )


# ---------------------------------------------------------------------------------------------
# Public pages


def _public_initiative(slug: str) -> Initiative:
    initiative = db.session.scalar(
        sa.select(Initiative)
        .where(Initiative.slug == slug, Initiative.status.in_(reports.PUBLIC_STATUSES))
        .options(joinedload(Initiative.organization), joinedload(Initiative.cause))
    )
    if initiative is None:
        abort(404)
    return initiative


def _initiative_report(initiative: Initiative):
    """An initiative's public report: since its first service unless dates are given."""
    now = utcnow()
    tz = initiative.timezone
    today = local(now, tz).date()
    form = PublicFilterForm(formdata=request.args)
    form.validate()
    scope = Scope(initiative_id=initiative.id, public_only=True)
    chosen = bool(form.valid("from_on") or form.valid("to_on"))
    if chosen:
        period = _period_from(form, reports.default_period(today))
    else:
        first = reports.first_service_on(scope) or today
        period = Period(dt.date(first.year, first.month, 1), max(today, first))
    report = reports.build_report(
        ReportRequest(period=period, scope=scope, timezone=tz, compare=chosen), now=now
    )
    return report, form, chosen


@bp.route("/")
def index():
    """The public program summary: what volunteers achieved, initiative by initiative."""
    now = utcnow()
    tz = reports.program_timezone()
    today = local(now, tz).date()
    scope = Scope(public_only=True)
    first = reports.first_service_on(scope) or today
    report = reports.build_report(
        ReportRequest(
            period=Period(dt.date(first.year, first.month, 1), max(today, first)),
            scope=scope,
            timezone=tz,
            compare=False,
        ),
        now=now,
    )
    initiatives = list(
        db.session.scalars(
            sa.select(Initiative)
            .where(Initiative.status.in_(reports.PUBLIC_STATUSES))
            .options(joinedload(Initiative.cause), joinedload(Initiative.organization))
            .order_by(Initiative.status.desc(), Initiative.title)
        )
    )
    totals = reports.initiative_totals([i.id for i in initiatives], today=today)
    return render_template(
        "impact/index.html",
        report=report,
        charts=_charts(report),
        initiatives=initiatives,
        totals=totals,
        generated_at=now,
        tz=tz,
    )


@bp.route("/initiatives/<slug>")
def initiative(slug: str):
    item = _public_initiative(slug)
    report, form, chosen = _initiative_report(item)
    base = current_app.config["PUBLIC_BASE_URL"]
    return render_template(
        "impact/initiative.html",
        initiative=item,
        report=report,
        form=form,
        chosen=chosen,
        charts=_charts(report),
        url_with=_url_with,
        tables=reports.PUBLIC_TABLES,
        badge_url=base + url_for("impact.badge", slug=item.slug),
        page_url=base + url_for("impact.initiative", slug=item.slug),
        badge_alt=_("%(title)s: volunteer hours and progress toward its goal", title=item.title),
        generated_at=utcnow(),
    )


@bp.route("/initiatives/<slug>/<table>.csv")
def initiative_csv(slug: str, table: str):
    item = _public_initiative(slug)
    report, _form, _chosen = _initiative_report(item)
    return _csv_response(
        _table_or_404(report, table, public=True),
        f"{item.slug}-{table}-{report.period.from_on}-{report.period.to_on}.csv",
    )


@bp.route("/initiatives/<slug>/badge.svg")
def badge(slug: str):
    """An SVG badge partner sites can embed: hours served and the headline goal's progress."""
    item = _public_initiative(slug)
    now = utcnow()
    today = local(now, item.timezone).date()
    totals = reports.initiative_totals([item.id], today=today)[item.id]
    hours = format_decimal(totals.hours.to_integral_value())
    goal = totals.headline_goal
    label = _("Volunteer hours")
    if goal is not None:
        message = _("%(hours)s · %(percent)s%% of goal", hours=hours, percent=goal.percent)
        description = _(
            "%(title)s: %(hours)s volunteer hours; %(percent)s%% of the goal: %(goal)s.",
            title=item.title,
            hours=hours,
            percent=goal.percent,
            goal=goal.name,
        )
    else:
        message = hours
        description = _("%(title)s: %(hours)s volunteer hours.", title=item.title, hours=hours)
    body = charts.badge(label, message, description)
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Content-Type"] = "image/svg+xml; charset=utf-8"
    response.headers["Cache-Control"] = f"public, max-age={BADGE_MAX_AGE}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Partner sites show the badge in an <img>, from their own origin.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.set_etag(hashlib.sha256(body.encode()).hexdigest())
    return response.make_conditional(request)


# ---------------------------------------------------------------------------------------------
# The value of a volunteer hour (admins)


@bp.route("/admin/rates", methods=["GET", "POST"])
@admin_required
def rates_index():
    form = NewRateForm()
    today = local(utcnow(), reports.program_timezone()).date()
    if form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda error: _rates_page(form, today), on=form.year)
        rate = rates.add_rate(**form.values(), today=today)
        submissions.saved(form, url_for("impact.rates_index"))
        flash(
            _("Added the %(year)d rate for %(region)s.", year=rate.year, region=rate.region),
            "success",
        )
        return redirect(url_for("impact.rates_index"))
    return _rates_page(form, today)


def _rates_page(form: NewRateForm, today: dt.date):
    all_rates = rates.list_rates()
    national_years = sorted(r.year for r in all_rates if r.region == rates.NATIONAL)
    missing_defaults = sorted(set(rates.DEFAULT_RATES_CENTS) - set(national_years))
    book = rates.rate_book(rates.NATIONAL)
    current = book.applied(today.year)
    return render_template(
        "impact/rates.html",
        form=form,
        rates=all_rates,
        missing_defaults=missing_defaults,
        current=current,
        this_year=today.year,
    )


@bp.route("/admin/rates/<int:rate_id>/edit", methods=["GET", "POST"])
@admin_required
def rate_edit(rate_id: int):
    rate = rates.get_rate(rate_id)
    form = RateForm(obj=rate)
    if request.method == "GET":
        form.dollars.data = decimal.Decimal(rate.cents) / 100
    today = local(utcnow(), reports.program_timezone()).date()

    def page():
        return render_template("impact/rate_edit.html", form=form, rate=rate)

    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: page(), on=form.year)
        rates.update_rate(rate, **form.values(), today=today)
        flash(_("Saved the rate."), "success")
        return redirect(url_for("impact.rates_index"))
    return page()


@bp.route("/admin/rates/load-defaults", methods=["POST"])
@admin_required
def rates_load_defaults():
    if not ActionForm().validate_on_submit():
        abort(400)
    added = rates.load_default_rates()
    flash(
        _("Added %(num)d national rates from Independent Sector.", num=added)
        if added
        else _("The national rates were already there."),
        "success",
    )
    return redirect(url_for("impact.rates_index"))


@bp.cli.command("load-rates")
def load_rates_command() -> None:
    """Add Independent Sector's national value of a volunteer hour (2021-2024) where missing."""
    added = rates.load_default_rates()
    db.session.commit()
    click.echo(
        f"Added {added} national hour rates." if added else "The national rates were already there."
    )


@bp.cli.command("refresh-retention")
def refresh_retention_command() -> None:
    """Recompute the days from each hours entry to its person's next service, which
    program-wide retention reads. The app keeps them right as it writes; run this only after
    loading hours into the database by other means (SQL, a restore of some tables)."""
    from volunteer_app.hours.models import HoursEntry, refresh_service_gaps

    refresh_service_gaps(db.session.connection())
    db.session.commit()
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(HoursEntry))
    click.echo(f"Recomputed the next day of service for {entries} hours entries.")
