"""Public pages for finding opportunities: home, the initiatives list with filters, and an
initiative's page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from volunteer_app.core.db import utcnow
from volunteer_app.initiatives import services
from volunteer_app.initiatives.forms import InitiativeFilterForm

bp = Blueprint("initiatives", __name__)


@bp.route("/")
def home():
    page = services.home_page(now=utcnow())
    return render_template("initiatives/home.html", page=page)


@bp.route("/initiatives")
def index():
    form = InitiativeFilterForm(formdata=request.args)
    form.set_choices(services.filter_choices())
    form.validate()
    filters = form.filters()
    results = services.search_initiatives(
        filters,
        now=utcnow(),
        # A page that is not a number is the first page; the service clamps the rest.
        page=request.args.get("page", 1, type=int),
        per_page=current_app.config["PAGE_SIZE"],
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
    args = request.args.to_dict(flat=False)
    args["page"] = [str(number)]
    return url_for("initiatives.index", **args)


@bp.route("/initiatives/<slug>")
def detail(slug: str):
    now = utcnow()
    page = services.initiative_page(slug, viewer=current_user, now=now)
    return render_template("initiatives/detail.html", page=page, now=now)
