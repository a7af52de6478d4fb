"""Demo phase 1: reference data, the departments and partners with their staff, volunteers."""

from __future__ import annotations

import datetime as dt
import unicodedata

from volunteer_app.accounts.models import (
    Effort,
    Membership,
    Organization,
    Role,
    User,
    availability_bit,
)
from volunteer_app.core.time import local
from volunteer_app.extensions import db
from volunteer_app.reference.models import Cause, Language, Neighborhood, Skill
from volunteer_app.seed import reference as ref
from volunteer_app.seed.demo.city import City, Person

VOLUNTEER_COUNT = 60
# Three people only ever text: no email, no password, maybe no name (41).
TEXT_ONLY = (7, 23, 41)


def add_reference_data(city: City) -> None:
    city.causes = {slug: Cause(slug=slug, name=name) for slug, name in ref.CAUSES}
    city.skills = {slug: Skill(slug=slug, name=name) for slug, name in ref.SKILLS}
    city.languages = {code: Language(code=code, name=name) for code, name in ref.LANGUAGES}
    city.neighborhoods = {
        n.slug: Neighborhood(
            slug=n.slug,
            name=n.name,
            zip_codes=n.zip_codes,
            centroid_lat=n.lat,
            centroid_lon=n.lon,
            is_priority=n.is_priority,
        )
        for n in ref.NEIGHBORHOODS
    }
    for table in (city.causes, city.skills, city.languages, city.neighborhoods):
        db.session.add_all(table.values())


def add_organizations_and_staff(city: City) -> None:
    joined_at = city.now - dt.timedelta(days=240)
    city.admin = User(
        email=ref.ADMIN_EMAIL,
        name=ref.ADMIN_NAME,
        role=Role.ADMIN,
        password_hash=city.password_hash,
        created_at=joined_at,
        onboarded_at=joined_at,
    )
    db.session.add(city.admin)
    for data in ref.ORGANIZATIONS:
        organization = Organization(
            slug=data.slug,
            name=data.name,
            kind=data.kind,
            website=data.website,
            created_at=joined_at,
        )
        coordinator = User(
            email=data.coordinator_email,
            name=data.coordinator_name,
            role=Role.COORDINATOR,
            password_hash=city.password_hash,
            created_at=joined_at,
            onboarded_at=joined_at,
        )
        organization.memberships.append(Membership(user=coordinator, created_at=joined_at))
        db.session.add_all([organization, coordinator])
        city.organizations[data.slug] = organization
        city.coordinators[data.slug] = coordinator


def add_volunteers(city: City) -> None:
    rng = city.rng
    today = local(city.now, ref.DEMO_TIMEZONE).date()
    home_languages = ["en"] * 38 + ["es"] * 14 + ["zh"] * 3 + ["vi"] * 3 + ["ht"] * 2
    rng.shuffle(home_languages)
    used_names: set[str] = set()
    phone_numbers = iter(range(101, 200))

    for index in range(VOLUNTEER_COUNT):
        home, name, email = _name_and_email(city, index, home_languages[index], used_names)
        used_names.add(name)
        text_only = index in TEXT_ONLY
        joined_at = city.now - dt.timedelta(
            days=rng.uniform(14, 35) if index % 9 == 5 else rng.uniform(125, 220)
        )
        user = User(
            email=None if text_only else email,
            name="" if index == 41 else name,
            password_hash=None if text_only else city.password_hash,
            role=Role.VOLUNTEER,
            created_at=joined_at,
            preferred_language="es" if home == "es" else "en",
        )
        hood, causes, skills, speaks = _interests(city, index, home)
        person = Person(
            user=user,
            home_language=home,
            cause_slugs=frozenset(causes),
            skill_slugs=frozenset(skills),
            language_codes=frozenset(speaks),
            neighborhood_slug=None if text_only else hood,
            keenness=2.0 if index < 2 else 1.0,
        )
        if not text_only:
            _complete_profile(city, person, index, today)
        if text_only or index == 1 or rng.random() < 0.62:
            user.phone = f"+1202555{next(phone_numbers):04d}"
            _record_consent(city, user, index, text_only)
        db.session.add(user)
        city.people.append(person)


def _name_and_email(
    city: City, index: int, home: str, used_names: set[str]
) -> tuple[str, str, str]:
    """(home language, name, email) of volunteer `index`: the two demo logins are fixed."""
    if index == 0:  # the English-speaking demo login
        return "en", "Jordan Lee", ref.VOLUNTEER_EMAIL
    if index == 1:  # the Spanish-speaking demo login
        return "es", "María González", ref.SPANISH_VOLUNTEER_EMAIL
    firsts, lasts = ref.NAME_POOLS[home]
    while True:
        name = f"{city.rng.choice(firsts)} {city.rng.choice(lasts)}"
        if name not in used_names:
            return home, name, _email_for(name, index)


