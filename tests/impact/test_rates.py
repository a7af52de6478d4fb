"""The value of a volunteer hour: which rate applies, the admin screens, and the CLI."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.factories import make_user
from volunteer_app.accounts.models import Role
from volunteer_app.core.errors import Conflict, DomainError
from volunteer_app.impact import rates
from volunteer_app.impact.models import VolunteerHourRate

TODAY = dt.date(2026, 6, 1)


def all_rates(db):
    return {(r.region, r.year): r.cents for r in db.session.scalars(sa.select(VolunteerHourRate))}


def test_a_year_without_a_rate_uses_the_latest_earlier_year(db):
    rates.load_default_rates()
    book = rates.rate_book("US")
    assert book.applied(2023).cents == 3349
    assert not book.applied(2023).is_fallback
    applied = book.applied(2026)
    assert (applied.cents, applied.rate_year, applied.is_fallback) == (3479, 2024, True)
    assert book.applied(2020) is None


def test_a_state_uses_its_own_figures_then_the_nation(db):
    rates.load_default_rates()
    rates.add_rate(year=2023, region="ca", cents=4100, source="IS", today=TODAY)
    book = rates.rate_book("CA")
    assert (book.applied(2024).region, book.applied(2024).cents) == ("CA", 4100)
    assert book.applied(2024).rate_year == 2023
    assert (book.applied(2022).region, book.applied(2022).cents) == ("US", 3180)


def test_loading_defaults_is_idempotent_and_keeps_edits(db):
    db.session.add(VolunteerHourRate(year=2024, region="US", cents=3500, source="edited"))
    db.session.flush()
    assert rates.load_default_rates() == 3
    assert rates.load_default_rates() == 0
    assert all_rates(db)[("US", 2024)] == 3500
    assert all_rates(db)[("US", 2021)] == 2995


def test_add_and_update_refuse_duplicates_and_nonsense(db):
    rate = rates.add_rate(year=2025, region="US", cents=3600, source="", today=TODAY)
    with pytest.raises(Conflict):
        rates.add_rate(year=2025, region="us", cents=3700, source="", today=TODAY)
    other = rates.add_rate(year=2024, region="US", cents=3479, source="", today=TODAY)
    with pytest.raises(Conflict):
        rates.update_rate(other, year=2025, region="US", cents=1, source="", today=TODAY)
    with pytest.raises(DomainError):
        rates.add_rate(year=2025, region="XX", cents=100, source="", today=TODAY)
    with pytest.raises(DomainError):
        rates.add_rate(year=1850, region="NY", cents=100, source="", today=TODAY)
    rates.update_rate(rate, year=2025, region="US", cents=3650, source="new", today=TODAY)
    assert all_rates(db)[("US", 2025)] == 3650


@pytest.mark.parametrize(
    ("raw", "cents"), [("34.79", 3479), ("$1,000", 100000), ("0.005", 1), (" 12 ", 1200)]
)
def test_dollars_to_cents(raw, cents):
    assert rates.dollars_to_cents(raw) == cents


@pytest.mark.parametrize("raw", ["", "abc", "0", "-3", "1000.01", "NaN"])
def test_dollars_to_cents_refuses(app, raw):
    with pytest.raises(DomainError):
        rates.dollars_to_cents(raw)


# ---------------------------------------------------------------------------------------------
# The admin screens


@pytest.fixture
def admin(db):
    user = make_user("admin@example.org", role=Role.ADMIN)
    make_user("vol@example.org")
    db.session.commit()
    return user


def test_rates_page_is_for_admins(admin, client, auth):
    assert client.get("/impact/admin/rates").status_code == 302
    auth.login("vol@example.org")
    assert client.get("/impact/admin/rates").status_code == 403
    assert client.post("/impact/admin/rates/load-defaults").status_code in (400, 403)


def test_admin_loads_defaults_adds_a_state_and_edits(admin, client, auth, db):
    auth.login("admin@example.org")
    page = client.get("/impact/admin/rates").get_data(as_text=True)
    assert "There is no national rate yet" in page
    response = auth.post("/impact/admin/rates/load-defaults", page="/impact/admin/rates")
    assert response.status_code == 302
    page = client.get("/impact/admin/rates").get_data(as_text=True)
    assert "$34.79" in page and "$29.95" in page
    assert "the US rate of 2024" in page  # this year has no figure of its own
    response = auth.post(
        "/impact/admin/rates",
        {"year": "2024", "region": "ny", "dollars": "41.20", "source": "IS state figure"},
    )
    assert response.status_code == 302
    assert all_rates(db)[("NY", 2024)] == 4120
    duplicate = auth.post(
        "/impact/admin/rates", {"year": "2024", "region": "NY", "dollars": "1", "source": ""}
    )
    assert duplicate.status_code == 200
    assert "NY already has a rate for 2024" in duplicate.get_data(as_text=True)
    bad = auth.post(
        "/impact/admin/rates", {"year": "20x4", "region": "Narnia", "dollars": "-1"}
    ).get_data(as_text=True)
    assert "two-letter state code" in bad
    assert len(all_rates(db)) == 5
    rate_id = db.session.scalar(
        sa.select(VolunteerHourRate.id).where(VolunteerHourRate.region == "NY")
    )
    edit_url = f"/impact/admin/rates/{rate_id}/edit"
    assert 'value="41.2' in client.get(edit_url).get_data(as_text=True)
    response = auth.post(
        edit_url, {"year": "2024", "region": "NY", "dollars": "42.00", "source": "fixed"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert all_rates(db)[("NY", 2024)] == 4200
    assert client.get("/impact/admin/rates/99999/edit").status_code == 404


def test_cli_loads_the_default_rates(app, runner, db):
    result = runner.invoke(args=["impact", "load-rates"])
    assert result.exit_code == 0, result.output
    assert "Added 4" in result.output
    assert all_rates(db) == {("US", y): c for y, c in rates.DEFAULT_RATES_CENTS.items()}
    again = runner.invoke(args=["impact", "load-rates"])
    assert "already there" in again.output
