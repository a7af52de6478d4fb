"""Open data endpoints and their OpenAPI 3 description.

Every answer is JSON: lists are paginated (page, per_page up to 100) with links, carry an
ETag that is the hash of the body (If-None-Match gives 304) and may be cached publicly for
five minutes. Bad parameters answer 400 and unknown things 404, as JSON, never a 500; what
the document allows, the API accepts (tests/api/test_schemathesis.py holds it to that).
Only GET exists, so CSRF does not apply.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import re
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext as _

from volunteer_app.api import openapi, services
from volunteer_app.core.bounds import ControlCharacters, clamp_to_window
from volunteer_app.core.db import utcnow
from volunteer_app.core.time import local
from volunteer_app.extensions import csrf
from volunteer_app.impact import reports

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_AGE = 300
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return _json(
        {"error": {"status": error.status, "code": error.code, "message": error.message}},
        error.status,
    )


@bp.errorhandler(ControlCharacters)
def _control_characters(error):
    return _api_error(
        ApiError(400, "bad_characters", _("Parameters must not hold control characters."))
    )


@bp.errorhandler(services.PageOutOfRange)
def _page_out_of_range(error):
    return _api_error(ApiError(404, "page_not_found", _("There is no such page.")))


def _json(payload: dict, status: int = 200) -> Response:
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    if status == 200:
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
        response.set_etag(hashlib.sha256(body.encode()).hexdigest())
        response.make_conditional(request)  # (in place)
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Parameters


def _int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    # ASCII digits only: "²" is a digit to str.isdigit() but no number to int().
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError(400, f"bad_{name}", _("%(name)s must be a whole number.", name=name))
    # A number longer than the maximum is out of range without being read (int() refuses
    # more than 4,300 digits).
    if len(raw.lstrip("0")) > len(str(maximum)) or not minimum <= int(raw) <= maximum:
        raise ApiError(
            400,
            f"bad_{name}",
            _("%(name)s must be between %(min)d and %(max)d.", name=name, min=minimum, max=maximum),
        )
    return int(raw)


def _paging() -> tuple[int, int]:
    page = _int_arg("page", 1, minimum=1, maximum=openapi.MAX_PAGE)
    per_page = _int_arg(
        "per_page", services.DEFAULT_PER_PAGE, minimum=1, maximum=services.MAX_PER_PAGE
    )
    return page, per_page


def _date_arg(name: str) -> dt.date | None:
    """Any calendar date, as the document's `format: date` promises, read within the date
    window: nothing is stored outside it, so 0001-01-01 finds what 1900-01-01 does."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        # YYYY-MM-DD only: fromisoformat also reads week dates (2026-W01-1).
        day = dt.date.fromisoformat(raw) if ISO_DATE.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None:
        raise ApiError(
            400, f"bad_{name}", _("%(name)s must be a date such as 2026-05-31.", name=name)
        )
    return clamp_to_window(day, _today())


def _date_range() -> tuple[dt.date | None, dt.date | None]:
    """From and to, both included; to before from is a range with no days in it."""
    return _date_arg("from"), _date_arg("to")


def _envelope(page: services.Page, data: list, endpoint: str, **meta) -> dict:
    def link(number: int) -> str:
        # (url_for takes values of any type; typed so, they are not checked against _external)
        args: dict[str, Any] = {**request.args.to_dict(), "page": number, "per_page": page.per_page}
        return url_for(endpoint, _external=True, **(request.view_args or {}), **args)

    return {
        "data": data,
        "meta": {
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "pages": page.pages,
            **meta,
        },
        "links": {
            "self": link(page.page),
            "first": link(1),
            "last": link(page.pages),
            "next": link(page.page + 1) if page.page < page.pages else None,
            "prev": link(page.page - 1) if page.page > 1 else None,
        },
    }


# ---------------------------------------------------------------------------------------------
# Records


def _initiative(initiative) -> dict:
    return {
        "slug": initiative.slug,
        "title": initiative.title,
        "summary": initiative.summary,
        "status": str(initiative.status),
        "cause": {"slug": initiative.cause.slug, "name": initiative.cause.name},
        "organization": {
            "slug": initiative.organization.slug,
            "name": initiative.organization.name,
        },
        "neighborhoods": [
            {"slug": n.slug, "name": n.name}
            for n in sorted(initiative.neighborhoods, key=lambda n: n.name)
        ],
        "timezone": initiative.timezone,
        "minimum_age": initiative.minimum_age,
        "url": url_for("initiatives.detail", slug=initiative.slug, _external=True),
        "links": {
            "self": url_for("api.initiative", slug=initiative.slug, _external=True),
            "impact": url_for("impact.initiative", slug=initiative.slug, _external=True),
            "shifts": url_for("api.shifts", initiative=initiative.slug, _external=True),
            "badge": url_for("impact.badge", slug=initiative.slug, _external=True),
        },
    }


def _goal(goal: reports.GoalRow) -> dict:
    return {
        "name": goal.name,
        "unit": goal.unit,
        "kind": goal.kind,
        "target": services.number(goal.target),
        "baseline": services.number(goal.baseline),
        "deadline_on": goal.deadline_on.isoformat() if goal.deadline_on else None,
        "achieved": services.number(goal.to_date),
        "percent": goal.percent,
    }


