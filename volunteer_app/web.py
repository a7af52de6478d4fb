"""The pieces `create_app` assembles: extensions, blueprints, event listeners, CLI, template
helpers, errors."""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit

from flask import Flask, flash, make_response, redirect, render_template, request
from flask_babel import get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from volunteer_app import (
    models,  # noqa: F401 - the whole schema, for Alembic
    seed,
)
from volunteer_app.accounts import cli as accounts_cli
from volunteer_app.accounts.views import bp as accounts_bp
from volunteer_app.accounts.views import load_user, record_login_seen
from volunteer_app.api.views import bp as api_bp
from volunteer_app.coordinators.views import bp as coordinators_bp
from volunteer_app.core import bounds, transaction
from volunteer_app.core import time as timefmt
from volunteer_app.core.errors import DomainError
from volunteer_app.core.phone import display as display_phone
from volunteer_app.extensions import babel, csrf, db, limiter, login_manager, migrate
from volunteer_app.impact import listeners as impact_listeners
from volunteer_app.impact.views import bp as impact_bp
from volunteer_app.matching import listeners as matching_listeners
from volunteer_app.matching.views import bp as matching_bp
from volunteer_app.public.views import bp as initiatives_bp
from volunteer_app.roster.views import bp as roster_bp
from volunteer_app.shifts.views import bp as shifts_bp
from volunteer_app.sms import cli as sms_cli
from volunteer_app.sms import listeners as sms_listeners
from volunteer_app.sms.views import bp as sms_bp

# The settings that hold rate limits (see config.py and accounts/views.py).
RATE_LIMIT_SETTINGS = (
    "LOGIN_LIMIT_PER_ADDRESS",
    "LOGIN_LIMIT_PER_EMAIL",
    "PASSWORD_RESET_LIMIT_PER_ADDRESS",
    "PASSWORD_RESET_LIMIT_PER_EMAIL",
    "CHECK_IN_MISSES_PER_ADDRESS",
)


def select_locale() -> str:
    """The visitor's language: ?lang=, then their profile, then the browser's preference.
    Outside a request (the SMS worker, the CLI) texts choose with `force_locale`."""
    from flask import current_app, has_request_context

    languages: dict[str, str] = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang")
    if chosen in languages:
        return chosen
    user_language = current_user.preferred_language if current_user.is_authenticated else None
    if user_language in languages:
        return user_language
    return request.accept_languages.best_match(languages.keys()) or "en"


