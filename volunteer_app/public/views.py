"""The resident's screens, which combine several features: home, the initiatives list with
filters, an initiative's page, and "My shifts" (signups with the hours they earned). The
blueprint keeps its first name, "initiatives", so the endpoints read as they always have."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import format_decimal
from flask_login import current_user, login_required

from volunteer_app.core.db import utcnow
from volunteer_app.matching.services import home_suggestions, initiative_order
from volunteer_app.public import services
from volunteer_app.public.forms import BEST_MATCH, InitiativeFilterForm
from volunteer_app.shifts import calendar

bp = Blueprint("initiatives", __name__)


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None


@bp.route("/")
def home():
    now = utcnow()
    page = services.home_page(now=now)
    return render_template(
        "initiatives/home.html", page=page, recommended=home_suggestions(_viewer(), now=now)
    )


@bp.route("/initiatives")
def index():
    form = InitiativeFilterForm(formdata=request.args)
    form.set_choices(services.filter_choices())
    form.validate()
    filters = form.filters()
    now = utcnow()
    scores = None
    if form.sort.data == BEST_MATCH and not form.sort.errors and current_user.is_authenticated:
        scores = initiative_order(_viewer(), now=now)
    results = services.search_initiatives(
        filters,
        now=now,
        # A page that is not a number is the first page; the service clamps the rest.
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
        scores=scores,
    )
    return render_template(
        "initiatives/index.html",
        form=form,
        filters=filters,
        results=results,
        page_url=_page_url,
    )


def _page_url(number: int) -> str:
    """This list with the same filters, on page `number`."""
    # (url_for takes values of any type; typed so, they are not checked against _external)
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args["page"] = [str(number)]
    return url_for("initiatives.index", **args)


@bp.route("/initiatives/<slug>")
def detail(slug: str):
    now = utcnow()
    page = services.initiative_page(slug, viewer=current_user, now=now)
    return render_template("initiatives/detail.html", page=page, now=now)


@bp.route("/me/shifts")
@login_required
def my_shifts():
    now = utcnow()
    mine = services.my_shifts(_viewer(), now=now)
    return render_template(
        "shifts/my_shifts.html",
        mine=mine,
        approved_hours=format_decimal(round(mine.approved_minutes / 60, 1)),
        now=now,
        feed_url=calendar.feed_url(current_user),
    )
