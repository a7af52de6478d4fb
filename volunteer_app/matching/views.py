"""Find your fit (onboarding), recommendations, and finding volunteers for a shift."""

from flask import Blueprint

bp = Blueprint("matching", __name__)
