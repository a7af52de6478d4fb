"""Open data endpoints and their OpenAPI 3 description."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
