"""Quiet hours: when a text may reach a person, in their local time.

The program setting names the hour quiet starts and the hour it ends (21 and 8: no texts from
21:00 to 08:00). The window may wrap midnight; equal hours mean no quiet hours at all. Wall
clock arithmetic goes through `from_local`, so a daylight-saving change moves nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from volunteer_app.core.time import from_local, local
from volunteer_app.reference.settings import get_setting

# A reminder moved before quiet hours goes this long before they start, so a worker that is a
# little late still finds the window open.
LAST_CHANCE_MARGIN = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class QuietHours:
    start_hour: int  # quiet from this local hour...
    end_hour: int  # ...until this one

    @classmethod
    def from_settings(cls) -> QuietHours:
        return cls(int(get_setting("quiet_hours_start")), int(get_setting("quiet_hours_end")))

    def _quiet_began_on(self, moment: dt.datetime) -> dt.date | None:
        """The local date whose `start_hour` opened the quiet period around `moment`, if any."""
        start, end = self.start_hour, self.end_hour
        if start == end:
            return None
        hour = moment.hour
        if start > end:  # wraps midnight, e.g. 21 -> 8
            if hour >= start:
                return moment.date()
            if hour < end:
                return moment.date() - dt.timedelta(days=1)
            return None
        return moment.date() if start <= hour < end else None

    def is_quiet(self, instant: dt.datetime, tz: str) -> bool:
        return self._quiet_began_on(local(instant, tz)) is not None

    def next_allowed(self, instant: dt.datetime, tz: str) -> dt.datetime:
        """`instant` itself if texts may go then, else the instant quiet hours end."""
        began = self._quiet_began_on(local(instant, tz))
        if began is None:
            return instant
        ends_on = began + dt.timedelta(days=1) if self.start_hour > self.end_hour else began
        return from_local(dt.datetime.combine(ends_on, dt.time(self.end_hour)), tz)

    def last_allowed_before(self, deadline: dt.datetime, tz: str) -> dt.datetime:
        """The latest instant, a safety margin before `deadline`, at which texts may go."""
        candidate = deadline - LAST_CHANCE_MARGIN
        began = self._quiet_began_on(local(candidate, tz))
        if began is None:
            return candidate
        quiet_from = from_local(dt.datetime.combine(began, dt.time(self.start_hour)), tz)
        return quiet_from - LAST_CHANCE_MARGIN

    def send_time(
        self, due: dt.datetime, tz: str, *, deadline: dt.datetime | None = None
    ) -> dt.datetime:
        """When a text due at `due` should go: then, or when quiet hours end, or, if that is
        too late for `deadline`, at the last allowed moment before it (maybe before `due`)."""
        allowed = self.next_allowed(due, tz)
        if deadline is None or allowed < deadline:
            return allowed
        return self.last_allowed_before(deadline, tz)
