"""Program-wide settings with defaults; admins change them, services read them here."""

from __future__ import annotations

from typing import Any

from volunteer_app.extensions import db
from volunteer_app.reference.models import ProgramSetting

DEFAULTS: dict[str, Any] = {
    # Hours from attendance are rounded to the nearest this many minutes.
    "hours_rounding_minutes": 15,
    # Texts go out only between these local hours of the recipient (24 h clock).
    "quiet_hours_start": 21,
    "quiet_hours_end": 8,
    # Check-in opens this many minutes before a shift starts.
    "check_in_opens_minutes": 30,
    # Matching: invitations one person may receive per week; boost for priority areas.
    "max_invitations_per_week": 2,
    "priority_neighborhood_boost": False,
}


def get_setting(key: str) -> Any:
    row = db.session.get(ProgramSetting, key)
    return row.value if row is not None else DEFAULTS[key]


def set_setting(key: str, value: Any) -> None:
    if key not in DEFAULTS:
        raise KeyError(key)
    row = db.session.get(ProgramSetting, key)
    if row is None:
        db.session.add(ProgramSetting(key=key, value=value))
    else:
        row.value = value
    db.session.flush()
