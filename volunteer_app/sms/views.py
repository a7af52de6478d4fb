"""SMS web endpoints: Twilio's webhooks (inbound texts, delivery reports), the admin
simulator, the SMS log and coordinator broadcasts.

The webhooks are CSRF-exempt because Twilio cannot send a token; instead every request must
carry a valid X-Twilio-Signature over PUBLIC_BASE_URL + path (+ query), so the check holds
behind a TLS-terminating proxy. They never answer 500: Twilio would retry, and the sender
would hear nothing.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from volunteer_app.core import transaction
from volunteer_app.core.auth import (
    admin_required,
    coordinator_required,
)
from volunteer_app.core.bounds import id_value, reads_raw_text, without_control_characters
from volunteer_app.core.db import utcnow
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.core.time import from_local
from volunteer_app.extensions import csrf, db
from volunteer_app.initiatives.access import require_initiative
from volunteer_app.shifts.access import require_shift
from volunteer_app.sms import broadcast as broadcasts
from volunteer_app.sms import gateway
from volunteer_app.sms import log as sms_log
from volunteer_app.sms.forms import BroadcastForm, LogFilterForm, SimulatorForm
from volunteer_app.sms.inbound import handle_inbound, lost_race, render_reply, stored_reply
from volunteer_app.sms.models import MessageStatus
from volunteer_app.sms.status import apply_status_callback

bp = Blueprint("sms", __name__, url_prefix="/sms")
logger = logging.getLogger(__name__)

# Tries of an inbound text's transaction that lost a race, and the wait between them.
RACE_ATTEMPTS = 5
RACE_BACKOFF_SECONDS = 0.05


def _twilio_signed() -> bool:
    url = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("utf-8", "replace")
    return gateway.is_valid_signature(url, request.form, request.headers.get("X-Twilio-Signature"))


def _field(name: str) -> str:
    """A webhook field without control characters: a NUL in a text is dropped, not stored
    (PostgreSQL refuses it), and the text is still read and answered."""
    return without_control_characters(request.form.get(name) or "")


def _twiml(text: str | None) -> Response:
    return Response(gateway.twiml_message(text), mimetype="text/xml")


@bp.route("/inbound", methods=["POST"])
@csrf.exempt
@reads_raw_text
def inbound():
    if not _twilio_signed():
        abort(403)
    sid = _field("MessageSid") or _field("SmsSid")
    sender = _field("From")
    if not sid or not sender:
        return _twiml(None), 400
    received_at = utcnow()
    try:
        reply = _committed(
            lambda: handle_inbound(sender, _field("Body"), sid, received_at, to_phone=_field("To"))
        )
    except Exception:
        # A duplicate that slipped past the insert guard, or the database failing: never a 500.
        db.session.rollback()
        logger.exception("inbound SMS %s could not be recorded", sid)
        reply = _reply_after_failure(sid)
    return _twiml(reply)


def _committed(handle: Callable[[], str | None]) -> str | None:
    """Run `handle` and commit. A transaction that lost a race with another (two texts from
    one phone at once) is rolled back and run again, a few times, before the error stands.

    The webhooks commit here rather than at the request's end (core/transaction.py): a race
    lost at the commit must run the whole handler again, and Twilio must get its TwiML answer
    (never a 500) even when the commit fails for good."""
    attempt = 1
    while True:
        try:
            reply = handle()
            db.session.commit()
            return reply
        except Exception as exc:
            db.session.rollback()
            if attempt >= RACE_ATTEMPTS or not lost_race(exc):
                raise
            # (lost_race is true only of an OperationalError, which carries the driver's error)
            orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
            logger.warning("inbound SMS lost a race, try %d: %s", attempt, orig)
        # A little random wait, so the losers do not collide again in step.
        time.sleep(random.uniform(0, RACE_BACKOFF_SECONDS * attempt))
        attempt += 1


def _reply_after_failure(sid: str) -> str | None:
    """The reply already stored for `sid` (another request won the race), else an apology."""
    try:
        stored = stored_reply(sid)
    except Exception:
        db.session.rollback()
        logger.exception("could not read the stored reply to %s", sid)
        stored = None
    if stored is not None:
        return stored.reply_body
    return render_reply("apology", current_app.config["BABEL_DEFAULT_LOCALE"])


@bp.route("/status", methods=["POST"])
@csrf.exempt
@reads_raw_text
def status():
    if not _twilio_signed():
        abort(403)
    try:
        apply_status_callback(
            _field("MessageSid") or _field("SmsSid"),
            _field("MessageStatus") or _field("SmsStatus"),
            _field("ErrorCode"),
            now=utcnow(),
            message_id=request.args.get("message", type=id_value),
        )
        db.session.commit()
    except Exception:
        # Twilio retries a failed callback; a report we cannot store is not worth a storm.
        db.session.rollback()
        logger.exception("status callback for %s failed", request.form.get("MessageSid"))
    # 200 even for a SID we never sent: Twilio retries anything else.
    return _twiml(None)


# ---------------------------------------------------------------------------------------------
# The SMS log


@bp.route("/log")
@coordinator_required
def log():
    form = LogFilterForm(request.args)
    form.kind.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(kind) for kind in sms_log.known_kinds()
    ]
    filters = sms_log.LogFilters()
    if request.args and not form.validate():
        flash(_("Some filters were not understood and were left out."), "warning")
    for name in ("status", "direction", "kind", "date_from", "date_to", "phone"):
        field = getattr(form, name)
        if not field.errors:
            setattr(filters, name, field.data or None)
    timezone = current_app.config["PROGRAM_TIMEZONE"]
    page = sms_log.message_log(
        current_user,
        filters,
        page=form.page.data if form.page.data and not form.page.errors else 1,
        timezone=timezone,
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "sms_admin/log.html", form=form, page=page, args=args, program_timezone=timezone
    )


# ---------------------------------------------------------------------------------------------
# The simulator


@bp.route("/simulator", methods=["GET", "POST"])
@admin_required
def simulator():
    form = SimulatorForm()
    if form.validate_on_submit():
        phone = form.phone.data
        sent_at = utcnow()
        if form.sent_at.data:
            sent_at = from_local(form.sent_at.data, current_app.config["PROGRAM_TIMEZONE"])
        sid = "SIM" + uuid.uuid4().hex
        try:
            _committed(
                lambda: handle_inbound(
                    phone,
                    form.body.data,
                    sid,
                    sent_at,
                    to_phone=current_app.config.get("TWILIO_FROM_NUMBER", ""),
                )
            )
        except Exception:
            db.session.rollback()
            logger.exception("simulated text from %s failed", phone)
            flash(_("The text could not be handled. Please try again."), "error")
        return redirect(url_for("sms.simulator", phone=phone) + "#latest")
    phone = request.args.get("phone", "").strip()
    with contextlib.suppress(InvalidPhone):
        phone = to_e164(phone) if phone else ""  # also mends a "+" the URL turned into a space
    if request.method == "GET" and phone:
        form.phone.data = phone
    messages = sms_log.conversation(phone) if phone else []
    return render_template(
        "sms_admin/simulator.html",
        form=form,
        phone=phone,
        messages=messages,
        phones=sms_log.phones_to_try(),
        now=utcnow(),
        program_timezone=current_app.config["PROGRAM_TIMEZONE"],
        MessageStatus=MessageStatus,
    )


# ---------------------------------------------------------------------------------------------
# Broadcasts


@bp.route("/broadcast/shift/<int:shift_id>", methods=["GET", "POST"])
@coordinator_required
def broadcast_shift(shift_id: int):
    shift = require_shift(shift_id)
    return _broadcast(
        audience=lambda form: broadcasts.shift_audience(
            shift, include_waitlist=form.include_waitlist.data
        ),
        shift=shift,
        initiative=shift.initiative,
        shift_id=shift.id,
    )


@bp.route("/broadcast/initiative/<int:initiative_id>", methods=["GET", "POST"])
@coordinator_required
def broadcast_initiative(initiative_id: int):
    initiative = require_initiative(initiative_id)
    now = utcnow()
    return _broadcast(
        audience=lambda form: broadcasts.initiative_audience(initiative, now=now),
        shift=None,
        initiative=initiative,
        shift_id=None,
    )


def _broadcast(*, audience, shift, initiative, shift_id):
    form = BroadcastForm()

    def page(preview=None):
        return render_template(
            "sms_admin/broadcast.html",
            form=form,
            preview=preview,
            shift=shift,
            initiative=initiative,
            max_length=broadcasts.MAX_LENGTH,
        )

    if not form.validate_on_submit():
        return page()
    transaction.refusal_shows(lambda error: page())
    people = audience(form)
    previewed = form.previewed.data == broadcasts.fingerprint(form.body.data)
    if form.send.data and not previewed:
        flash(_("The text changed since the preview: please check it and send."), "info")
    if form.send.data and previewed and _is_uuid(form.broadcast_id.data):
        queued = broadcasts.send_broadcast(
            people,
            form.body.data,
            broadcast_id=form.broadcast_id.data,
            now=utcnow(),
            organization_id=initiative.organization_id,
            shift_id=shift_id,
            sender=initiative.organization.name,
        )
        flash(
            ngettext(
                "%(num)d text queued. It goes out within a minute, outside quiet hours.",
                "%(num)d texts queued. They go out within a minute, outside quiet hours.",
                queued,
            ),
            "success",
        )
        return redirect(url_for("sms.log", kind=broadcasts.TEMPLATE))
    preview = broadcasts.preview_broadcast(
        people, form.body.data, sender=initiative.organization.name
    )
    if not _is_uuid(form.broadcast_id.data):
        form.broadcast_id.data = broadcasts.new_broadcast_id()
    form.previewed.data = broadcasts.fingerprint(form.body.data)
    return page(preview)


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(hex=value or "")
    except ValueError:
        return False
    return True
