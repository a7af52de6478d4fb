"""Public pages: home, the initiatives list with filters, an initiative, a shift."""

from flask import Blueprint

bp = Blueprint("initiatives", __name__)


@bp.route("/")
def home():
    return "home"


@bp.route("/initiatives")
def index():
    return "initiatives"


@bp.route("/initiatives/<slug>")
def detail(slug: str):
    return slug
