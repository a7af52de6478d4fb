"""Forms of the SMS pages: the simulator, broadcasts and the log's filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)

# New in WTForms 3.3, which the stubs (types-wtforms 3.2) do not know yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from volunteer_app.core.bounds import DateField, DateTimeLocalField
from volunteer_app.core.phone import InvalidPhone, to_e164
from volunteer_app.sms.broadcast import MAX_LENGTH
from volunteer_app.sms.models import Direction, MessageStatus


class SimulatorForm(FlaskForm):
    phone = StringField(
        _l("Phone number"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"type": "tel", "list": "sim-phones"},
    )
    body = TextAreaField(
        _l("Text message"), validators=[DataRequired(), Length(max=1600)], render_kw={"rows": 2}
    )
    # The demo rarely has a shift under way: like `flask sms tick --now`, an admin can say when
    # the text is sent, in the program's timezone, to try IN and OUT during a shift.
    sent_at = DateTimeLocalField(_l("Act as if it is (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Send text"))

    def validate_phone(self, field):
        try:
            field.data = to_e164(field.data)
        except InvalidPhone as exc:
            raise ValidationError(_l("Please give a valid phone number.")) from exc


class BroadcastForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MAX_LENGTH)],
        render_kw={"rows": 4, "maxlength": MAX_LENGTH},
    )
    include_waitlist = BooleanField(_l("Also text the people on the waitlist"))
    broadcast_id = HiddenField()
    previewed = HiddenField()  # fingerprint of the text the preview showed
    preview = SubmitField(_l("Preview"))
    send = SubmitField(_l("Send"))

    def validate_body(self, field):
        field.data = " ".join((field.data or "").split())
        if not field.data:
            raise ValidationError(_l("Please write the message."))


def _status_choices():
    return [SelectChoice("", _l("Any"))] + [SelectChoice(s.value, s.value) for s in MessageStatus]


def _direction_choices():
    return [
        SelectChoice("", _l("Both")),
        SelectChoice(Direction.INBOUND.value, _l("In")),
        SelectChoice(Direction.OUTBOUND.value, _l("Out")),
    ]


class LogFilterForm(FlaskForm):
    """GET filters: no CSRF (nothing changes), unknown values simply fail validation."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=_status_choices, validators=[Optional()])
    direction = SelectField(_l("Direction"), choices=_direction_choices, validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=[SelectChoice("", _l("Any"))], validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    phone = StringField(_l("Phone contains"), validators=[Optional(), Length(max=20)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100000)])
