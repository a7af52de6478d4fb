"""Accounts: register, log in and out, password reset, profile."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.route("/login")
def login():
    return "login"


@bp.route("/register")
def register():
    return "register"


@bp.route("/logout", methods=["POST"])
def logout():
    return "logout"


@bp.route("/profile")
def profile():
    return "profile"
