"""Signing up for shifts, My shifts, calendars."""

from flask import Blueprint

bp = Blueprint("shifts", __name__)


@bp.route("/me/shifts")
def my_shifts():
    return "my shifts"