def _interests(city: City, index: int, home: str) -> tuple[str, set[str], set[str], set[str]]:
    """(neighborhood, causes, skills, languages spoken) of volunteer `index`."""
    rng = city.rng
    speaks = {home}
    if home != "en" and rng.random() < 0.7:
        speaks.add("en")
    if home == "en" and rng.random() < 0.15:
        speaks.add("es")
    # Priority neighborhoods are where the program recruits hardest.
    neighborhood_weights = [3 if n.is_priority else 1 for n in ref.NEIGHBORHOODS]
    hood = rng.choices([n.slug for n in ref.NEIGHBORHOODS], neighborhood_weights)[0]
    causes = set(rng.sample([slug for slug, _ in ref.CAUSES], rng.randint(1, 3)))
    skills = set(rng.sample([slug for slug, _ in ref.SKILLS], rng.randint(0, 3)))
    if "es" in speaks and rng.random() < 0.6:
        skills.add("spanish-outreach")
    if index == 0:
        causes = {"neighborhood-revitalization", "environment"}
        skills = {"gardening", "heavy-lifting"}
        hood = "anacostia"
    elif index == 1:
        causes = {"education", "food-security"}
        skills = {"tutoring", "spanish-outreach"}
        hood = "columbia-heights"
        speaks = {"es", "en"}
    return hood, causes, skills, speaks


def _complete_profile(city: City, person: Person, index: int, today: dt.date) -> None:
    """What onboarding asks of everyone who signs up on the web."""
    rng, user = city.rng, person.user
    assert person.neighborhood_slug is not None  # only the text-only people have none
    hood = city.neighborhoods[person.neighborhood_slug]
    user.onboarded_at = user.created_at + dt.timedelta(minutes=rng.randint(3, 40))
    user.neighborhood = hood
    user.zip_code = hood.zip_codes.split()[0]
    user.availability_mask = _availability(city, index)
    user.travel_miles = float(rng.choice((1, 2, 3, 5, 5, 10)))
    user.effort_preference = rng.choice((None, Effort.LIGHT, Effort.MODERATE, Effort.HEAVY))
    user.causes = [city.causes[s] for s in sorted(person.cause_slugs)]
    user.skills = [city.skills[s] for s in sorted(person.skill_slugs)]
    user.languages = [city.languages[c] for c in sorted(person.language_codes)]
    user.birth_date = _birth_date(city, index, today)


def _availability(city: City, index: int) -> int:
    rng = city.rng
    slots = {(5, 0), (6, 0)} if index == 0 else set()
    if index == 1:
        slots = {(1, 1), (3, 1), (2, 1), (2, 2), (5, 0)}
    patterns = (
        [(5, 0), (5, 1), (6, 0)],  # weekend mornings
        [(0, 2), (1, 2), (2, 2), (3, 2)],  # weekday evenings
        [(1, 1), (3, 1), (0, 1)],  # weekday afternoons (retirees, students)
    )
    for pattern in rng.sample(patterns, rng.randint(1, 2)):
        slots.update(rng.sample(pattern, rng.randint(1, len(pattern))))
    mask = 0
    for weekday, part in slots:
        mask |= availability_bit(weekday, part)
    return mask


def _birth_date(city: City, index: int, today: dt.date) -> dt.date | None:
    rng = city.rng
    if index in (12, 31):  # two teenagers, 16 and 17
        age = 16 if index == 12 else 17
        return today - dt.timedelta(days=round(age * 365.25) + rng.randint(30, 300))
    if index % 11 == 10:  # some people never give a birth date
        return None
    age_days = rng.randint(19 * 365, 76 * 365)
    return today - dt.timedelta(days=age_days)


def _record_consent(city: City, user: User, index: int, text_only: bool) -> None:
    rng = city.rng
    if not text_only and index % 10 == 9:
        return  # a phone on file but no consent: nobody may text them
    user.sms_consent_at = user.created_at + dt.timedelta(minutes=rng.randint(1, 20))
    user.sms_consent_version = city.consent_version
    user.sms_consent_source = "sms" if text_only else rng.choice(("web", "web", "paper"))
    if index == 17:  # texted STOP a month ago
        user.sms_opted_out_at = city.now - dt.timedelta(days=31)


def _email_for(name: str, index: int) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    first, last = ascii_name.lower().split(" ", 1)
    return f"{first}.{last.replace(' ', '')}{index}@example.org"
