"""Building the demo city: every row the demo needs, in one transaction, from a fixed seed.

The same random seed always gives the same city; only its dates move with `now`, so shifts
ahead are always ahead. Rows are written directly (not through the services) for speed, but
under the services' rules: `shifts.spots_taken` equals the spot-holding signups of every
shift, waitlists run 1..n, nobody holds two overlapping shifts, nobody under an initiative's
minimum age is on it, and attended signups carry their approved hours.

Nothing is written with an instant after `now`, whatever the hour: an instant derived forward
from an event (a record made hours after a shift, a report filed days after a month) goes
through `City.past`, and every row gets its instants from `now`, never from the models'
wall-clock defaults (tests/test_seed.py seeds at the hours that used to trip this).

One module per phase, run in this order (they share one seeded generator, see `city`):
`people` (reference data, organizations and staff, volunteers), `initiatives` (initiatives
and their shifts), `signups` (signups, waitlists, attendance), `hours`, `outcomes` (outcome
records, goal targets, the value of an hour) and `messages`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from volunteer_app.accounts.models import Organization, User
from volunteer_app.extensions import db
from volunteer_app.hours.models import HoursEntry
from volunteer_app.impact.models import OutcomeRecord
from volunteer_app.initiatives.models import Initiative
from volunteer_app.seed.demo import hours, initiatives, messages, outcomes, people, signups
from volunteer_app.seed.demo.city import City
from volunteer_app.shifts.models import Shift, Signup


@dataclass
class Summary:
    counts: dict[str, int]


def build_demo_city(now: dt.datetime) -> Summary:
    """Write the whole demo city. Flushes, never commits: the CLI commits once."""
    city = City(now)
    people.add_reference_data(city)
    people.add_organizations_and_staff(city)
    people.add_volunteers(city)
    db.session.flush()
    initiatives.add_initiatives(city)
    initiatives.add_shifts(city)
    db.session.flush()
    signups.add_signups(city)
    db.session.flush()
    hours.add_hours(city)
    outcomes.add_outcomes(city)
    messages.add_messages(city)
    outcomes.add_hour_rates(city)
    db.session.flush()
    return Summary(counts=_counts())


def _counts() -> dict[str, int]:
    def count(model) -> int:
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    return {
        "organizations": count(Organization),
        "people": count(User),
        "initiatives": count(Initiative),
        "shifts": count(Shift),
        "signups": count(Signup),
        "hours entries": count(HoursEntry),
        "outcome records": count(OutcomeRecord),
    }
