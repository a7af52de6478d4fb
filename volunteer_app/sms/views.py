"""SMS web endpoints: Twilio webhooks, the simulator, the SMS log."""

from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")
