"""Recording outcome measures against an initiative's goals."""

from __future__ import annotations

import datetime as dt
import decimal

from flask_babel import gettext as _

from volunteer_app.accounts.models import User
from volunteer_app.core.errors import DomainError
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.impact.models import OutcomeRecord, OutcomeSource
from volunteer_app.initiatives.models import OutcomeMetric
from volunteer_app.shifts.models import Shift

MAX_VALUE = decimal.Decimal("999999999999")


def parse_value(raw: str | float | int | decimal.Decimal) -> decimal.Decimal:
    try:
        value = decimal.Decimal(str(raw).replace(",", "").strip())
    except decimal.InvalidOperation as exc:
        raise DomainError(_("Please give a number.")) from exc
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        raise DomainError(_("Please give a positive number."))
    return value.quantize(decimal.Decimal("0.01"))


def record_outcome(
    metric: OutcomeMetric,
    value: str | float | int | decimal.Decimal,
    *,
    now: dt.datetime,
    source: OutcomeSource,
    by: User | None = None,
    shift: Shift | None = None,
    period_start_on: dt.date | None = None,
    period_end_on: dt.date | None = None,
    note: str = "",
) -> OutcomeRecord:
    """Record a measured value for a metric, from a shift or for a reporting period."""
    if shift is not None and shift.initiative_id != metric.initiative_id:
        raise DomainError(_("That measure belongs to another initiative."))
    if shift is not None and period_start_on is None:
        period_start_on = local(shift.starts_at, metric.initiative.timezone).date()
    if period_start_on is None:
        raise DomainError(_("Please give the date the outcome was measured."))
    if period_end_on is not None and period_end_on < period_start_on:
        raise DomainError(_("The period must end on or after its start."))
    record = OutcomeRecord(
        metric_id=metric.id,
        shift_id=shift.id if shift else None,
        value=parse_value(value),
        period_start_on=period_start_on,
        period_end_on=period_end_on,
        source=source,
        note=note[:500],
        recorded_by_id=by.id if by else None,
        recorded_at=now,
    )
    db.session.add(record)
    db.session.flush()
    return record


def void_outcome(record: OutcomeRecord, *, by: User, reason: str, now: dt.datetime) -> None:
    """Withdraw a record without deleting it; who and why are kept."""
    if record.voided_at is not None:
        return
    if not reason.strip():
        raise DomainError(_("Please say why this value is withdrawn."))
    record.voided_at = now
    record.voided_by_id = by.id
    record.void_reason = reason[:500]
    db.session.flush()
