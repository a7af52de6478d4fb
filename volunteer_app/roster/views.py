"""Roster, attendance, check-in, hours and outcome screens."""

from flask import Blueprint

bp = Blueprint("roster", __name__)
