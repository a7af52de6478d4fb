"""Impact dashboards (program, organization, initiative), public impact pages, exports."""

from flask import Blueprint

bp = Blueprint("impact", __name__, url_prefix="/impact")
