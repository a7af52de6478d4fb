"""Time at the edges: converting UTC instants to an initiative's local time and back.

Inside the system every instant is an aware UTC datetime; only templates, SMS texts and forms
see local time, always in the timezone of the initiative concerned.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import format_date, format_datetime, format_time

from volunteer_app.core.db import utcnow

__all__ = ["utcnow", "local", "from_local", "is_valid_timezone", "format_local"]


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# The areas of the IANA database whose zones are places. Outside them are aliases and
# oddities an initiative must not run on: "localtime" (whatever the server is set to),
# "Factory" (a placeholder), "posixrules", Etc/GMT+5 (which is UTC-5), US/Eastern.
PLACE_AREAS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)


@functools.cache
def place_timezones() -> frozenset[str]:
    """Every zone an initiative may run on: the places of the IANA database, and UTC."""
    names = {name for name in available_timezones() if name.partition("/")[0] in PLACE_AREAS}
    return frozenset(names | {"UTC"})


def is_valid_timezone(name: str) -> bool:
    return name in place_timezones()


def local(instant: dt.datetime, tz: str) -> dt.datetime:
    return instant.astimezone(ZoneInfo(tz))


def from_local(
    naive: dt.datetime, tz: str, *, not_before: dt.datetime | None = None
) -> dt.datetime:
    """A wall-clock time in `tz` as an aware UTC instant.

    In the repeated hour when clocks fall back, the earlier instant is taken (fold=0), unless
    it is before `not_before` and the later one is not: 01:30 typed during the second
    1 o'clock hour means the 01:30 still to come. A time that does not exist when clocks spring
    forward is moved forward by the gap, as a person setting a watch would.
    """
    zone_info = ZoneInfo(tz)
    aware = naive.replace(tzinfo=zone_info, fold=0)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone_info)
    if round_trip.replace(tzinfo=None) != naive:  # the spring-forward gap
        return naive.replace(tzinfo=zone_info, fold=1).astimezone(dt.UTC)
    instant = aware.astimezone(dt.UTC)
    if not_before is not None and instant < not_before:
        later = naive.replace(tzinfo=zone_info, fold=1).astimezone(dt.UTC)
        if later >= not_before:
            return later
    return instant


def format_local(instant: dt.datetime, tz: str, fmt: str = "medium") -> str:
    return format_datetime(local(instant, tz), fmt, rebase=False)


def format_local_date(instant: dt.datetime, tz: str, fmt: str = "full") -> str:
    """The local *date* ("Saturday, July 5, 2031"). A date, not a datetime, goes to Babel:
    given a datetime it would rebase it to UTC, and a Saturday evening would read Sunday."""
    return format_date(local(instant, tz).date(), fmt)


def format_local_time(instant: dt.datetime, tz: str, fmt: str = "short") -> str:
    return format_time(local(instant, tz), fmt, rebase=False)
