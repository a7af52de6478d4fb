"""The value of a volunteer hour: dated, editable rates by year and region, and which rate
applies to service in a given year.

A rate belongs to the year the service happened (`hours_entries.served_on`), for the nation
("US") or a state ("CA"). A year without a figure of its own uses the latest earlier year of
the same region; a state with no figure at all uses the national one. The pages say when a
fallback was used, so nobody mistakes last year's figure for this year's.

Services flush and never commit; the request (or the CLI) commits once.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from volunteer_app.core.errors import Conflict, DomainError, NotFound
from volunteer_app.extensions import db
from volunteer_app.impact.models import VolunteerHourRate

NATIONAL = "US"
DEFAULT_SOURCE = "Independent Sector"
# Independent Sector's national value of a volunteer hour, by the year of service.
DEFAULT_RATES_CENTS = {2024: 3479, 2023: 3349, 2022: 3180, 2021: 2995}
# The nation and the states (with DC and Puerto Rico), which Independent Sector also prices.
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY"
)
REGIONS = ("US", *_STATE_CODES.split())
EARLIEST_YEAR = 1990
MAX_CENTS = 100_000  # $1,000 an hour: anything above is a typing mistake


def default_region() -> str:
    """The region dashboards use unless a visitor picks another: the IMPACT_RATE_REGION
    setting (a state code), else the national figure."""
    region = str(current_app.config.get("IMPACT_RATE_REGION") or NATIONAL).upper()
    return region if region in REGIONS else NATIONAL


# ---------------------------------------------------------------------------------------------
# Which rate applies


@dataclass(frozen=True)
class AppliedRate:
    """The rate used for service in `year`, and where it came from."""

    year: int  # the year of service
    cents: int
    rate_year: int  # the year whose figure was used
    region: str  # the region whose figure was used

    @property
    def dollars(self) -> decimal.Decimal:
        return decimal.Decimal(self.cents) / 100

    @property
    def is_fallback(self) -> bool:
        return self.rate_year != self.year


@dataclass(frozen=True)
class RateBook:
    """Every rate of the regions that matter, loaded once; answers "which rate for year Y"."""

    region: str
    rates: dict[tuple[str, int], int]  # (region, year) -> cents

    def applied(self, year: int) -> AppliedRate | None:
        """The rate for service in `year`: the region's figure for that year or its latest
        earlier one, else the same from the national figures; None when there is none."""
        for region in dict.fromkeys((self.region, NATIONAL)):
            years = [y for (r, y) in self.rates if r == region and y <= year]
            if years:
                best = max(years)
                return AppliedRate(year, self.rates[(region, best)], best, region)
        return None

    @property
    def is_empty(self) -> bool:
        return not self.rates


def rate_book(region: str | None = None) -> RateBook:
    """The rates of `region` (default: `default_region()`) and the national ones, in one
    query."""
    region = (region or default_region()).upper()
    rows = db.session.execute(
        sa.select(VolunteerHourRate.region, VolunteerHourRate.year, VolunteerHourRate.cents).where(
            VolunteerHourRate.region.in_({region, NATIONAL})
        )
    )
    return RateBook(region, {(r, y): c for r, y, c in rows})


# ---------------------------------------------------------------------------------------------
# Listing and editing


def list_rates() -> list[VolunteerHourRate]:
    """Every rate, the nation first, then states, newest year first."""
    return list(
        db.session.scalars(
            sa.select(VolunteerHourRate).order_by(
                (VolunteerHourRate.region != NATIONAL),
                VolunteerHourRate.region,
                VolunteerHourRate.year.desc(),
            )
        )
    )


def rate_regions() -> list[str]:
    """Regions that have at least one rate, the nation first."""
    regions = set(db.session.scalars(sa.select(VolunteerHourRate.region).distinct()))
    regions.add(NATIONAL)
    return [NATIONAL, *sorted(regions - {NATIONAL})]


def get_rate(rate_id: int) -> VolunteerHourRate:
    rate = db.session.get(VolunteerHourRate, rate_id)
    if rate is None:
        raise NotFound(_("We could not find that rate."))
    return rate


def dollars_to_cents(dollars: decimal.Decimal | str | float) -> int:
    try:
        amount = decimal.Decimal(str(dollars).replace("$", "").replace(",", "").strip())
    except decimal.InvalidOperation as exc:
        raise DomainError(_("Please give the value of an hour in dollars, e.g. 34.79.")) from exc
    if not amount.is_finite():
        raise DomainError(_("Please give the value of an hour in dollars, e.g. 34.79."))
    cents = int((amount * 100).to_integral_value(rounding=decimal.ROUND_HALF_UP))
    if not 0 < cents <= MAX_CENTS:
        raise DomainError(_("The value of an hour must be between $0.01 and $1,000."))
    return cents


def _check(year: int, region: str, today: dt.date) -> str:
    region = (region or "").strip().upper()
    if region not in REGIONS:
        raise DomainError(_('Region must be "US" or a two-letter state code such as "CA".'))
    if not EARLIEST_YEAR <= year <= today.year + 1:
        raise DomainError(
            _(
                "The year must be between %(first)d and %(last)d.",
                first=EARLIEST_YEAR,
                last=today.year + 1,
            )
        )
    return region


def add_rate(
    *, year: int, region: str, cents: int, source: str, today: dt.date
) -> VolunteerHourRate:
    """Add the value of an hour for a year and region; Conflict if that pair has one."""
    region = _check(year, region, today)
    exists = db.session.scalar(
        sa.select(VolunteerHourRate.id).where(
            VolunteerHourRate.year == year, VolunteerHourRate.region == region
        )
    )
    if exists is not None:
        raise Conflict(
            _(
                "%(region)s already has a rate for %(year)d; edit that one instead.",
                region=region,
                year=year,
            )
        )
    rate = VolunteerHourRate(year=year, region=region, cents=cents, source=source.strip()[:200])
    db.session.add(rate)
    db.session.flush()
    return rate


def update_rate(
    rate: VolunteerHourRate, *, year: int, region: str, cents: int, source: str, today: dt.date
) -> VolunteerHourRate:
    """Change a rate; Conflict if it would then duplicate another year and region."""
    region = _check(year, region, today)
    clash = db.session.scalar(
        sa.select(VolunteerHourRate.id).where(
            VolunteerHourRate.year == year,
            VolunteerHourRate.region == region,
            VolunteerHourRate.id != rate.id,
        )
    )
    if clash is not None:
        raise Conflict(
            _(
                "%(region)s already has a rate for %(year)d; edit that one instead.",
                region=region,
                year=year,
            )
        )
    rate.year, rate.region, rate.cents, rate.source = year, region, cents, source.strip()[:200]
    db.session.flush()
    return rate


def load_default_rates() -> int:
    """Add Independent Sector's national figures for the years that have no national rate;
    never changes a rate someone set. Returns how many were added."""
    have = set(
        db.session.scalars(
            sa.select(VolunteerHourRate.year).where(VolunteerHourRate.region == NATIONAL)
        )
    )
    added = 0
    for year, cents in DEFAULT_RATES_CENTS.items():
        if year not in have:
            db.session.add(
                VolunteerHourRate(year=year, region=NATIONAL, cents=cents, source=DEFAULT_SOURCE)
            )
            added += 1
    db.session.flush()
    return added
