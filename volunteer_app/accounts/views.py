"""Accounts pages: register, log in and out, forgot and reset password, the profile."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from volunteer_app.accounts import password_reset, services, sessions
from volunteer_app.accounts.forms import (
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from volunteer_app.accounts.password_reset import InvalidResetLink
from volunteer_app.core import submissions, transaction
from volunteer_app.core.time import utcnow
from volunteer_app.extensions import limiter

bp = Blueprint("accounts", __name__)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: `next` must never send someone to
    another site (`//evil.example`, `http://...`, `/\\evil.example` which browsers read as
    `//`), nor carry control characters into a header."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _requested_next() -> str | None:
    return safe_next(request.args.get("next") or request.form.get("next"))


def _home() -> str:
    return url_for("initiatives.home")


def _after_registration_url() -> str:
    """Where a new volunteer lands: Find your fit (three questions, skippable), then the
    page they came from, if any."""
    wanted = _requested_next()
    return url_for("matching.fit", next=wanted) if wanted else url_for("matching.fit")


def _email_typed() -> str:
    """The rate-limit key for the email address in the posted form, normalised as a login
    reads it. Hashed: the limiter's store never holds what people typed, and keys stay short."""
    email = services.normalise_email(request.form.get("email", ""))
    return "email:" + hashlib.sha256(email.encode()).hexdigest()


def _no_email_typed() -> bool:
    return not services.normalise_email(request.form.get("email", ""))


def _brake_posts(setting: str, *, per_email: bool = False):
    """Limit the form's POSTs to the rate in config[setting], per client address or per email
    address typed. Showing the form (GET) is never limited."""
    return limiter.limit(
        lambda: current_app.config[setting],
        methods=["POST"],
        key_func=_email_typed if per_email else None,
        exempt_when=_no_email_typed if per_email else None,
    )


def load_user(token: str):
    """Flask-Login's user loader: the person whose login the session or remember-me cookie
    names, while that login lasts (one query)."""
    user = sessions.user_for_token(token, now=utcnow())
    # (user_for_token attaches the login it found to the person it returns)
    if user is not None and user.login_session is not None:
        g.login_seen = sessions.seen_update(user.login_session, now=utcnow())
    return user


def record_login_seen(error) -> None:
    # After the response (a teardown), so a page view never writes inside its own transaction.
    seen = g.pop("login_seen", None)
    if seen is not None and error is None:
        sessions.record_seen(seen)


def _start_login(user, *, remember: bool = False) -> None:
    """A login of its own for this browser (see accounts/sessions.py); the caller commits, then
    calls login_user, which puts the login's token in the cookies."""
    sessions.start_login_session(
        user, remember=remember, user_agent=request.user_agent.string, now=utcnow()
    )


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_requested_next() or _home())
    form = RegisterForm()

    def page():
        return render_template("accounts/register.html", form=form, next=_requested_next())

    if form.validate_on_submit():
        if (repeat := submissions.claim(form, now=utcnow())) is not None:
            return repeat
        transaction.refusal_shows(lambda error: page(), on=form)
        # Another request may take this email or phone between our check and our insert.
        with transaction.lost_race_means(
            lambda: services.explain_conflict(form.email.data, form.phone.data)
        ):
            user = services.register_user(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                phone=form.phone.data,
                sms_consent=form.sms_consent.data,
                preferred_language=str(get_locale()),
                now=utcnow(),
            )
            _start_login(user)
        after = submissions.saved(form, _after_registration_url())
        login_user(user)
        flash(_("Welcome, %(name)s! Your account is ready.", name=user.display_name), "success")
        return redirect(after)
    return page()


@bp.route("/login", methods=["GET", "POST"])
@_brake_posts("LOGIN_LIMIT_PER_ADDRESS")
@_brake_posts("LOGIN_LIMIT_PER_EMAIL", per_email=True)
def login():
    if current_user.is_authenticated:
        return redirect(_requested_next() or _home())
    form = LoginForm()

    def page():
        return render_template("accounts/login.html", form=form, next=_requested_next())

    if form.validate_on_submit():
        # An account that is switched off (AccountInactive) is said above the form.
        transaction.refusal_shows(lambda error: page(), on=form)
        user = services.authenticate(form.email.data, form.password.data, now=utcnow())
        if user is None:
            form.form_errors.append(
                _(
                    "That email and password do not match an account. Check them, or "
                    "reset your password."
                )
            )
            return page()
        _start_login(user, remember=form.remember.data)
        login_user(user, remember=form.remember.data)
        flash(_("You are logged in."), "success")
        return redirect(_requested_next() or _home())
    return page()


@bp.route("/logout", methods=["POST"])
def logout():
    # The login ends on the server too: a copy of either cookie opens nothing afterwards.
    if current_user.is_authenticated:
        sessions.end_login_session(current_user.login_session, now=utcnow())
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(_home())


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    ended = sessions.end_every_login_session(current_user, now=utcnow())
    logout_user()
    flash(
        ngettext(
            "You are logged out of %(num)d browser, this one included.",
            "You are logged out of %(num)d browsers, this one included.",
            ended,
        ),
        "info",
    )
    return redirect(_home())


@bp.route("/password/forgot", methods=["GET", "POST"])
@_brake_posts("PASSWORD_RESET_LIMIT_PER_ADDRESS")
@_brake_posts("PASSWORD_RESET_LIMIT_PER_EMAIL", per_email=True)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.request_password_reset(form.email.data, now=utcnow())
        minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
        flash(
            _(
                "If an account uses that email address, we have sent it a link to choose a "
                "new password. The link works for %(minutes)d minutes.",
                minutes=minutes,
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    form = ResetPasswordForm()

    def page():
        return render_template("accounts/reset_password.html", form=form, token=token)

    def refused(error):
        if isinstance(error, InvalidResetLink):  # expired, used or mistyped: ask for a new one
            flash(error.message, "error")
            return redirect(url_for("accounts.forgot_password"))
        transaction.show_on(form, error)  # a password the rules refuse
        return page()

    transaction.refusal_shows(refused, on=transaction.PAGE)
    if not form.validate_on_submit():
        password_reset.user_for_reset_token(token, now=utcnow())
        return page()
    user = password_reset.reset_password(token, form.password.data, now=utcnow())
    _start_login(user)
    login_user(user)
    flash(_("Your new password is saved and you are logged in."), "success")
    return redirect(_home())


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    choices = services.profile_choices()
    if request.method == "POST":
        form = ProfileForm(choices)
    else:
        form = ProfileForm(choices, data=ProfileForm.initial_data(services.profile_data_of(user)))
    if form.validate_on_submit():
        transaction.refusal_shows(lambda error: _profile_page(user, form), on=form)
        # Another account may take this phone number between our check and our update.
        with transaction.lost_race_means(
            lambda: services.explain_conflict(None, form.phone.data, exclude_user_id=user.id)
        ):
            services.update_profile(user, form.profile_data(), now=utcnow())
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("accounts.profile"))
    return _profile_page(user, form)


def _profile_page(user, form: ProfileForm):
    return render_template(
        "accounts/profile.html",
        form=form,
        user=user,
        sms_status=services.sms_status(user),
        sms_number=current_app.config.get("TWILIO_FROM_NUMBER") or None,
        logins=sessions.active_login_sessions(user, now=utcnow()),
        describe_device=sessions.describe_device,
        # A login belongs to no initiative: its times are shown in the program's timezone.
        tz=current_app.config["PROGRAM_TIMEZONE"],
    )