def register_extensions(app: Flask) -> None:

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    for setting in RATE_LIMIT_SETTINGS:
        # A typo in a limit stops the start-up here, not the first login with a 500.
        parse_many(app.config[setting])
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Please log in to continue.")
    login_manager.login_message_category = "info"

    login_manager.user_loader(load_user)
    app.teardown_request(record_login_seen)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def register_blueprints(app: Flask) -> None:
    # Before any route is added: every `<int:...>` is an id that fits an id column.
    app.url_map.converters["int"] = bounds.IdConverter

    app.register_blueprint(initiatives_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(shifts_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(coordinators_bp)
    app.register_blueprint(roster_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(impact_bp)
    app.register_blueprint(api_bp)


def register_listeners(app: Flask) -> None:
    """Connect the receivers of the domain's events (core/signals): the texts a change calls
    for, what matching records, and what impact refuses. Connecting again (a second app in one
    process, as tests make) changes nothing: a receiver is connected once."""
    impact_listeners.connect()
    sms_listeners.connect()
    matching_listeners.connect()


def register_cli(app: Flask) -> None:

    accounts_cli.init_app(app)
    seed.init_app(app)
    sms_cli.init_app(app)


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["local_datetime"] = timefmt.format_local
    app.jinja_env.filters["local_date"] = timefmt.format_local_date
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["local_time"] = timefmt.format_local_time
    app.jinja_env.filters["phone"] = display_phone

    @app.context_processor
    def inject_program():
        return {
            "program_name": app.config["PROGRAM_NAME"],
            "languages": app.config["LANGUAGES"],
        }


def register_input_checks(app: Flask) -> None:
    @app.before_request
    def no_control_characters():
        """One check for every address, query string and form, so no view or form can forget
        it. The request is refused whole: nobody types a NUL, so it comes from a script or a
        broken client, and a page saying so is clearer than a field error on a field that
        looks right. Form text may hold tabs and line breaks (addresses, stories)."""
        view = app.view_functions.get(request.endpoint)
        if not getattr(view, "reads_raw_text", False) and bounds.control_characters_in(request):
            raise bounds.ControlCharacters()


def _render_error(code: int, title: str, text: str):
    return render_template("errors/error.html", code=code, title=title, text=text), code


def _bad_request(error):
    return _render_error(400, _("Bad request"), _("Something in that request was not right."))


def _control_characters(error):
    return _render_error(
        400,
        _("Unreadable characters"),
        _(
            "The address or the form held invisible control characters (such as a NUL "
            "byte), which we cannot store. Please go back, retype the text and try again."
        ),
    )


def _csrf_error(error):
    return _render_error(
        400, _("Form expired"), _("The form was missing its security token. Please retry.")
    )


def _forbidden(error):
    return _render_error(403, _("Not allowed"), _("You do not have access to this page."))


def _not_found(error):
    return _render_error(404, _("Not found"), _("We could not find that page."))


def _not_allowed(error):
    response = make_response(
        _render_error(405, _("Not allowed"), _("That action is not available here."))
    )
    if error.valid_methods:  # RFC 9110: a 405 names the methods the address does take
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _too_large(error):
    return _render_error(413, _("Too large"), _("That request was too large."))


def _too_many_attempts(error):
    # The limit that was hit knows when its window ends: the page and Retry-After say so.
    hit = limiter.current_limit
    seconds = max(1, math.ceil(hit.window.reset_time - time.time())) if hit else 60
    minutes = math.ceil(seconds / 60)
    # A limit with a message of its own (check-in) says it; the login limits share this one.
    declared = getattr(getattr(error, "limit", None), "error_message", None)
    response = make_response(
        _render_error(
            429,
            _("Too many attempts"),
            error.description
            if declared
            else ngettext(
                "There were too many attempts from this connection or for this email "
                "address. Please wait %(num)d minute and try again.",
                "There were too many attempts from this connection or for this email "
                "address. Please wait %(num)d minutes and try again.",
                minutes,
            ),
        )
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _domain_error(error: DomainError):
    """Every refusal a service raises in a request ends here: whatever the action wrote
    is rolled back, and the view's own answer (see core/transaction.py) is given."""
    db.session.rollback()
    answer = transaction.refusal_answer(error)
    if answer is not None:
        return answer
    # A refused form action goes back to the page it came from with the reason shown.
    referrer = request.referrer
    if request.method == "POST" and referrer and urlsplit(referrer).netloc == request.host:
        flash(error.message, "error")
        return redirect(referrer)
    return _render_error(error.status_code, _("Sorry"), error.message)


def _server_error(error):
    db.session.rollback()
    return _render_error(500, _("Something went wrong"), _("Please try again in a moment."))


def register_error_handlers(app: Flask) -> None:
    """Every error a request can end in gets a page of ours, in the reader's language."""
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(bounds.ControlCharacters, _control_characters)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(403, _forbidden)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(405, _not_allowed)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(429, _too_many_attempts)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(500, _server_error)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'self'",
        )
        if app.config["STRICT_TRANSPORT_SECURITY"]:
            response.headers.setdefault(
                "Strict-Transport-Security", app.config["STRICT_TRANSPORT_SECURITY"]
            )
        return response


def register_transactions(app: Flask) -> None:
    """One commit per request, after the view (core/transaction.py). Registered last, so its
    after_request hook runs before every other one."""
    transaction.init_app(app)


def trust_reverse_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXY_COUNT reverse proxies, take the client's address from
    X-Forwarded-For (as many hops back as there are proxies, which a client cannot forge):
    the rate limits count per client address."""
    count = app.config["TRUSTED_PROXY_COUNT"]
    if count:
        # Flask's documented way to wrap its WSGI app, which its types call a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=0)  # type: ignore[method-assign]
