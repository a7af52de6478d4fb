"""Public pages for finding opportunities: home, the initiatives list with filters, and an
initiative's page."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_login import current_user

from volunteer_app.core.db import utcnow
from volunteer_app.core.time import local
from volunteer_app.initiatives import services
from volunteer_app.initiatives.forms import InitiativeFilterForm

bp = Blueprint("initiatives", __name__)

# The layout (templates/base.html) names the page's language and marks it in the switcher.
bp.add_app_template_global(get_locale, "get_locale")


@bp.app_template_filter("local_day")
def local_day(instant, tz: str, fmt: str = "full") -> str:
    """The date of `instant` in timezone `tz`, e.g. "Saturday, July 5, 2031".

    Formats the local *date*: core.time's `local_date` hands Flask-Babel a datetime, which it
    rebases to UTC, so a Saturday-evening shift in the Americas read as Sunday.
    """
    return format_date(local(instant, tz).date(), fmt)


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