def _totals(totals: reports.InitiativeTotals) -> dict:
    return {
        "volunteers": totals.volunteers,
        "hours": services.number(totals.hours),
        "value_usd": services.number(decimal.Decimal(totals.value_cents) / 100),
    }


def _shift(shift) -> dict:
    return {
        "id": shift.id,
        "code": shift.code,
        "initiative": {"slug": shift.initiative.slug, "title": shift.initiative.title},
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "timezone": shift.initiative.timezone,
        "location_name": shift.location_name,
        "address": shift.address,
        "neighborhood": (
            {"slug": shift.neighborhood.slug, "name": shift.neighborhood.name}
            if shift.neighborhood
            else None
        ),
        "role": shift.role,
        "capacity": shift.capacity,
        "spots_left": shift.spots_left,
        "url": url_for("shifts.detail", shift_id=shift.id, _external=True),
    }


def _today() -> dt.date:
    return local(utcnow(), reports.program_timezone()).date()


# ---------------------------------------------------------------------------------------------
# Endpoints


@bp.route("/initiatives")
def initiatives():
    page, per_page = _paging()
    result = services.published_initiatives(
        page=page,
        per_page=per_page,
        cause=request.args.get("cause") or None,
        neighborhood=request.args.get("neighborhood") or None,
    )
    return _json(_envelope(result, [_initiative(i) for i in result.items], "api.initiatives"))


@bp.route("/initiatives/<slug>")
def initiative(slug: str):
    item = services.public_initiative(slug)
    if item is None:
        raise ApiError(404, "not_found", _("We could not find that initiative."))
    totals = reports.initiative_totals([item.id], today=_today())[item.id]
    return _json(
        {
            **_initiative(item),
            "story": item.story,
            "goals": [_goal(g) for g in totals.goals],
            "totals": _totals(totals),
        }
    )


@bp.route("/shifts")
def shifts():
    page, per_page = _paging()
    from_on, to_on = _date_range()
    result = services.upcoming_shifts(
        now=utcnow(),
        page=page,
        per_page=per_page,
        tz=reports.program_timezone(),
        initiative=request.args.get("initiative") or None,
        neighborhood=request.args.get("neighborhood") or None,
        from_on=from_on,
        to_on=to_on,
    )
    return _json(_envelope(result, [_shift(s) for s in result.items], "api.shifts"))


@bp.route("/impact/initiatives")
def impact_initiatives():
    page, per_page = _paging()
    result = services.public_initiatives_page(page=page, per_page=per_page)
    totals = reports.initiative_totals([i.id for i in result.items], today=_today())
    data = [
        {
            "slug": i.slug,
            "title": i.title,
            "status": str(i.status),
            "totals": _totals(totals[i.id]),
            "goals": [_goal(g) for g in totals[i.id].goals],
            "links": {
                "self": url_for("api.initiative", slug=i.slug, _external=True),
                "page": url_for("impact.initiative", slug=i.slug, _external=True),
            },
        }
        for i in result.items
    ]
    return _json(_envelope(result, data, "api.impact_initiatives"))


@bp.route("/impact/neighborhoods")
def impact_neighborhoods():
    page, per_page = _paging()
    from_on, to_on = _date_range()
    default = reports.default_period(_today())
    period = reports.Period(
        from_on or default.from_on, to_on or max(default.to_on, from_on or default.to_on)
    )
    result, equity = services.neighborhood_impact(
        period, tz=reports.program_timezone(), page=page, per_page=per_page
    )
    data = [
        {
            "slug": n.slug,
            "name": n.name,
            "is_priority": n.is_priority,
            "resident_volunteers": n.resident_volunteers,
            "resident_hours": services.number(n.resident_hours),
            "service_hours": services.number(n.service_hours),
            "service_volunteers": n.service_volunteers,
            "shifts": n.shifts,
        }
        for n in result.items
    ]
    placed = sum(n.service_minutes for n in equity.neighborhoods)
    priority = reports.Ratio(equity.priority_minutes, placed)
    return _json(
        _envelope(
            result,
            data,
            "api.impact_neighborhoods",
            **{
                "from": period.from_on.isoformat(),
                "to": period.to_on.isoformat(),
                "priority_share_percent": priority.percent,
            },
        )
    )


@bp.route("/openapi.json")
def openapi_document():
    server = current_app.config["PUBLIC_BASE_URL"] + bp.url_prefix
    return _json(openapi.document(server))


OTHER_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "TRACE"]


@bp.route("/", defaults={"path": ""}, methods=OTHER_METHODS)
@bp.route("/<path:path>", methods=OTHER_METHODS)
def unknown(path: str):
    """Anything else under /api/v1 answers in JSON too."""
    if request.method not in ("GET", "HEAD"):
        raise ApiError(405, "method_not_allowed", _("This API is read-only: use GET."))
    raise ApiError(404, "not_found", _("There is nothing at this address."))


@bp.after_request
def _allow(response: Response) -> Response:
    """Every address here takes GET alone (RFC 9110: a 405 and an OPTIONS answer say so),
    whatever other methods the catch-all above takes in order to refuse them in JSON."""
    if request.method == "OPTIONS" or response.status_code == 405:
        response.headers["Allow"] = ALLOWED_METHODS
    return response
