"""Coordinator and admin screens for initiatives, goals and shifts."""

from flask import Blueprint

bp = Blueprint("coordinators", __name__, url_prefix="/coordinate")
