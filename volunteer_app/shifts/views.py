"""Signing up for shifts, My shifts, calendars."""

from flask import Blueprint

bp = Blueprint("shifts", __name__)


@bp.route("/me/shifts")
def my_shifts():
    return "my shifts"


@bp.route("/shifts/<int:shift_id>")
def detail(shift_id: int):
    return str(shift_id)
